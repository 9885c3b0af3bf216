"""What reading one file may cost (`ReadLimits`, `Deadline`), and the error a reader raises past it.

Shared by `qa.ingest.formats` and the readers it calls (`docx_text`, `html_layout`), which
import it from here, not from `formats`, so that no reader imports its caller.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from qa.errors import ConfigError, CorpusError

MAX_MB_DEFAULT = 50
READ_SECONDS_DEFAULT = 120
MB = 1024 * 1024


class FormatError(ValueError):
    """The file is not readable as its format says, or reading it would cost more than its limits allow."""


def max_bytes() -> int:
    """The largest file read, from $QA_MAX_FILE_MB (default 50)."""
    value = os.environ.get("QA_MAX_FILE_MB", str(MAX_MB_DEFAULT))
    try:
        mb = float(value)
    except ValueError:
        raise CorpusError(f"QA_MAX_FILE_MB must be a number of megabytes, got {value!r}") from None
    return int(mb * MB)


def size_text(n: int) -> str:
    """A byte count for people: '1.5 GB', '200 MB', '12 KB'."""
    for unit, size in (("GB", MB * 1024), ("MB", MB), ("KB", 1024)):
        if n >= size:
            value = n / size
            return f"{value:.1f} {unit}" if value < 10 else f"{value:,.0f} {unit}"
    return f"{n} bytes"


@dataclass(frozen=True)
class ReadLimits:
    """What reading one file may cost.

    `max_bytes` is the file-size limit ($QA_MAX_FILE_MB), and also the most
    text one document may yield; a Word file may unpack to `expansion` times
    it; `seconds` bounds reading a PDF or Word file ($QA_MAX_READ_SECONDS);
    `pdf_pages`, `html_elements` and `zip_members` bound the parts of a file.
    """

    max_bytes: int
    expansion: int = 4
    seconds: float = READ_SECONDS_DEFAULT
    pdf_pages: int = 10_000
    html_elements: int = 100_000
    zip_members: int = 10_000

    def __post_init__(self) -> None:
        for name in ("max_bytes", "expansion", "pdf_pages", "html_elements", "zip_members"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.seconds, (int, float)) or not self.seconds > 0:
            raise ConfigError(f"read time limit must be a positive number of seconds, got {self.seconds!r}")

    @classmethod
    def from_env(cls) -> ReadLimits:
        value = os.environ.get("QA_MAX_READ_SECONDS", str(READ_SECONDS_DEFAULT))
        try:
            seconds = float(value)
        except ValueError:
            raise ConfigError(f"QA_MAX_READ_SECONDS must be a number of seconds, got {value!r}") from None
        return cls(max_bytes=max_bytes(), seconds=seconds)

    @property
    def unpacked_bytes(self) -> int:
        """The most a compressed file may unpack to."""
        return self.expansion * self.max_bytes

    def check_text(self, chars: int) -> None:
        if chars > self.max_bytes:
            raise FormatError(
                f"its text is over {size_text(self.max_bytes)}, the most a document may hold (QA_MAX_FILE_MB)"
            )


class Deadline:
    """The moment a reader must give up; `check()` raises FormatError once it has passed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def check(self, *_ignored) -> None:
        if time.monotonic() > self.end:
            raise FormatError(f"reading it took more than {self.seconds:g} s (QA_MAX_READ_SECONDS)")
