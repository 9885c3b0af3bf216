"""Stage 6: pick the words of the retrieved passages that answer the question.

Every sentence of the retrieved chunks is scored against the question (dense
similarity of its own vector, and how much of the question's weighted terms it
and its passage contain). The best sentence is the extract; when it is longer
than `MAX_ANSWER_CHARS`, the clause window that carries the question's terms
is. A confidence in [0, 1] comes from a logistic model over the same features.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.retrieval import Hit, Retriever
from qa.spans import OTHER, best_span, classify
from qa.text import terms

MAX_ANSWER_CHARS = 300
SPAN_MARGIN = 0.1  # a typed span must beat the next candidate by this much to stand alone
_CALIBRATION = Path(__file__).with_name("calibration.json")
FEATURES = ("dense", "coverage", "context", "chunk_dense", "margin", "type_missing", "name_coverage")
_CLAUSE_BREAK = re.compile(r"[,;:—–][”’\"']?\s+|\s+[—–]\s+|\s\((?=\w)")


@dataclass(frozen=True)
class Candidate:
    """One sentence of a retrieved chunk with the features it was scored on."""

    hit: Hit
    start: int
    end: int
    dense: float
    coverage: float
    context: float
    score: float


@dataclass(frozen=True)
class Calibration:
    """Logistic weights turning candidate features into a confidence."""

    weights: tuple[float, ...]
    bias: float

    type_missing_factor: float = 0.25

    @classmethod
    def load(cls, path: Path = _CALIBRATION) -> Calibration:
        d = json.loads(path.read_text(encoding="utf-8"))
        return cls(tuple(float(w) for w in d["weights"]), float(d["bias"]))

    def confidence(self, features: tuple[float, ...]) -> float:
        """P(the documents answer the question), from the logistic model.

        A rule on top: a question that asks for a date, number or amount whose chosen
        sentence holds none ("type_missing") keeps only a quarter of that probability.
        """
        z = self.bias + sum(w * f for w, f in zip(self.weights, features, strict=True))
        p = 1.0 / (1.0 + math.exp(-z))
        return p * self.type_missing_factor if features[FEATURES.index("type_missing")] else p


def weighted_coverage(query_terms: list[str], text_terms: set[str], retriever: Retriever) -> float:
    """Share of the query's IDF mass whose terms occur in `text_terms`."""
    unique = set(query_terms)
    total = sum(retriever.term_idf(t) for t in unique)
    if total == 0:
        return 0.0
    return sum(retriever.term_idf(t) for t in unique if t in text_terms) / total


def candidates(query: str, qvec: np.ndarray, hits: list[Hit], retriever: Retriever) -> list[Candidate]:
    """All sentences of the hits, best first."""
    index = retriever.index
    q_terms = terms(query)
    seen: set[tuple[str, int]] = set()
    out: list[Candidate] = []
    for hit in hits:
        chunk = hit.chunk
        text = index.texts[chunk.source]
        context_terms = set(terms(chunk.embedding_text()))
        context = weighted_coverage(q_terms, context_terms, retriever)
        first = index.sentence_rows[chunk.id]
        for offset, (s, e) in enumerate(chunk.sentences):
            if (chunk.source, s) in seen:
                continue
            seen.add((chunk.source, s))
            dense = float(index.sentence_vectors[first + offset] @ qvec.reshape(-1))
            coverage = weighted_coverage(q_terms, set(terms(text[s:e])), retriever)
            score = dense + 0.6 * coverage + 0.3 * context + 0.2 * hit.dense
            out.append(Candidate(hit, s, e, dense, coverage, context, score))
    out.sort(key=lambda c: c.score, reverse=True)
    return out


_PROPER = re.compile(r"(?<!^)(?<![.?!]\s)\b(?:[A-Z][\w’'-]*|[a-z]+[A-Z][\w-]*)")


@dataclass(frozen=True)
class Extract:
    """The chosen sentence, the extract inside it, and the features its confidence is read from."""

    candidate: Candidate
    start: int
    end: int
    features: tuple[float, ...]
    ranked: tuple[Candidate, ...]


def name_coverage(question: str, sentence: str, heading: str) -> float:
    """Share of the question's proper names found in the sentence (or its heading); 1 if it names none."""
    names = {t for m in _PROPER.finditer(question.strip()) for t in terms(m.group())}
    if not names:
        return 1.0
    return len(names & set(terms(sentence + " " + heading))) / len(names)


def extract(question: str, query: str, qvec: np.ndarray, hits: list[Hit], retriever: Retriever) -> Extract | None:
    """Pick the sentence and the words in it that answer `question` (made whole as `query`)."""
    ranked = candidates(query, qvec, hits, retriever)
    if not ranked:
        return None
    typed_question = question if query.startswith(question) else query
    qtype = classify(typed_question)
    typed = qtype.kind != OTHER or qtype.plural
    idf = lambda t: retriever.term_idf(t) / retriever.max_idf  # noqa: E731
    scored = []
    for cand in ranked[:8]:
        text = retriever.index.texts[cand.hit.chunk.source]
        span = best_span(typed_question, text, cand.start, cand.end, idf=idf, context=query) if typed else None
        names = name_coverage(typed_question, text[cand.start : cand.end], cand.hit.chunk.heading)
        scored.append((cand.score + (0.15 if span else 0.0) + 0.2 * names, cand, span))
    scored.sort(key=lambda x: x[0], reverse=True)
    key, best, span = scored[0]
    text = retriever.index.texts[best.hit.chunk.source]
    if span is not None and (span.margin >= SPAN_MARGIN or span.rival is None):
        start, end = span.start, span.end
    elif span is not None and max(span.end, span.rival[1]) - min(span.start, span.rival[0]) <= MAX_ANSWER_CHARS:
        # two candidates nearly tied: answer with the stretch of the sentence that holds both
        start, end = min(span.start, span.rival[0]), max(span.end, span.rival[1])
    else:
        context = query[len(question) :] if query.startswith(question) else ""
        start, end = clause_window(text, best.start, best.end, typed_question, retriever, context)
    margin = key - scored[1][0] if len(scored) > 1 else 0.5
    feats = (
        best.dense,
        best.coverage,
        best.context,
        best.hit.dense,
        margin,
        1.0 if qtype.strict and span is None else 0.0,
        name_coverage(typed_question, text[best.start : best.end], best.hit.chunk.heading),
    )
    order = [best] + [c for c in ranked if c is not best]
    return Extract(best, start, end, feats, tuple(order))


def clause_window(
    text: str, start: int, end: int, question: str, retriever: Retriever, context: str = ""
) -> tuple[int, int]:
    """The part of sentence text[start:end] that answers, at most MAX_ANSWER_CHARS long.

    Clause windows are scored by the share of the question's terms they hold,
    less half the share of the conversation's earlier terms (`context`): a
    follow-up wants the new part of the sentence, not the part already said;
    a little credit for words that are new to both keeps empty clauses out.
    """
    if end - start <= MAX_ANSWER_CHARS:
        return start, end
    cuts = [start] + [m.end() for m in _CLAUSE_BREAK.finditer(text, start, end)] + [end]
    pieces = [(a, b) for a, b in itertools.pairwise(cuts) if b > a]
    q_terms = terms(question)
    c_terms = [t for t in terms(context) if t not in set(q_terms)]
    best, best_key = (start, start + MAX_ANSWER_CHARS), (-2.0, 0)
    for i in range(len(pieces)):
        for j in range(i, len(pieces)):
            a, b = pieces[i][0], pieces[j][1]
            if b - a > MAX_ANSWER_CHARS:
                break
            window = set(terms(text[a:b]))
            new = len(window - set(q_terms) - set(c_terms))
            score = (
                weighted_coverage(q_terms, window, retriever)
                - 0.5 * weighted_coverage(c_terms, window, retriever)
                + 0.2 * min(1.0, new / 8)
            )
            key = (round(score, 6), b - a)
            if key > best_key:
                best, best_key = (a, b), key
    a, b = best
    while b > a and text[b - 1] in " ,;:—–(":
        b -= 1
    return a, b
