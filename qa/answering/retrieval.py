"""Find the chunks most likely to hold the answer, and hand extraction what it needs.

Dense search (inner product over normalized sentence vectors; a chunk scores
as its best sentence) and BM25 over the chunks' text with their title and
heading, both asked of a store (`qa.index.store`: the FAISS + bm25s index folder by
default, or Milvus). Hybrid mode fuses them by score: each list's top `DEPTH`
scores are min-max normalized over the union of both lists (a chunk missing
from one list gets that list's lowest score) and mixed as
`BM25_WEIGHT * bm25 + (1 - BM25_WEIGHT) * dense`. On SQuAD this beat
reciprocal rank fusion (see README, retrieval table). `mode` picks one or both.

`Retriever.retrieve` returns `Retrieved`: the hits with their chunks, each
sentence's dense score, the hits' document texts and the chunks' idf, so that
extraction never reaches into a store.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from qa.index import LoadedIndex
from qa.index.store import SENTENCE_DEPTH, FaissStore, Store
from qa.ingest.chunking import Chunk
from qa.text import terms

__all__ = ["BM25_WEIGHT", "DEPTH", "SENTENCE_DEPTH", "Hit", "Idf", "Retrieved", "Retriever", "fuse"]

DEPTH = 200
BM25_WEIGHT = 0.5


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its scores; `rank` is 0 for the best.

    `dense` is the chunk's best sentence against the query; `sentences` holds
    each of its sentences' dense scores, in `chunk.sentences` order.
    """

    chunk: Chunk
    score: float
    dense: float
    bm25: float
    rank: int
    sentences: tuple[float, ...] = ()


@dataclass(frozen=True)
class Idf:
    """IDF of a term over the chunks, from how many chunks hold it (`frequency`) and how many there are.

    A word no chunk holds gets half the highest IDF: it may be a paraphrase as
    well as a sign that the documents don't cover the question.
    """

    frequency: Callable[[str], int]
    chunks: int

    @property
    def max_idf(self) -> float:
        return math.log(1 + (self.chunks + 0.5) / 0.5)

    def __call__(self, term: str) -> float:
        f = self.frequency(term)
        if f == 0:
            return self.max_idf / 2
        return math.log(1 + (self.chunks - f + 0.5) / (f + 0.5))

    def known(self, term: str) -> bool:
        """Whether some chunk holds the term."""
        return self.frequency(term) > 0


@dataclass(frozen=True)
class Retrieved:
    """What extraction reads: the hits (best first), their documents' texts by path, and the chunks' idf."""

    hits: tuple[Hit, ...]
    texts: Mapping[str, str] = field(repr=False)
    idf: Idf = field(repr=False)


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
    """Searches a store (an index folder's `LoadedIndex` is searched through `FaissStore`) and fuses."""

    def __init__(self, store: Store | LoadedIndex) -> None:
        self.store: Store = FaissStore(store) if isinstance(store, LoadedIndex) else store
        self.idf = Idf(self.store.frequency, self.store.size)

    def search(
        self, query: str, qvec: np.ndarray, k: int, mode: str = "hybrid", exclude: Callable[[Chunk], bool] | None = None
    ) -> list[Hit]:
        """The best `k` chunks for a query, leaving out the chunks for which `exclude(chunk)` is true."""
        store = self.store
        depth = min(store.size, max(k * 4, DEPTH) * (4 if exclude else 1))
        dense = store.dense(qvec, depth) if mode in ("hybrid", "dense") else {}
        q = terms(query) if mode in ("hybrid", "bm25") else []
        lexical = store.lexical(q, depth) if q else {}
        if exclude:
            found = store.chunks_by_id(list(dict.fromkeys([*dense, *lexical])))
            dense = {c: s for c, s in dense.items() if not exclude(found[c])}
            lexical = {c: s for c, s in lexical.items() if not exclude(found[c])}
        fused = fuse(dense, lexical, BM25_WEIGHT)
        best = sorted(fused, key=fused.get, reverse=True)[:k]
        chunks = store.chunks_by_id(best)
        sentences = store.sentence_scores(best, qvec)
        for cid in best:
            if cid not in dense:
                dense[cid] = sentences[cid].best
        return [
            Hit(chunks[cid], fused[cid], dense.get(cid, 0.0), lexical.get(cid, 0.0), rank, sentences[cid].sentences)
            for rank, cid in enumerate(best)
        ]

    def retrieve(
        self, query: str, qvec: np.ndarray, k: int, mode: str = "hybrid", exclude: Callable[[Chunk], bool] | None = None
    ) -> Retrieved:
        """`search`, with what extraction needs besides: the hits' document texts and the idf."""
        hits = self.search(query, qvec, k, mode, exclude)
        return Retrieved(tuple(hits), self.store.document_texts(dict.fromkeys(h.chunk.source for h in hits)), self.idf)
