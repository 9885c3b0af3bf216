"""Find the documents in a corpus folder and read their text.

Two steps, so that checking an index against its folder stays cheap:
`list_corpus` finds the files a corpus holds and hashes them (streamed, in
bounded memory), and `read_document` turns one file into the `Document` the
index quotes from (`qa.ingest.formats`: plain text as is, HTML, PDF and Word through
their libraries). Character offsets into `Document.text` are offsets into the
text that `read_text(path)` gives for the file, always the same.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

from qa.errors import CorpusError
from qa.ingest.blocks import Block
from qa.ingest.formats import FORMATS, format_of, read_bytes
from qa.ingest.limits import FormatError, ReadLimits, max_bytes

log = logging.getLogger(__name__)

SUFFIXES = tuple(FORMATS)
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")


@dataclass(frozen=True)
class SourceFile:
    """A file of the corpus that looks readable: its path (relative, with '/'), hash, size and format."""

    path: str
    sha256: str
    size: int
    format: str


@dataclass(frozen=True)
class Document:
    """One readable corpus file. `path` is relative to the corpus folder, with '/'.

    `pages` holds the offset in `text` where each page starts (PDF only); `blocks` the kind and place of
    each piece of the text, for the formats read with their structure (`qa.ingest.blocks`).
    """

    path: str
    text: str
    sha256: str
    format: str = "text"
    pages: tuple[int, ...] = ()
    blocks: tuple[Block, ...] = ()

    def page_at(self, offset: int) -> int | None:
        return page_at(self.pages, offset)


def page_at(pages: tuple[int, ...] | list[int], offset: int) -> int | None:
    """The 1-based page holding `offset`, given the page start offsets; None without pages."""
    return bisect_right(pages, offset) if pages else None


@dataclass(frozen=True)
class Skipped:
    """A corpus file that was left out, and why."""

    path: str
    reason: str
    sha256: str = ""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_HASHED: dict[tuple, str] = {}  # (file, device, inode, size, mtime, ctime) -> SHA-256, for files hashed here
_HASHED_MAX = 200_000
_RACY_NS = 2_000_000_000  # a file changed less than this long ago is hashed every time (timestamps are coarse)


def sha256_file(path: Path) -> str:
    """The file's SHA-256, streamed; a file unchanged since this process hashed it is not read again.

    "Unchanged" means the same file (device and inode), size, modification and
    status-change times: `qa add` lists the corpus to refuse duplicates and then
    again to index, and the chat re-scans the same folder, without hashing every
    document twice. As in git, a file changed in the last 2 seconds is never taken
    from memory: two writes within one clock tick can leave the same timestamps.
    """
    st = path.stat()
    key = (str(path.resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if key in _HASHED:
        return _HASHED[key]
    with path.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > _RACY_NS:
        if len(_HASHED) >= _HASHED_MAX:
            _HASHED.clear()
        _HASHED[key] = digest
    return digest


def _size_limit_reason(size: int, limit: int) -> str:
    return f"{size / 1024 / 1024:,.0f} MB, larger than the {limit / 1024 / 1024:g} MB limit (QA_MAX_FILE_MB)"


def _check(path: Path, root: Path, limit: int) -> SourceFile | Skipped:
    rel = path.relative_to(root).as_posix()
    if any(part.startswith(".") for part in path.relative_to(root).parts):
        return Skipped(rel, "hidden file")
    if path.is_symlink() and not path.resolve().is_relative_to(root.resolve()):
        return Skipped(rel, "a link to a file outside the corpus folder")
    try:
        if not path.is_file():
            return Skipped(rel, "not a regular file")
        size = path.stat().st_size
        if size > limit:
            return Skipped(rel, _size_limit_reason(size, limit))
        if size == 0:
            return Skipped(rel, "empty")
        digest = sha256_file(path)
    except OSError as exc:
        return Skipped(rel, f"could not be read ({exc.strerror or exc})")
    return SourceFile(rel, digest, size, format_of(path.name) or "text")


def list_corpus(corpus_dir: str | Path) -> tuple[list[SourceFile], list[Skipped]]:
    """The files of a corpus folder that can be read, hashed; and the ones left out, with why.

    Raises CorpusError when the folder does not exist.
    """
    root = Path(corpus_dir)
    if not root.is_dir():
        raise CorpusError(f"corpus folder not found: {root}")
    limit = max_bytes()
    ReadLimits.from_env()  # a bad QA_MAX_READ_SECONDS is an error here, before any file, not a skip per file
    found: list[SourceFile] = []
    skipped: list[Skipped] = []
    for path in sorted(p for p in root.rglob("*") if format_of(p.name)):
        item = _check(path, root, limit)
        (skipped if isinstance(item, Skipped) else found).append(item)
    for s in skipped:
        log.warning("skipped %s: %s", s.path, s.reason)
    return found, skipped


def read_document(corpus_dir: str | Path, source: SourceFile) -> Document | Skipped:
    """Read one listed file into a Document; Skipped (with its hash) when it has no usable text."""
    path = Path(corpus_dir) / source.path
    try:
        data = path.read_bytes()
    except OSError as exc:  # gone or unreadable since it was listed
        return Skipped(source.path, f"could not be read ({exc.strerror or exc})")
    digest = sha256_bytes(data)
    if len(data) > max_bytes():
        return Skipped(source.path, _size_limit_reason(len(data), max_bytes()), digest)
    try:
        got = read_bytes(data, source.format)
    except FormatError as exc:
        return Skipped(source.path, str(exc), digest)
    except Exception as exc:  # a library failing on a damaged file: name the file, keep going
        log.exception("could not read %s", source.path)
        return Skipped(source.path, f"could not be read as {source.format} ({type(exc).__name__}: {exc})", digest)
    reason = no_text_reason(got.text, source.format)
    if reason:
        return Skipped(source.path, reason, digest)
    return Document(source.path, got.text, digest, source.format, got.pages, got.blocks)


def no_text_reason(text: str, fmt: str) -> str:
    """Why a document's text gives nothing to answer from ('' when it does): blank, or no letter or digit in it."""
    if not text.strip():
        return "no text layer (a scanned PDF?)" if fmt == "pdf" else "empty"
    if not _LETTER_OR_DIGIT.search(text):
        return "no answerable text: not one letter or digit in it"
    return ""


def read_text(path: str | Path) -> str:
    """The text of a corpus file exactly as offsets refer to it."""
    path = Path(path)
    fmt = format_of(path.name) or "text"
    return read_bytes(path.read_bytes(), fmt).text


def scan_corpus(corpus_dir: str | Path) -> tuple[list[Document], list[Skipped]]:
    """Read every document below `corpus_dir`; report the ones left out.

    An empty result is not an error here; `load_corpus` makes it one.
    """
    found, skipped = list_corpus(corpus_dir)
    docs, unreadable = read_documents(corpus_dir, found)
    return docs, sorted(skipped + unreadable, key=lambda s: s.path)


def read_documents(corpus_dir: str | Path, sources: list[SourceFile]) -> tuple[list[Document], list[Skipped]]:
    """Read listed files into Documents; the ones without usable text are Skipped, with why."""
    docs: list[Document] = []
    skipped: list[Skipped] = []
    for source in sources:
        item = read_document(corpus_dir, source)
        if isinstance(item, Skipped):
            log.warning("skipped %s: %s", item.path, item.reason)
            skipped.append(item)
        else:
            docs.append(item)
    return docs, skipped


def no_documents_error(corpus_dir: str | Path, skipped: list[Skipped]) -> CorpusError:
    detail = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:5])
    kinds = ", ".join(sorted(set(FORMATS)))
    return CorpusError(
        f"no readable document ({kinds}) in {corpus_dir}"
        + (f" (skipped {detail})" if detail else "")
        + ". Add documents and run `qa index` again."
    )


def load_corpus(corpus_dir: str | Path) -> tuple[list[Document], list[Skipped]]:
    """Like `scan_corpus`, but a corpus without one readable document is an error."""
    docs, skipped = scan_corpus(corpus_dir)
    if not docs:
        raise no_documents_error(corpus_dir, skipped)
    return docs, skipped
