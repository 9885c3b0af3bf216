"""What all the chat's sessions share: the loaded QA, swapped whole after each build, and what is known about it.

`SharedBot` holds the loaded `QA` (answers in flight finish on the old one when
a new index is loaded), each session's Stop (`ui.builds`) and build progress
(`ui.progress`), which index each session's page shows, the example questions
of each index, and a watch on the index and corpus folders (`ui.live`) so that
documents added or removed by the CLI or on disk are noticed within seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from qa.api import QA, corpus_of, default_qa, open_index, removed, reset_default
from qa.errors import QAError
from qa.index import read_manifest
from qa.threads import pin_threads
from ui.builds import Builds
from ui.examples import example_questions
from ui.live import Changes, Delta, delta, folder_changes, folder_stamp, manifest_stamp, then
from ui.progress import BuildTracker
from ui.render import escape, render_error

log = logging.getLogger(__name__)

WATCH_EVERY = 2.0  # seconds between two looks at the index and corpus folders, all sessions together
KEPT = 1000  # sessions whose build progress and shown index are remembered (the oldest are forgotten)
LOADS_KEPT = 32  # loads whose changes are remembered, to tell a page what changed since it last looked


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def describe(bot: QA, verb: str = "Index:") -> str:
    """The status line: what the loaded index holds."""
    m = bot.index.manifest
    return f"{verb} {totals(bot)} · model {escape(m.model)} · built {escape(m.built_at)}"


def totals(bot: QA) -> str:
    """ "4 documents, 62 chunks": what the loaded index holds."""
    m = bot.index.manifest
    documents = _plural(m.counts.get("documents", len(m.documents)), "document")
    return f"{documents}, {_plural(m.counts.get('chunks', len(bot.index.chunks)), 'chunk')}"


def explain(exc: Exception, doing: str) -> str:
    """A handler's message for an error: a QAError in its own words, anything else as a bug to look up."""
    if isinstance(exc, QAError):
        return render_error(exc)
    log.exception("could not %s", doing)
    return render_error(RuntimeError(f"could not {doing} ({type(exc).__name__}); see the server log"))


@dataclass(frozen=True)
class Watched:
    """What the last look found: the loaded index's build, files of the corpus folder it does not match,
    and why the index on disk could not be loaded ("" when it could)."""

    build_id: str
    folder: Changes = field(default_factory=Changes)
    problem: str = ""


class _Recent(OrderedDict):
    """A dict that forgets its oldest entries past `KEPT` (`put` from any thread)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def put(self, key, value) -> None:
        with self._lock:
            self[key] = value
            self.move_to_end(key)
            while len(self) > KEPT:
                self.popitem(last=False)


class SharedBot:
    """The loaded QA shared by all sessions, and what the chat knows about it (module doc)."""

    def __init__(self, factory: Callable[[], QA], every: float = WATCH_EVERY, clock=time.monotonic) -> None:
        self.factory, self.bot, self.lock = factory, None, threading.Lock()
        self.reloading = threading.Lock()
        self.builds = Builds()
        self.trackers: _Recent = _Recent()  # session -> its latest BuildTracker
        self.shown: _Recent = _Recent()  # session -> (build_id, folder changes) its page shows
        self.rate: float | None = None  # sentences embedded a second by the last build that measured it
        self.every, self.clock = every, clock
        self._loads: OrderedDict[str, tuple[str, Delta]] = OrderedDict()  # build_id -> (previous build_id, delta)
        self._recent: tuple[str, ...] = ()  # documents added or changed by the last load: examples come first from them
        self._examples: tuple[str, list[str]] | None = None
        self._examples_lock = threading.Lock()
        self._watch_lock = threading.Lock()
        self._looked = -float("inf")
        self._folder_every, self._folder_looked = every, -float("inf")
        self._stamps: tuple = (None, None)  # the manifest's and the corpus folder's, at the last look
        self.watched: Watched | None = None

    def get(self) -> QA:
        with self.lock:
            if self.bot is None:
                self.bot = self.factory()
                pin_threads(1)  # one thread answers a query many times faster than two fighting
            return self.bot

    def build_id(self) -> str:
        return self.get().index.manifest.build_id

    def reload(self) -> tuple[QA, Changes]:
        """Load the index as the last build left it, and what changed against the one loaded before.

        Not checked against the corpus: another build may have changed the corpus since, and its own
        reload brings that in. One reload at a time, so the newest index on disk is the one kept.
        """
        with self.reloading:
            old = self.get()
            index = open_index(old.index.path)  # FAISS files, or the Milvus store the manifest names
            new = QA(index, old.embedder, old.settings, old.calibration, old.reader, old.ranker, old.glossary)
            with self.lock:
                self.bot = new
            before, after = old.index.manifest, new.index.manifest
            d = delta(before.documents, after.documents) if before.build_id != after.build_id else {}
            if before.build_id != after.build_id:
                self._loads[after.build_id] = (before.build_id, d)
                while len(self._loads) > LOADS_KEPT:
                    self._loads.popitem(last=False)
                changes = Changes.of(d)
                if changes.added or changes.changed:
                    self._recent = changes.added + changes.changed
        if self.factory is default_qa:
            reset_default()  # the cached default still holds the old index
        return new, Changes.of(d)

    def changes_since(self, build_id: str | None) -> Changes | None:
        """What the loaded index changed since `build_id` was loaded; None when that is not remembered."""
        current = self.build_id()
        d: Delta = {}
        steps = []
        while current != build_id:
            if current not in self._loads:
                return None
            previous, step = self._loads[current]
            steps.append(step)
            current = previous
        for step in reversed(steps):
            d = then(d, step)
        return Changes.of(d)

    def paths(self):
        bot = self.get()
        return corpus_of(bot.index.manifest, bot.index.path), bot.index.path, bot.embedder

    def documents(self) -> list[str]:
        """The documents the index on disk has now (another session may have added some)."""
        return sorted(read_manifest(self.get().index.path).seen())

    def chunks_of(self, name: str) -> int | None:
        """How many chunks the index on disk has of a document (None when it does not have it)."""
        segment = read_manifest(self.get().index.path).segments.get(name)
        return None if segment is None else int(segment.get("chunks", 0))

    def removed(self) -> list[tuple[str, str]]:
        """The removed documents that can be restored, as (label, name) choices, newest first."""
        entries = removed(self.get().index.path)
        return [(f"{e.path} · removed {e.removed_at[:19].replace('T', ' ')}", e.name) for e in entries]

    def original_of(self, name: str) -> str:
        """The document a removed entry held (its path when removed); `name` itself when unknown."""
        return next((e.path for e in removed(self.get().index.path) if e.name == name), name)

    def examples(self, n: int) -> list[str]:
        """Up to `n` example questions about the loaded index, the documents it added last first (made once
        per index)."""
        bot = self.get()
        with self._examples_lock:
            if self._examples is None or self._examples[0] != bot.index.manifest.build_id:
                recent = [d for d in self._recent if d in bot.index.manifest.documents]
                self._examples = bot.index.manifest.build_id, example_questions(bot, n, first=recent)
            return list(self._examples[1])

    def track(self, session: str, doing: str) -> BuildTracker:
        """A new tracker for `session`'s build, told the speed of the last build for its first estimate."""
        tracker = BuildTracker(doing, rate=self.rate)
        self.trackers.put(session, tracker)
        return tracker

    def finished(self, tracker: BuildTracker) -> None:
        self.rate = tracker.rate() or self.rate

    def look(self, force: bool = False) -> Watched:
        """Look at the index and corpus folders, at most every `every` seconds (all sessions together):
        load the index again when a build (the CLI's too) replaced its manifest, and find files of the
        corpus folder the index does not match. Skipped while a build of this server runs, unless `force`
        (after a build: what it left)."""
        if not self._watch_lock.acquire(blocking=force):
            return self.watched or Watched(self.build_id())
        try:
            now = self.clock()
            wait = now - self._looked < self.every or self.builds.busy()
            if self.watched is not None and wait and not force:
                return self.watched
            self._looked = now
            self.watched = self._look(force)
            return self.watched
        finally:
            self._watch_lock.release()

    def _look(self, force: bool) -> Watched:
        bot = self.get()
        corpus_dir, index_dir, _ = self.paths()
        old_manifest, old_folder = self._stamps
        stamp, problem = manifest_stamp(index_dir), self.watched.problem if self.watched else ""
        if stamp != old_manifest:
            try:
                if stamp is not None and read_manifest(index_dir).build_id != bot.index.manifest.build_id:
                    bot, _ = self.reload()
                problem = ""
            except Exception as exc:  # a model that does not match, a damaged file: say so, keep the loaded index
                problem = explain(exc, "load the index again")
        listing, started = old_folder, self.clock()
        if force or started - self._folder_looked >= self._folder_every:
            listing = folder_stamp(corpus_dir)
            # a big folder is listed less often: the listing takes at most a twentieth of the time
            self._folder_looked, self._folder_every = started, max(self.every, 20 * (self.clock() - started))
        folder = self.watched.folder if self.watched else Changes()
        if listing != old_folder or stamp != old_manifest:
            try:
                folder = folder_changes(corpus_dir, bot.index.manifest)
            except QAError as exc:
                problem = problem or render_error(exc)
        self._stamps = (stamp, listing)
        return Watched(bot.index.manifest.build_id, folder, problem)
