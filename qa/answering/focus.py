"""A conversation's focus: the document it is about, and that document's passages for a follow-up.

Every document is scored by BM25 against each earlier turn's words (question and answer; a
document scores as its best chunk), the older turns weighing less (`DECAY` per turn); the best
is the focus. A follow-up made whole is then searched in that document alone (`Focus.hits`):
its chunks scored against the query as the retriever scores them (dense: the best sentence;
BM25; fused), without a search of the whole index.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from qa.answering.conversation import Turn
from qa.answering.retrieval import BM25_WEIGHT, Hit, fuse
from qa.text import terms

DECAY = 0.85  # an earlier turn's weight in the focus, per turn of age
KEPT = 50  # best documents kept per turn (the rest score 0 for it)
CACHED = 1024  # turns whose document scores are kept (a chat asks about the same history again and again)


@dataclass(frozen=True)
class Focus:
    """The document a conversation is about, and how far its score is ahead of the next one's (0..1)."""

    document: str
    margin: float


class Documents:
    """The index's documents as the conversation scores and searches them."""

    def __init__(self, index, lexical) -> None:
        self.index, self.lexical = index, lexical
        chunks = index.chunks
        owner = getattr(chunks, "documents", None)  # the chunk table's document column, without making chunks
        if owner is None:
            names = {c.source: None for c in chunks}
            number = {name: i for i, name in enumerate(names)}
            owner = [number[c.source] for c in chunks]
        self.owner = np.asarray(owner, dtype=np.int64)
        first = {int(d): i for i, d in reversed(list(enumerate(self.owner.tolist())))}
        self.names = {d: chunks[i].source for d, i in first.items()}
        self.number = {name: d for d, name in self.names.items()}
        self._turns: OrderedDict[str, dict[int, float]] = OrderedDict()

    def _scores(self, text: str) -> dict[int, float]:
        """The best KEPT documents for one turn's words, by their best chunk's BM25 score (cached)."""
        if text in self._turns:
            self._turns.move_to_end(text)
            return self._turns[text]
        query = terms(text)
        best: dict[int, float] = {}
        if query:
            scores = self.lexical.scores(query)
            top = np.flatnonzero(scores > 0)
            for i in top[np.argsort(-scores[top], kind="stable")]:
                d = int(self.owner[i])
                if d not in best:
                    best[d] = float(scores[i])
                    if len(best) == KEPT:
                        break
        self._turns[text] = best
        if len(self._turns) > CACHED:
            self._turns.popitem(last=False)
        return best

    def focus(self, earlier: list[Turn]) -> Focus | None:
        """The document the earlier turns are most about, the latest weighing most."""
        total: dict[int, float] = {}
        for age, turn in enumerate(reversed(earlier)):
            for d, s in self._scores(f"{turn.question} {turn.answer}").items():
                total[d] = total.get(d, 0.0) + DECAY**age * s
        if not total:
            return None
        ranked = sorted(total.values(), reverse=True)
        best = max(total, key=total.get)
        second = ranked[1] if len(ranked) > 1 else 0.0
        return Focus(self.names[best], (ranked[0] - second) / ranked[0])

    def hits(self, document: str, query: str, qvec: np.ndarray, k: int, mode: str = "hybrid", exclude=None):
        """The best `k` chunks of one document for a query, scored as `Retriever.search` scores chunks."""
        ids = np.flatnonzero(self.owner == self.number[document])
        if exclude is not None:
            ids = np.array([i for i in ids if not exclude(self.index.chunks[int(i)])], dtype=np.int64)
        if not len(ids):
            return []
        index = self.index
        first = np.array([index.sentence_rows[i] for i in ids], dtype=np.int64)
        counts = getattr(index.chunks, "sentence_counts", None)
        if counts is None:
            counts = [len(c.sentences) for c in index.chunks]
        counts = np.asarray(counts, dtype=np.int64)[ids]
        # each chunk's rows as a contiguous slice (SQ8 indexes decode rows only that way)
        vectors = np.vstack([np.asarray(index.sentence_vectors[a : a + n]) for a, n in zip(first, counts, strict=True)])
        sims = vectors @ qvec.reshape(-1)
        best = np.maximum.reduceat(sims, np.concatenate([[0], np.cumsum(counts)[:-1]]))
        dense = {int(i): float(s) for i, s in zip(ids, best, strict=True)} if mode in ("hybrid", "dense") else {}
        lexical = {}
        if mode in ("hybrid", "bm25") and terms(query):
            scores = self.lexical.scores(terms(query))[ids]
            lexical = {int(i): float(s) for i, s in zip(ids, scores, strict=True) if s > 0}
        fused = fuse(dense, lexical, BM25_WEIGHT)
        order = sorted(fused, key=fused.get, reverse=True)[:k]
        dense_all = {int(i): float(s) for i, s in zip(ids, best, strict=True)}
        return [Hit(index.chunks[c], fused[c], dense_all[c], lexical.get(c, 0.0), rank) for rank, c in enumerate(order)]
