"""Find the chunks most likely to hold the answer.

Dense search (FAISS, inner product over normalized sentence vectors; a chunk
scores as its best sentence) and BM25 (bm25s, stored by the build, see
qa/index/lexical.py) over the chunks' text with their title and heading. Hybrid mode
fuses them by score: each list's top `DEPTH` scores are min-max normalized over the union of both lists (a chunk
missing from one list gets that list's lowest score) and mixed as
`BM25_WEIGHT * bm25 + (1 - BM25_WEIGHT) * dense`. On SQuAD this beat
reciprocal rank fusion (see README, retrieval table). `mode` picks one or both.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from qa.index import LoadedIndex
from qa.index import vectors as vector_kinds
from qa.index.lexical import build as build_lexical
from qa.ingest.chunking import Chunk
from qa.text import terms

DEPTH = 200
SENTENCE_DEPTH = 4  # sentences searched per chunk wanted: chunks hold several sentences each
BM25_WEIGHT = 0.5
PARTIAL_SORT_ABOVE = 100_000  # chunks; below, BM25 scores are fully sorted (as before: the same ties win)


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its scores; `rank` is 0 for the best."""

    chunk: Chunk
    score: float
    dense: float
    bm25: float
    rank: int


def _normalized(scores: dict[int, float], ids: list[int]) -> dict[int, float]:
    if not scores:
        return dict.fromkeys(ids, 0.0)
    low, high = min(scores.values()), max(scores.values())
    span = (high - low) or 1.0
    return {i: (scores.get(i, low) - low) / span for i in ids}


def fuse(dense: dict[int, float], lexical: dict[int, float], bm25_weight: float) -> dict[int, float]:
    """Convex combination of min-max normalized scores over the union of both result lists."""
    if not lexical:
        return dict(dense)
    if not dense:
        return dict(lexical)
    ids = list(dense.keys() | lexical.keys())
    d, b = _normalized(dense, ids), _normalized(lexical, ids)
    return {i: bm25_weight * b[i] + (1 - bm25_weight) * d[i] for i in ids}


class Retriever:
    def __init__(self, index: LoadedIndex) -> None:
        self.index = index
        self.chunks = index.chunks
        # The BM25 the build stored; built here (tokenizing every chunk) only when it is missing or outdated.
        self.lexical = index.lexical or build_lexical(c.embedding_text() for c in self.chunks)
        self.bm25 = self.lexical.bm25
        self.max_idf = math.log(1 + (len(self.chunks) + 0.5) / 0.5)

    def term_idf(self, term: str) -> float:
        """IDF of a term over the chunks. A word no document uses gets half the highest IDF:
        it may be a paraphrase as well as a sign that the documents don't cover the question."""
        idf = self.lexical.idf(term)
        return self.max_idf / 2 if idf is None else idf

    def _dense(self, qvec: np.ndarray, k: int) -> dict[int, float]:
        """The best `k` chunks by their best sentence (sentences come back best first)."""
        n = self.index.vectors.ntotal
        depth = min(n, k * SENTENCE_DEPTH)
        scores, ids = vector_kinds.search(self.index.vectors, self.index.exact_rows, qvec, depth)
        owners = self.index.sentence_chunks
        out: dict[int, float] = {}
        for s, i in zip(scores, ids, strict=True):
            if i < 0:
                continue
            out.setdefault(int(owners[i]), float(s))
            if len(out) == k:
                break
        return out

    def chunk_dense(self, chunk_id: int, qvec: np.ndarray) -> float:
        """A chunk's dense score: its best sentence against the query."""
        first = self.index.sentence_rows[chunk_id]
        rows = self.index.sentence_vectors[first : first + len(self.chunks[chunk_id].sentences)]
        return float((rows @ qvec.reshape(-1)).max())

    def _bm25(self, query: str, k: int) -> dict[int, float]:
        q = terms(query)
        if not q:
            return {}
        scores = self.lexical.scores(q)
        if len(scores) > PARTIAL_SORT_ABOVE:  # only chunks holding a term, and only their top k sorted
            top = np.flatnonzero(scores > 0)
            if len(top) > k:
                top = top[np.argpartition(-scores[top], k - 1)[:k]]
            top = top[np.argsort(-scores[top])]
        else:
            top = np.argsort(-scores)[:k]
        return {int(i): float(scores[i]) for i in top if scores[i] > 0}

    def search(
        self, query: str, qvec: np.ndarray, k: int, mode: str = "hybrid", exclude: Callable[[Chunk], bool] | None = None
    ) -> list[Hit]:
        """The best `k` chunks for a query, leaving out the chunks for which `exclude(chunk)` is true."""
        depth = min(len(self.chunks), max(k * 4, DEPTH) * (4 if exclude else 1))
        dense = self._dense(qvec, depth) if mode in ("hybrid", "dense") else {}
        lexical = self._bm25(query, depth) if mode in ("hybrid", "bm25") else {}
        if exclude:
            dense = {c: s for c, s in dense.items() if not exclude(self.chunks[c])}
            lexical = {c: s for c, s in lexical.items() if not exclude(self.chunks[c])}
        fused = fuse(dense, lexical, BM25_WEIGHT)
        best = sorted(fused, key=fused.get, reverse=True)[:k]
        for cid in best:
            if cid not in dense:
                dense[cid] = self.chunk_dense(cid, qvec)
        return [
            Hit(self.chunks[cid], fused[cid], dense.get(cid, 0.0), lexical.get(cid, 0.0), rank)
            for rank, cid in enumerate(best)
        ]
