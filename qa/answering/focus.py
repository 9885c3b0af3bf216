"""A conversation's focus: the document it is about, and its chunks for a follow-up.

Every document is scored by BM25 against each earlier turn's words (question and answer; a
document scores as its best chunk among the store's best for those words), the older turns
weighing less (`DECAY` per turn); the best is the focus. A follow-up made whole is then
searched in that document alone (`Documents.search`): the store's dense and BM25 lists kept
to its chunks (which document a chunk is in is remembered, so the store makes each chunk
once), fused as `Retriever.search` fuses them.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from qa.answering.resolver import Turn
from qa.answering.retrieval import BM25_WEIGHT, DEPTH, Hit, fuse
from qa.index.store import Store
from qa.text import terms

DECAY = 0.85  # an earlier turn's weight in the focus, per turn of age
KNOWN = 200_000  # chunks whose document is remembered
SEEN = 50  # chunks of the conversation's document seen before, scored besides the store's best
CACHED = 1024  # turns whose document scores are kept (a chat asks about the same history again and again)


@dataclass(frozen=True)
class Focus:
    """The document a conversation is about, and how far its score is ahead of the next one's (0..1)."""

    document: str
    margin: float


class Documents:
    """Scores a store's documents against a conversation's turns (each turn's scores kept for the next ask)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._turns: OrderedDict[str, dict[str, float]] = OrderedDict()
        self._sources: OrderedDict[int, str] = OrderedDict()  # chunk id -> its document
        self._seen: dict[str, set[int]] = {}  # document -> its chunks seen so far

    def sources(self, ids) -> dict[int, str]:
        """The document of each chunk id (the store makes the chunks not seen before, once)."""
        new = [i for i in ids if i not in self._sources]
        if new:
            for cid, chunk in self.store.chunks_by_id(new).items():
                self._sources[cid] = chunk.source
                self._seen.setdefault(chunk.source, set()).add(cid)
            while len(self._sources) > KNOWN:
                cid, source = self._sources.popitem(last=False)
                self._seen[source].discard(cid)
        return {i: self._sources[i] for i in ids if i in self._sources}

    def _scores(self, text: str) -> dict[str, float]:
        """The documents of the store's best chunks for one turn's words, by their best chunk's BM25 score."""
        if text in self._turns:
            self._turns.move_to_end(text)
            return self._turns[text]
        query = terms(text)
        best: dict[str, float] = {}
        if query:
            scores = self.store.lexical(query, DEPTH)
            for cid, source in self.sources(list(scores)).items():
                best[source] = max(best.get(source, 0.0), scores[cid])
        self._turns[text] = best
        if len(self._turns) > CACHED:
            self._turns.popitem(last=False)
        return best

    def focus(self, earlier: list[Turn]) -> Focus | None:
        """The document the earlier turns are most about, the latest weighing most."""
        total: dict[str, float] = {}
        for age, turn in enumerate(reversed(earlier)):
            for document, score in self._scores(f"{turn.question} {turn.answer}").items():
                total[document] = total.get(document, 0.0) + DECAY**age * score
        if not total:
            return None
        ranked = sorted(total.values(), reverse=True)
        second = ranked[1] if len(ranked) > 1 else 0.0
        return Focus(max(total, key=total.get), (ranked[0] - second) / ranked[0])

    def search(
        self, document: str, query: str, qvec: np.ndarray, k: int, mode: str = "hybrid", exclude=None
    ) -> list[Hit]:
        """The best `k` chunks of one document for a query, scored as `Retriever.search` scores chunks: its
        chunks among the store's best `DEPTH` dense and BM25 chunks, and those the conversation's words
        found before (at most `SEEN` of them, scored densely); `exclude(chunk)` true leaves one out."""
        store = self.store
        dense = store.dense(qvec, DEPTH) if mode in ("hybrid", "dense") else {}
        q = terms(query) if mode in ("hybrid", "bm25") else []
        lexical = store.lexical(q, DEPTH) if q else {}
        mine = {c for c, s in self.sources(list(dict.fromkeys([*dense, *lexical]))).items() if s == document}
        dense = {c: s for c, s in dense.items() if c in mine}
        lexical = {c: s for c, s in lexical.items() if c in mine}
        if mode in ("hybrid", "dense"):
            seen = sorted(self._seen.get(document, set()) - set(dense))[:SEEN]
            dense |= {c: scores.best for c, scores in store.sentence_scores(seen, qvec).items()}
        fused = fuse(dense, lexical, BM25_WEIGHT)
        order = sorted(fused, key=fused.get, reverse=True)
        chunks = store.chunks_by_id(order[: k * 2])
        if exclude is not None:
            order = [c for c in order[: k * 2] if not exclude(chunks[c])]
        best = order[:k]
        sentences = store.sentence_scores(best, qvec)
        return [
            Hit(chunks[c], fused[c], dense.get(c, sentences[c].best), lexical.get(c, 0.0), rank, sentences[c].sentences)
            for rank, c in enumerate(best)
        ]
