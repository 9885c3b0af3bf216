"""What a build tells its `on_progress` callback: where it is, one frozen event at a time.

A build (`qa.index.sync_index`, `qa.api.build`/`add`/`remove`/`restore`) given
`on_progress=f` calls `f(BuildProgress(...))` as it goes: when it waits for
another build of the same index folder, when it lists the corpus, after each
document it reads, before it embeds and after each group of sentences embedded,
and before it writes the index. The callback runs in the build's thread and
should return at once (the chat stores the event; `ui.progress` renders it).
Counts are of this build's own work: the new and changed documents it reads and
embeds, not the unchanged ones it keeps. Another build path (Ray) reports
through the same events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

WAITING, LISTING, READING, EMBEDDING, WRITING = "waiting", "listing", "reading", "embedding", "writing"
STAGES = (WAITING, LISTING, READING, EMBEDDING, WRITING)


@dataclass(frozen=True)
class BuildProgress:
    """One step of a build. `done`/`total`: documents read (READING) or embedded (EMBEDDING) so far, of
    how many; `sentences`/`sentences_total`: sentences embedded so far, of how many (EMBEDDING, WRITING)."""

    stage: str
    done: int = 0
    total: int = 0
    sentences: int = 0
    sentences_total: int = 0

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"stage must be one of {', '.join(STAGES)}, got {self.stage!r}")
        counts = (self.done, self.total, self.sentences, self.sentences_total)
        if min(counts) < 0 or self.done > self.total or self.sentences > self.sentences_total:
            raise ValueError(f"progress counts out of range: {counts}")


ProgressCallback = Callable[[BuildProgress], None]


def tell(on_progress: ProgressCallback | None, stage: str, **counts: int) -> None:
    """Call `on_progress` with a `BuildProgress(stage, **counts)`; nothing without a callback."""
    if on_progress is not None:
        on_progress(BuildProgress(stage, **counts))
