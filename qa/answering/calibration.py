"""Fit what answers are scored with: the confidence model and the sentence ranker (`qa.answering.ranking`).

The confidence model is P(the documents answer the question) from the extraction features.

Labelled data comes from a SQuAD-format set: each question asked against the
whole corpus gives features labelled 1 (its article answers it). Asked again
with its gold paragraph left out (hard: the rest of the article is on the same
topic) and with its whole article left out (easy), it gives features labelled
0: the documents no longer answer it. The two negative kinds weigh half each.
A logistic regression (L2, fitted by Newton's method) maps features to a
probability; `found` is that probability reaching the threshold.

The ranker is fitted on every question's 8 candidate sentences, each read by the
span reader, labelled by whether it holds a gold answer (`collect_candidates`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from qa.answering import ranking
from qa.answering.confidence import FEATURES
from qa.answering.conversation import Reading
from qa.answering.extraction import candidates, scored_candidates
from qa.answering.fitted import calibration_path, default_reader, ranker_path
from qa.answering.ranking import CandidateSet, Ranker


def fit_logistic(
    x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None, l2: float = 1.0, steps: int = 50
) -> tuple[np.ndarray, float]:
    """Weights and bias of an L2-regularized, sample-weighted logistic regression."""
    weight = np.ones(len(y)) if weight is None else weight
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    reg = np.eye(xb.shape[1]) * l2
    reg[-1, -1] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        grad = xb.T @ (weight * (p - y)) + reg @ w
        hess = (xb * (weight * p * (1 - p))[:, None]).T @ xb + reg
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def collect(bot, questions: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels and weights: each question with its article, without its paragraph, without its article."""
    xs, ys, ws = [], [], []
    for item in questions:
        source, (lo, hi) = item["source"], item["paragraph"]
        runs = (
            (None, 1.0, 1.0),
            (lambda c, s=source, lo=lo, hi=hi: c.source == s and c.start < hi and c.end > lo, 0.0, 0.5),
            (lambda c, s=source: c.source == s, 0.0, 0.5),
        )
        for exclude, label, weight in runs:
            got = bot.choose(item["question"], exclude=exclude).extract
            if got is not None:
                xs.append(got.features.vector())
                ys.append(label)
                ws.append(weight)
    return np.array(xs, dtype=np.float64), np.array(ys), np.array(ws)


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve: the chance a positive outranks a negative, ties counting half."""
    scores, pos = np.asarray(scores, dtype=float), np.asarray(labels) == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return 0.5
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores))
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def fit_and_save(bot, train: list[dict], test: list[dict], source: str, path: Path | None = None) -> dict:
    """Fit on `train`, check on `test`, write the model (by default where `bot`'s reader setting reads it)."""
    reading = bot.settings.read_sentences
    path = path or calibration_path(bot.embedder.name, reader=reading > 0)
    x, y, weight = collect(bot, train)
    w, b = fit_logistic(x, y, weight)
    xt, yt, _ = collect(bot, test)
    pt = 1 / (1 + np.exp(-(xt @ w + b)))
    report = {
        "model": bot.embedder.name,
        "read_sentences": reading,
        "features": list(FEATURES),
        "weights": [round(float(v), 5) for v in w],
        "bias": round(b, 5),
        "fitted_on": f"{source}: {len(train)} questions of the even-numbered articles, each with its article, "
        "without its paragraph and without its article",
        "fitted_at": time.strftime("%Y-%m-%d"),
        "held_out": {
            "questions": len(test),
            "auc": round(auc(pt, yt), 4),
            "accuracy_at_0.5": round(float(((pt >= 0.5) == (yt == 1)).mean()), 4),
            "positives": int(yt.sum()),
            "examples": len(yt),
        },
    }
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def collect_candidates(bot, questions: list[dict], contains) -> list[CandidateSet]:
    """Per question: its candidate sentences' features before reading, the reader's score of each, and
    whether each holds a gold answer (`contains(text, gold)`). Every candidate is read, so that any order
    of reading can be replayed."""
    reader = bot.reader or default_reader()
    rules = Ranker.rules()
    out = []
    for item in questions:
        reading = Reading.as_asked(item["question"])
        qvec = bot.embedder.encode_queries([reading.query])[0]
        found = bot.retriever.retrieve(reading.query, qvec, bot.settings.candidates, bot.settings.retriever)
        scored = scored_candidates(reading, candidates(reading.query, found), found.texts, rules)
        if not scored:
            continue
        texts = [found.texts[s.candidate.hit.chunk.source][s.candidate.start : s.candidate.end] for s in scored]
        x = np.array([s.features.vector() for s in scored], dtype=np.float64)
        reads = np.array([reader.read(reading.focus, [t])[0].score for t in texts])
        y = np.array([float(any(contains(t, g) for g in item["answers"])) for t in texts])
        out.append(CandidateSet(x, reads, y))
    return out


def fit_ranker_and_save(bot, train: list[dict], test: list[dict], source: str, contains, path: Path | None = None):
    """Fit the sentence ranker for `bot`'s embedder on `train`, check it on `test`, write it; return the report."""
    report = ranking.fit(
        collect_candidates(bot, train, contains),
        collect_candidates(bot, test, contains),
        n_read=max(2, bot.settings.read_sentences),
    )
    report = {
        "model": bot.embedder.name,
        **report,
        "fitted_on": f"{source}: {len(train)} questions of the even-numbered articles, their 8 candidate "
        "sentences each; a sentence holding a gold answer is the one to put first",
    }
    path = path or ranker_path(bot.embedder.name)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report
