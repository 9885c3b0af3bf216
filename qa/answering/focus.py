"""A conversation's focus: the document it is about.

Every document is scored by BM25 against each earlier turn's words (question and answer; a
document scores as its best chunk among the store's best for those words), the older turns
weighing less (`DECAY` per turn); the best is the focus. A follow-up made whole is then
searched in that document alone (`within`, for `Retriever.search`'s `exclude`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from qa.answering.resolver import Turn
from qa.index.store import Store
from qa.ingest.chunking import Chunk
from qa.text import terms

DECAY = 0.85  # an earlier turn's weight in the focus, per turn of age
DEPTH = 200  # chunks the store returns for one turn's words
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

    def _scores(self, text: str) -> dict[str, float]:
        """The documents of the store's best chunks for one turn's words, by their best chunk's BM25 score."""
        if text in self._turns:
            self._turns.move_to_end(text)
            return self._turns[text]
        query = terms(text)
        best: dict[str, float] = {}
        if query:
            scores = self.store.lexical(query, DEPTH)
            for cid, chunk in self.store.chunks_by_id(list(scores)).items():
                best[chunk.source] = max(best.get(chunk.source, 0.0), scores[cid])
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


def within(document: str, exclude: Callable[[Chunk], bool] | None = None) -> Callable[[Chunk], bool]:
    """Leave out every chunk of other documents (and those `exclude` leaves out)."""
    if exclude is None:
        return lambda chunk: chunk.source != document
    return lambda chunk: chunk.source != document or exclude(chunk)
