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

Documentation is fitted on too (`Group`s of questions over other indexes, each
with its weight): questions generated from the documents' structure
(`qa.answering.doc_questions`) and written ones. A question without a gold
paragraph is asked again without the chunks holding a gold answer (hard) and
without its document (easy); one without answers is a negative as it is.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.answering import ranking
from qa.answering.confidence import FEATURES
from qa.answering.conversation import Reading
from qa.answering.extraction import candidates, scored_candidates
from qa.answering.fitted import calibration_path, default_reader, ranker_path
from qa.answering.ranking import CandidateSet, Ranker
from qa.answering.technical import IDENT, ask


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


@dataclass(frozen=True)
class Group:
    """Questions over one index, fitted on with `weight` each: `bot` answers them; `name` says where from."""

    name: str
    bot: object
    questions: list
    weight: float = 1.0


def _holds_gold(item: dict, contains: Callable[[str, str], bool] | None):
    """A chunk that holds one of the question's gold answers, in its text or in its context (a term, a header)."""
    golds = item.get("answers") or []
    source = item.get("source")

    def holds(c) -> bool:
        if c.source != source or contains is None:
            return False
        return any(contains(c.text, g) or (c.context and contains(c.context, g)) for g in golds)

    return holds


def _runs(item: dict, contains) -> tuple:
    """(exclude, label, weight) of each way a question is asked (see the module's docstring)."""
    source = item.get("source")
    if not source:
        return ((None, 0.0, 1.0),)  # the documents don't answer it
    if "paragraph" in item:
        lo, hi = item["paragraph"]
        hard = lambda c, s=source, lo=lo, hi=hi: c.source == s and c.start < hi and c.end > lo  # noqa: E731
    else:
        hard = _holds_gold(item, contains)
    return ((None, 1.0, 1.0), (hard, 0.0, 0.5), (lambda c, s=source: c.source == s, 0.0, 0.5))


def collect(bot, questions: list[dict], contains=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels and weights: each question with its article, without its paragraph, without its article.

    A question without a "paragraph" loses, instead, the chunks of its source that hold a gold answer
    (`contains(text, gold)`); one without a "source" is asked once, as not answered.
    """
    xs, ys, ws = [], [], []
    for item in questions:
        for exclude, label, weight in _runs(item, contains):
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


def _held_out(w: np.ndarray, b: float, x: np.ndarray, y: np.ndarray, questions: int) -> dict:
    p = 1 / (1 + np.exp(-(x @ w + b))) if len(x) else np.zeros(0)
    return {
        "questions": questions,
        "auc": round(auc(p, y), 4),
        "accuracy_at_0.5": round(float(((p >= 0.5) == (y == 1)).mean()), 4) if len(y) else None,
        "positives": int(y.sum()),
        "examples": len(y),
    }


def fit_and_save(
    bot,
    train: list[dict],
    test: list[dict],
    source: str,
    path: Path | None = None,
    more_train: tuple[Group, ...] = (),
    more_test: tuple[Group, ...] = (),
    contains=None,
) -> dict:
    """Fit on `train` (and the `more_train` groups, each at its weight), check on `test` (and each of
    `more_test`, reported apart), write the model (by default where `bot`'s reader setting reads it)."""
    reading = bot.settings.read_sentences
    path = path or calibration_path(bot.embedder.name, reader=reading > 0)
    x, y, weight = collect(bot, train, contains)
    for group in more_train:
        gx, gy, gw = collect(group.bot, group.questions, contains)
        if len(gx):
            x, y, weight = np.vstack([x, gx]), np.concatenate([y, gy]), np.concatenate([weight, gw * group.weight])
    w, b = fit_logistic(x, y, weight)
    xt, yt, _ = collect(bot, test, contains)
    report = {
        "model": bot.embedder.name,
        "read_sentences": reading,
        "features": list(FEATURES),
        "weights": [round(float(v), 5) for v in w],
        "bias": round(b, 5),
        "fitted_on": f"{source}: {len(train)} questions of the even-numbered articles, each with its article, "
        "without its paragraph and without its article"
        + "".join(f"; {g.name}: {len(g.questions)} questions (weight {g.weight:g})" for g in more_train),
        "fitted_at": time.strftime("%Y-%m-%d"),
        "held_out": _held_out(w, b, xt, yt, len(test)),
    }
    for group in more_test:
        gx, gy, _ = collect(group.bot, group.questions, contains)
        report[f"held_out {group.name}"] = _held_out(w, b, gx, gy, len(group.questions))
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def collect_candidates(bot, questions: list[dict], contains) -> list[CandidateSet]:
    """Per question: its candidate sentences' features before reading, the reader's score of each, and
    whether each holds a gold answer (`contains(text, gold)`; for a question asking for an identifier, in
    the sentence's chunk's term too). Every candidate is read, so that any order of reading can be replayed."""
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
        ident = ask(reading.focus).kind == IDENT
        answerable = [
            t + ("\n" + s.candidate.hit.chunk.context if ident else "") for t, s in zip(texts, scored, strict=True)
        ]
        y = np.array([float(any(contains(t, g) for g in item["answers"])) for t in answerable])
        out.append(CandidateSet(x, reads, y))
    return out


def fit_ranker_and_save(
    bot,
    train: list[dict],
    test: list[dict],
    source: str,
    contains,
    path: Path | None = None,
    more_train: tuple[Group, ...] = (),
    more_test: tuple[Group, ...] = (),
):
    """Fit the sentence ranker for `bot`'s embedder on `train` (and `more_train`), check it on `test` (and each of
    `more_test`, reported apart), write it; return the report. A group's weight repeats its questions (rounded)."""
    train_sets = collect_candidates(bot, train, contains)
    for group in more_train:
        train_sets += collect_candidates(group.bot, group.questions, contains) * max(1, round(group.weight))
    n_read = max(2, bot.settings.read_sentences)
    report = ranking.fit(train_sets, collect_candidates(bot, test, contains), n_read=n_read)
    for group in more_test:
        report[f"held_out {group.name}"] = ranking.fit(
            train_sets, collect_candidates(group.bot, group.questions, contains), n_read=n_read
        )["held_out"]
    report = {
        "model": bot.embedder.name,
        **report,
        "fitted_on": f"{source}: {len(train)} questions of the even-numbered articles, their 8 candidate "
        "sentences each; a sentence holding a gold answer is the one to put first",
    }
    path = path or ranker_path(bot.embedder.name)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report
