"""Stage 1: find the documents in a corpus folder and read their text.

A document's text is its bytes decoded as UTF-8, nothing else changed, so that
character offsets into `Document.text` are offsets into the file as read by
`read_text(path)`.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from qa.errors import CorpusError

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md")
MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Document:
    """One readable corpus file. `path` is relative to the corpus folder, with '/'."""

    path: str
    text: str
    sha256: str


@dataclass(frozen=True)
class Skipped:
    """A corpus file that was left out, and why."""

    path: str
    reason: str


def read_text(path: str | Path) -> str:
    """The text of a corpus file exactly as offsets refer to it."""
    return Path(path).read_bytes().decode("utf-8")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _candidates(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in SUFFIXES)


def _read(path: Path, root: Path) -> Document | Skipped:
    rel = path.relative_to(root).as_posix()
    if any(part.startswith(".") for part in path.relative_to(root).parts):
        return Skipped(rel, "hidden file")
    if path.is_symlink() and not path.resolve().is_relative_to(root.resolve()):
        return Skipped(rel, "a link to a file outside the corpus folder")
    if not path.is_file():
        return Skipped(rel, "not a regular file")
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return Skipped(rel, f"larger than {MAX_BYTES // (1024 * 1024)} MB")
        data = path.read_bytes()
    except OSError as exc:
        return Skipped(rel, f"could not be read ({exc.strerror or exc})")
    if b"\x00" in data[:8192]:
        return Skipped(rel, "binary file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Skipped(rel, f"not UTF-8 text (bad byte at offset {exc.start})")
    if not text.strip():
        return Skipped(rel, "empty")
    return Document(path=rel, text=text, sha256=sha256_bytes(data))


def scan_corpus(corpus_dir: str | Path) -> tuple[list[Document], list[Skipped]]:
    """Read every .txt and .md file below `corpus_dir`; report the ones left out.

    Raises CorpusError when the folder does not exist. An empty result is not an
    error here; `load_corpus` makes it one.
    """
    root = Path(corpus_dir)
    if not root.is_dir():
        raise CorpusError(f"corpus folder not found: {root}")
    docs: list[Document] = []
    skipped: list[Skipped] = []
    for path in _candidates(root):
        item = _read(path, root)
        if isinstance(item, Skipped):
            log.warning("skipped %s: %s", item.path, item.reason)
            skipped.append(item)
        else:
            docs.append(item)
    return docs, skipped


def load_corpus(corpus_dir: str | Path) -> tuple[list[Document], list[Skipped]]:
    """Like `scan_corpus`, but a corpus without one readable document is an error."""
    docs, skipped = scan_corpus(corpus_dir)
    if not docs:
        detail = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:5])
        raise CorpusError(
            f"no readable .txt or .md document in {corpus_dir}"
            + (f" (skipped {detail})" if detail else "")
            + ". Add UTF-8 text files and run `qa index` again."
        )
    return docs, skipped
