"""Stop flags per client session: a Stop stops the builds its own session started, and no one else's.

Each chat page (and each `gradio_client.Client`) is one Gradio session. A build
(add, remove, restore, re-scan) runs under its session's flag; Stop sets the
flag of the caller's session only. A Stop that comes before the build has
started (files still uploading, or the build waiting in the queue) is kept for
`grace` seconds and stops that session's next build as it starts, so it is
never lost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

STOP_GRACE = 60.0  # seconds a Stop waits for its session's build to start


@dataclass
class _Flag:
    cancel: threading.Event = field(default_factory=threading.Event)
    running: int = 0
    stopped_at: float | None = None  # when a Stop came while nothing of the session's was running


class Builds:
    """The cancel flag of each session's running builds, and Stops still waiting for one."""

    def __init__(self, grace: float = STOP_GRACE, clock=time.monotonic) -> None:
        self.grace, self.clock = grace, clock
        self._flags: dict[str, _Flag] = {}
        self._lock = threading.Lock()

    @contextmanager
    def running(self, session: str) -> Iterator[threading.Event]:
        """Run a build for `session`; yields the flag that its Stop sets (set already when a Stop came first)."""
        with self._lock:
            flag = self._flags.get(session)
            waiting = flag is not None and flag.stopped_at is not None
            if flag is None or (waiting and self.clock() - flag.stopped_at > self.grace):
                flag = self._flags[session] = _Flag()
            flag.running += 1
        try:
            yield flag.cancel
        finally:
            with self._lock:
                flag.running -= 1
                if flag.running == 0 and self._flags.get(session) is flag:
                    del self._flags[session]

    def stop(self, session: str) -> str:
        """Stop `session`'s builds (or its next one, within `grace` seconds); what was done, in words."""
        with self._lock:
            now = self.clock()
            for s, f in list(self._flags.items()):  # Stops that waited in vain: forgotten
                if not f.running and f.stopped_at is not None and now - f.stopped_at > self.grace:
                    del self._flags[s]
            flag = self._flags.get(session)
            others = sum(f.running for s, f in self._flags.items() if s != session)
            if flag is not None and flag.running:
                flag.cancel.set()
                return "Stopping your build after the documents being embedded now…"
            flag = self._flags[session] = _Flag(stopped_at=now)
            flag.cancel.set()
        note = f" ({others} build{'s' if others != 1 else ''} of other users running: Stop leaves those alone)"
        return (
            f"Stopping: nothing of yours is being built yet; your next build, if it starts within "
            f"{self.grace:g} s (files still uploading, or waiting in line), stops before it embeds anything."
            + (note if others else "")
        )

    def running_in(self, session: str) -> bool:
        """Whether a build of `session` is running now."""
        with self._lock:
            flag = self._flags.get(session)
            return flag is not None and flag.running > 0

    def busy(self) -> int:
        """How many builds are running now, all sessions together."""
        with self._lock:
            return sum(f.running for f in self._flags.values())
