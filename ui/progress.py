"""The one progress display of a build in the Documents tab: what it does now, in words, and its summary.

A build started from the chat (add, remove, restore, re-scan) reports to a
`BuildTracker` through `qa.index.progress.BuildProgress` events; the page asks
for `tracker.html()` twice a second while its build runs and shows it in one
element, with Stop beside it:

    Adding 3 files · Embedding 2 of 3 documents · 1,234 of 4,840 sentences · about 40 s left

The time left is measured on this build: sentences embedded so far over the
time since embedding began (before the first group of sentences is done, the
speed of the previous build of this server, when there was one). At the end
the tracker holds a summary ("Done in 12 s: 3 added · …") until the session's
next build.
"""

from __future__ import annotations

import html
import math
import threading
import time

from qa.index.progress import EMBEDDING, LISTING, READING, WAITING, WRITING, BuildProgress

IDLE = '<div class="build idle">No build running.</div>'


def plural(n: int, word: str) -> str:
    """ "1 document", "4,840 sentences"."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def time_left(seconds: float) -> str:
    """An ETA a person reads: "a few seconds left", "about 40 s left", "about 3 min left"."""
    if seconds < 8:
        return "a few seconds left"
    if seconds < 90:
        return f"about {max(10, 5 * round(seconds / 5))} s left"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60)} min left"
    return f"about {seconds / 3600:.1f} h left"


def took(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 10 else f"{round(seconds)} s" if seconds < 120 else f"{seconds / 60:.0f} min"


class BuildTracker:
    """One build as the chat shows it: its last event, when embedding began (for the ETA), then its summary.

    Called with each `BuildProgress` from the build's thread; read from the page's poll. `doing` names
    the build ("Adding 3 files"); `rate` is a speed measured before (sentences a second), used until this
    build has measured its own.
    """

    def __init__(self, doing: str, rate: float | None = None, clock=time.monotonic) -> None:
        self.doing, self.prior_rate, self.clock = doing, rate, clock
        self.started = clock()
        self.event: BuildProgress | None = None
        self.at = self.started  # when `event` came
        self.embedding_from: float | None = None  # when the first group of sentences began
        self.embedded_from = 0
        self.loading = False
        self.summary: str | None = None
        self.ok = True
        self.removed: tuple[str, str, int] | None = None  # a removal's (entry name, document, chunks): "Restore"
        self._lock = threading.Lock()

    def __call__(self, event: BuildProgress) -> None:
        now = self.clock()
        with self._lock:
            if event.stage == EMBEDDING and self.embedding_from is None:
                self.embedding_from, self.embedded_from = now, event.sentences
            self.event, self.at = event, now

    def load(self) -> None:
        """The build is done; the chat is loading the new index."""
        self.loading = True

    def finish(self, summary: str, ok: bool = True) -> None:
        with self._lock:
            self.summary, self.ok = summary, ok

    @property
    def done(self) -> bool:
        return self.summary is not None

    def elapsed(self) -> float:
        return self.clock() - self.started

    def rate(self) -> float | None:
        """Sentences embedded a second by this build, once it has embedded a group; else None."""
        with self._lock:
            e = self.event
            if e is None or self.embedding_from is None or e.stage not in (EMBEDDING, WRITING):
                return None
            seconds, count = self.at - self.embedding_from, e.sentences - self.embedded_from
        return count / seconds if count > 0 and seconds > 0 else None

    def embedded(self) -> int:
        """Sentences this build has embedded so far."""
        e = self.event
        return e.sentences if e is not None and e.stage in (EMBEDDING, WRITING) else 0

    def eta(self) -> float | None:
        """Seconds until the sentences are embedded; None while there is nothing to measure it by."""
        with self._lock:
            e, at, began = self.event, self.at, self.embedding_from
        if e is None or e.stage != EMBEDDING or began is None:
            return None
        rate = self.rate() or self.prior_rate
        if not rate:
            return None
        measured = self.rate() is not None
        left = (e.sentences_total - e.sentences) / rate - (self.clock() - (at if measured else began))
        return max(left, 0.0)

    def words(self) -> str:
        """Where the build is, in words (without its name)."""
        if self.loading:
            return "Loading the new index"
        e = self.event
        if e is None:
            return "Starting"
        if e.stage == WAITING:
            return "Waiting for another build of this index to finish"
        if e.stage == LISTING:
            return "Looking for new and changed documents"
        if e.stage == READING:
            return f"Reading {min(e.done + 1, e.total)} of {plural(e.total, 'document')}"
        if e.stage == EMBEDDING:
            parts = [
                f"Embedding {min(e.done + 1, e.total)} of {plural(e.total, 'document')}",
                f"{e.sentences:,} of {plural(e.sentences_total, 'sentence')}",
            ]
            eta = self.eta()
            parts.append(time_left(eta) if eta is not None else "measuring the speed")
            return " · ".join(parts)
        embedded = f" · {plural(e.sentences, 'sentence')} embedded" if e.sentences else ""
        return "Writing the index" + embedded

    def fraction(self) -> float | None:
        """How far the embedding is (0-1); None when it cannot be said (then the bar moves without a value)."""
        e = self.event
        if self.loading or (e is not None and e.stage == WRITING):
            return 1.0
        if e is None or e.stage != EMBEDDING or not e.sentences_total:
            return None
        return e.sentences / e.sentences_total

    def html(self) -> str:
        """The progress element's content: the running build's line and bar, or its summary."""
        if self.done:
            kind = "done" if self.ok else "failed"
            return f'<div class="build {kind}" role="status">{self.summary}</div>'
        line = f"<strong>{html.escape(self.doing)}</strong> · {html.escape(self.words())}"
        fraction = self.fraction()
        value = "" if fraction is None else f' value="{math.floor(fraction * 1000)}"'
        return (
            f'<div class="build running" role="status"><div class="build-line">{line}</div>'
            f'<progress max="1000"{value} aria-label="build progress"></progress></div>'
        )


def summary(doing: str, seconds: float, changes: str, totals: str, embedded: int) -> str:
    """A finished build's line (HTML, from escaped parts): "Done in 12 s · 3 added · 4 documents, 62 chunks"."""
    parts = [f"<strong>{html.escape(doing)}: done in {took(seconds)}</strong>", changes or "no change", totals]
    parts[1:] = [html.escape(p) for p in parts[1:]]
    if embedded:
        parts.append(f"{plural(embedded, 'sentence')} embedded")
    return " · ".join(parts)
