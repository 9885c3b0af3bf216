"""Where the chunks live: what retrieval asks of a store, and the embedded FAISS + bm25s store.

A store answers a few questions about the chunks (the `Store` protocol):
- `dense`: the best chunks for a query vector, each scored by its best sentence;
- `lexical`: the best chunks by BM25 for the query's terms (`qa.text.terms`);
- `sentence_scores`: each sentence of some chunks against a query vector;
- `frequency`: how many chunks hold a term (the idf the ranker weighs terms by);
- `chunks_by_id` and `document_texts`: chunks by id, and their documents' texts.

Fusion, ranking, reading and confidence stay in the app (`qa.answering.retrieval`,
`qa.answering.extraction`), so every store ranks the same way. `FaissStore` is the
default: the index folder that `qa.index` writes, read in-process. A store
that is written document by document (`qa.index.milvus.MilvusStore`) also
has `upsert` and `delete`; the FAISS store is written whole by the build
(`qa.index.sync_index`), which embeds only new and changed documents.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from qa.index import LoadedIndex, Manifest
from qa.index import vectors as vector_kinds
from qa.index.lexical import Lexical
from qa.index.lexical import build as build_lexical
from qa.ingest.chunking import Chunk

SENTENCE_DEPTH = 4  # sentences searched per chunk wanted: chunks hold several sentences each
PARTIAL_SORT_ABOVE = 100_000  # chunks; below, BM25 scores are fully sorted (as before: the same ties win)


@dataclass(frozen=True)
class SentenceScores:
    """One chunk's sentences against a query vector: each sentence's score, and the best."""

    sentences: tuple[float, ...]
    best: float


def score_sentences(rows: np.ndarray, qvec: np.ndarray) -> SentenceScores:
    """Score a chunk's sentence vectors (in sentence order) against a query, the same way for every store."""
    q = qvec.reshape(-1)
    return SentenceScores(tuple(float(rows[i] @ q) for i in range(len(rows))), float((rows @ q).max()))


def best_per_chunk(scores: Iterable[float], owners: Iterable[int], k: int) -> dict[int, float]:
    """The first `k` chunks of a best-first list of sentence scores, each with its best sentence's score."""
    out: dict[int, float] = {}
    for s, chunk in zip(scores, owners, strict=True):
        out.setdefault(int(chunk), float(s))
        if len(out) == k:
            break
    return out


@runtime_checkable
class Store(Protocol):
    """What retrieval needs from the place the chunks are kept. Chunk ids are ints, unique in the store."""

    kind: str  # "faiss", "milvus"
    path: Path  # the index folder (its manifest names the store)
    manifest: Manifest

    @property
    def size(self) -> int:
        """The number of chunks."""
        ...

    def dense(self, qvec: np.ndarray, k: int) -> dict[int, float]:
        """Up to `k` chunks by their best sentence's inner product with `qvec`, best first."""
        ...

    def lexical(self, query_terms: list[str], k: int) -> dict[int, float]:
        """Up to `k` chunks by BM25 over `query_terms` (non-empty), best first; only chunks holding a term."""
        ...

    def sentence_scores(self, chunk_ids: Sequence[int], qvec: np.ndarray) -> dict[int, SentenceScores]:
        """Each sentence of these chunks against `qvec` (`score_sentences`)."""
        ...

    def frequency(self, term: str) -> int:
        """How many chunks hold `term` (0: none)."""
        ...

    def chunks_by_id(self, ids: Sequence[int]) -> dict[int, Chunk]:
        """These chunks, by id."""
        ...

    def document_texts(self, sources: Iterable[str]) -> Mapping[str, str]:
        """The texts of these documents, by path."""
        ...


@runtime_checkable
class WritableStore(Store, Protocol):
    """A store written document by document (Milvus). The FAISS store is written whole by the build instead
    (`qa.index.sync_index`: only new and changed documents are embedded; its files are then rewritten)."""

    def upsert(self, path: str, rows) -> None:
        """Replace the rows of the document at `path` with `rows`."""
        ...

    def delete(self, path: str) -> None:
        """Remove the rows of the document at `path`."""
        ...


class FaissStore:
    """The embedded default: an index folder (FAISS over sentence vectors, bm25s over chunks) in memory."""

    kind = "faiss"

    def __init__(self, index: LoadedIndex) -> None:
        self.index = index
        self.path = index.path
        self.manifest = index.manifest
        self.chunks = index.chunks  # as LoadedIndex: the chunks in id order, texts and pages by path
        self.texts = index.texts
        self.pages = index.pages
        # The BM25 the build stored; built here (tokenizing every chunk) only when it is missing or outdated.
        self.bm25: Lexical = index.lexical or build_lexical(c.embedding_text() for c in self.chunks)

    @property
    def size(self) -> int:
        return len(self.chunks)

    def dense(self, qvec: np.ndarray, k: int) -> dict[int, float]:
        depth = min(self.index.vectors.ntotal, k * SENTENCE_DEPTH)
        scores, ids = vector_kinds.search(self.index.vectors, self.index.exact_rows, qvec, depth)
        keep = ids >= 0
        return best_per_chunk(scores[keep], self.index.sentence_chunks[ids[keep]], k)

    def lexical(self, query_terms: list[str], k: int) -> dict[int, float]:
        scores = self.bm25.scores(query_terms)
        if len(scores) > PARTIAL_SORT_ABOVE:  # only chunks holding a term, and only their top k sorted
            top = np.flatnonzero(scores > 0)
            if len(top) > k:
                top = top[np.argpartition(-scores[top], k - 1)[:k]]
            top = top[np.argsort(-scores[top])]
        else:
            top = np.argsort(-scores)[:k]
        return {int(i): float(scores[i]) for i in top if scores[i] > 0}

    def sentence_scores(self, chunk_ids: Sequence[int], qvec: np.ndarray) -> dict[int, SentenceScores]:
        out = {}
        counts = self.chunks.sentence_counts
        for cid in chunk_ids:
            first = self.index.sentence_rows[cid]
            out[cid] = score_sentences(self.index.sentence_vectors[first : first + int(counts[cid])], qvec)
        return out

    def frequency(self, term: str) -> int:
        i = self.bm25.bm25.vocab_dict.get(term)
        return 0 if i is None or i >= len(self.bm25.df) else int(self.bm25.df[i])

    def chunks_by_id(self, ids: Sequence[int]) -> dict[int, Chunk]:
        return {i: self.chunks[i] for i in ids}

    def document_texts(self, sources: Iterable[str]) -> Mapping[str, str]:
        return self.index.texts  # decoded when read, a few kept: no copy is made
