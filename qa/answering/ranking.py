"""Order a question's candidate sentences, before and after the span reader reads them.

Each candidate sentence is described by the features the hand-set ordering used
(`RANK_FEATURES`): its own dense similarity, the share of the question's weighted
terms in it and in its passage, its passage's similarity, whether a typed span of
the asked-for kind is in it, the question's names it holds and, once read, the
span reader's score (`SentenceFeatures`). A `Ranker` scores them linearly with two
weight vectors: `before` (no reader) picks which sentences to read, `after` orders
them once read.

The weights are fitted (`fit`) on SQuAD questions of the even-numbered articles to
put a sentence holding a gold answer first (a softmax over each question's
candidates), and checked on the odd-numbered ones (`qa.answering.calibration`). `Ranker.rules()`
is the hand-set ordering, kept for comparison (and for callers that pass none).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

RANK_FEATURES = ("dense", "coverage", "context", "chunk_dense", "typed_span", "name_coverage", "reader", "read")
READER_AT = RANK_FEATURES.index("reader")
COVERAGE_AT = RANK_FEATURES.index("coverage")
# How the product reads (replayed by `simulate` when the ranker is fitted): after the first sentence,
# a sentence is read only if it holds the first one's question terms (coverage within COVERAGE_SLACK),
# and none is read once the reader is SURE of the first (its score at least this).
COVERAGE_SLACK = 0.15
SURE = 3.0


def reader_feature(score: float) -> float:
    """The reader's score (best span over "no answer") clipped to +-10 and scaled to +-1."""
    return max(-10.0, min(10.0, score)) / 10


@dataclass(frozen=True)
class SentenceFeatures:
    """What a candidate sentence is ranked on, in RANK_FEATURES order.

    `dense`: the sentence's vector against the query; `coverage` / `context`: the share of the
    query's weighted terms in the sentence / its passage; `chunk_dense`: the passage's similarity;
    `typed_span`: 1 when a span of the asked-for kind is in it; `name_coverage`: the share of the
    question's names it holds; `reader` / `read`: the span reader's scaled score and 1, once read.
    """

    dense: float
    coverage: float
    context: float
    chunk_dense: float
    typed_span: float
    name_coverage: float
    reader: float = 0.0
    read: float = 0.0

    def vector(self) -> tuple[float, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))

    def with_reading(self, score: float) -> SentenceFeatures:
        """The features once the reader has read the sentence and scored it `score`."""
        return replace(self, reader=reader_feature(score), read=1.0)


assert tuple(f.name for f in fields(SentenceFeatures)) == RANK_FEATURES


@dataclass(frozen=True)
class Ranker:
    """Linear scores over RANK_FEATURES: `before` the reader reads, `after` (unread sentences: reader 0, read 0)."""

    before: tuple[float, ...]
    after: tuple[float, ...]
    model: str | None = None  # the embedder it was fitted for; None for the hand-set rules

    def __post_init__(self) -> None:
        if len(self.before) != len(RANK_FEATURES) or len(self.after) != len(RANK_FEATURES):
            raise ValueError(f"a ranker needs {len(RANK_FEATURES)} weights per stage ({', '.join(RANK_FEATURES)})")

    @classmethod
    def rules(cls) -> Ranker:
        """The hand-set ordering: similarity + 0.6 coverage + 0.3 passage coverage + 0.2 passage similarity,
        + 0.15 with a typed span, + 0.2 name coverage; the reader adds 0.2 x its clipped score."""
        before = (1.0, 0.6, 0.3, 0.2, 0.15, 0.2, 0.0, 0.0)
        return cls(before, (*before[:READER_AT], 2.0, 0.0))

    @classmethod
    def load(cls, path: Path) -> Ranker:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        if tuple(d["features"]) != RANK_FEATURES:
            raise ValueError(f"{path} was fitted on other features ({d['features']})")
        return cls(tuple(d["before"]), tuple(d["after"]), model=d.get("model"))

    def score(self, features: SentenceFeatures, read: bool) -> float:
        weights = self.after if read else self.before
        return float(sum(w * f for w, f in zip(weights, features.vector(), strict=True)))

    def best_after_reading(self, features: SentenceFeatures) -> float:
        """The highest score a sentence could reach once read (the reader's score at its +10 clip)."""
        return self.score(features.with_reading(10.0), True)


# --- fitting -------------------------------------------------------------------------------------
def fit_softmax(groups: list[np.ndarray], labels: list[np.ndarray], l2: float = 1.0, steps: int = 100) -> np.ndarray:
    """Weights of a conditional logit: P(candidate i of a group is the one) = softmax(x_i . w) over its group.

    Groups without a positive are left out; a group with several positives spreads its
    target over them. Fitted by Newton's method with an L2 penalty, each step halved
    until the penalized loss goes down.
    """
    kept = [(x, y / y.sum()) for x, y in zip(groups, labels, strict=True) if y.sum() > 0]
    if not kept:
        raise ValueError("no group has a positive candidate")
    width, d = max(len(x) for x, _ in kept), kept[0][0].shape[1]
    x = np.zeros((len(kept), width, d))
    y = np.zeros((len(kept), width))
    mask = np.zeros((len(kept), width), dtype=bool)
    for g, (xg, yg) in enumerate(kept):
        x[g, : len(xg)], y[g, : len(yg)], mask[g, : len(xg)] = xg, yg, True

    def loss_and_p(w):
        s = np.where(mask, x @ w, -np.inf)
        top = s.max(axis=1, keepdims=True)
        log_z = top[:, 0] + np.log(np.exp(s - top).sum(axis=1))
        p = np.exp(s - log_z[:, None])
        loss = float((log_z - (np.where(mask, s, 0.0) * y).sum(axis=1)).sum()) + 0.5 * l2 * float(w @ w)
        return loss, p

    w = np.zeros(d)
    loss, p = loss_and_p(w)
    for _ in range(steps):
        mean = np.einsum("gi,gid->gd", p, x)
        grad = np.einsum("gid,gi->d", x, p - y) + l2 * w
        hess = np.einsum("gi,gid,gie->de", p, x, x) - mean.T @ mean + l2 * np.eye(d)
        step = np.linalg.solve(hess, grad)
        for _ in range(30):
            new_loss, new_p = loss_and_p(w - step)
            if new_loss <= loss:
                break
            step = step / 2
        else:
            break
        w, loss, p = w - step, new_loss, new_p
        if np.abs(step).max() < 1e-8:
            break
    return w


def simulate(ranker_before: np.ndarray, x: np.ndarray, reads: np.ndarray, coverage_slack: float, sure: float, n: int):
    """The features stage two sees for one question: the best `n` by `before` read, as the product reads them.

    The first is always read; a later one only while the first scored under `sure`, and
    only if it holds the first one's question terms (coverage within `coverage_slack`).
    """
    order = np.argsort(-(x @ ranker_before), kind="stable")
    out = x.copy()
    first = order[0]
    for k, i in enumerate(order[:n]):
        if k > 0 and (reads[first] >= sure or x[i, COVERAGE_AT] < x[first, COVERAGE_AT] - coverage_slack):
            continue
        out[i, READER_AT : READER_AT + 2] = reader_feature(float(reads[i])), 1.0
    return out


def top1(weights: np.ndarray, groups: list[np.ndarray], labels: list[np.ndarray]) -> float:
    """Share of questions whose best-scored candidate holds a gold answer."""
    return float(np.mean([y[int(np.argmax(x @ weights))] for x, y in zip(groups, labels, strict=True)]))


@dataclass(frozen=True)
class CandidateSet:
    """One question's candidate sentences for fitting: features before reading (a row per sentence, in
    RANK_FEATURES order), the reader's score of each, and 1 where a sentence holds a gold answer."""

    features: np.ndarray
    reads: np.ndarray
    labels: np.ndarray


def fit(train: list[CandidateSet], test: list[CandidateSet], n_read: int) -> dict:
    """Fit `before` and `after` on each question's candidates; report held-out top-1."""

    def stage_two(before, rows):
        return [simulate(before, c.features, c.reads, COVERAGE_SLACK, SURE, n_read) for c in rows]

    xs, ys = [c.features for c in train], [c.labels for c in train]
    before = fit_softmax(xs, ys)
    after = fit_softmax(stage_two(before, train), ys)
    rules = Ranker.rules()
    tx, ty = [c.features for c in test], [c.labels for c in test]
    held_out = {
        "questions": len(test),
        "answer_in_first_sentence": {
            "fitted, before reading": round(top1(before, tx, ty), 4),
            "fitted, after reading": round(top1(after, stage_two(before, test), ty), 4),
            "rules, before reading": round(top1(np.array(rules.before), tx, ty), 4),
            "rules, after reading": round(top1(np.array(rules.after), stage_two(np.array(rules.before), test), ty), 4),
            "answer in any candidate": round(float(np.mean([y.max() for y in ty])), 4),
        },
    }
    return {
        "features": list(RANK_FEATURES),
        "before": [round(float(v), 5) for v in before],
        "after": [round(float(v), 5) for v in after],
        "fitted_at": time.strftime("%Y-%m-%d"),
        "held_out": held_out,
    }
