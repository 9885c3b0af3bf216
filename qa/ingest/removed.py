"""Removed documents, kept so that a removal can be undone: every removed version, never overwritten.

A removed document's bytes go to the removed folder (`<index>/removed/`) under
a name made of its content hash and its original relative path,
`<sha256[:16]>-<path, %-quoted>` (`3fa2c1d9e0b4a7f1-a%2Fnotes.txt`), with a
record beside it (`<name>.json`: the path, the full hash, the size and when it
was removed). Two documents of the same file name in different folders, or one
document changed and removed again within the same second, get different names;
the same bytes from the same path removed twice are one entry (nothing differs).

The file is first claimed by renaming it out of the corpus (atomic: of two
removals racing for one document, one wins), then written under its name and
recorded; a crash part-way leaves the bytes in the removed folder under
`.claim-…`, never nowhere. `restore` puts the bytes back at the original path
(or a free name beside it when that is taken), checks them against the record's
hash, and then drops the entry.

Entries left by earlier versions (`<YYYYmmddTHHMMSS>-<file name>`, no record)
are listed and restored too, to the corpus folder's top level.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from qa.errors import UploadError
from qa.ingest.documents import sha256_bytes

RECORD = ".json"
MAX_NAME_BYTES = 240  # file names stay under the usual 255-byte limit, record suffix included
_LEGACY = re.compile(r"^(\d{8}T\d{6})-(.+)$")


@dataclass(frozen=True)
class Removed:
    """One removed version of a document: `name` in the removed folder, where it came from, and when."""

    name: str
    path: str  # its path relative to the corpus folder when it was removed
    sha256: str
    size: int
    removed_at: str  # UTC, ISO 8601 to the microsecond; local time to the second for an earlier version's entry

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "path": self.path,
            "sha256": self.sha256,
            "size": self.size,
            "removed_at": self.removed_at,
        }


@dataclass(frozen=True)
class Restored:
    """A removed document put back: the entry's `name`, the `path` it went to (relative to the corpus)
    and the path it was removed from (`original`: the same unless that name was taken)."""

    name: str
    path: str
    original: str
    sha256: str


def entry_name(sha256: str, path: str) -> str:
    """The removed folder's name for these bytes from this path: unique per (content, path), readable."""
    name = f"{sha256[:16]}-{quote(path, safe=' ()._-,+@=~')}"
    if len((name + RECORD).encode()) <= MAX_NAME_BYTES:
        return name
    tail = quote(path.rsplit("/", 1)[-1], safe=" ()._-,+@=~")[-100:]
    return f"{sha256[:16]}-{sha256_bytes(path.encode())[:16]}-{tail}"


def _write_whole(path: Path, data: bytes) -> None:
    """Write under a temporary name, then rename: a reader sees all of the file or none of it."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # sorts in the order of removal


def keep(source: Path, path: str, removed_dir: Path) -> Removed:
    """Move the file `source` (the corpus document `path`) into the removed folder; its entry."""
    removed_dir.mkdir(parents=True, exist_ok=True)
    claim = removed_dir / f".claim-{uuid.uuid4().hex}"
    try:
        os.rename(source, claim)  # atomic on one file system: the corpus no longer has it
    except FileNotFoundError:
        raise UploadError(f"no document named {path!r} in the corpus") from None
    except OSError:  # another file system: copy, then take it out of the corpus
        shutil.copy2(source, claim)
        source.unlink()
    if claim.is_symlink():  # keep what it pointed to, as a file
        try:
            data = claim.read_bytes()
        except OSError:
            data = b""
        name = entry_name(sha256_bytes(data), path)
        _write_whole(removed_dir / name, data)
        claim.unlink()
    else:
        data = claim.read_bytes()
        name = entry_name(sha256_bytes(data), path)
        os.replace(claim, removed_dir / name)
    digest = sha256_bytes(data)
    entry = Removed(name, path, digest, len(data), _now())
    _write_whole(removed_dir / (name + RECORD), json.dumps(entry.to_dict(), ensure_ascii=False, indent=1).encode())
    return entry


def list_removed(removed_dir: Path) -> list[Removed]:
    """Every removed version that can be restored, the most recently removed first."""
    if not removed_dir.is_dir():
        return []
    out = []
    for file in removed_dir.iterdir():
        if file.name.startswith(".") or file.name.endswith(RECORD) or not file.is_file():
            continue
        out.append(_entry(removed_dir, file.name))
    return sorted(out, key=lambda e: (e.removed_at, e.name), reverse=True)


def _entry(removed_dir: Path, name: str) -> Removed:
    record = removed_dir / (name + RECORD)
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
        return Removed(name, data["path"], data["sha256"], int(data["size"]), data.get("removed_at", ""))
    except (OSError, ValueError, KeyError, TypeError):
        legacy = _LEGACY.match(name)
        when = ""
        if legacy:
            t = time.strptime(legacy.group(1), "%Y%m%dT%H%M%S")
            when = time.strftime("%Y-%m-%dT%H:%M:%S", t)  # local time, as it was written
        size = (removed_dir / name).stat().st_size
        return Removed(name, legacy.group(2) if legacy else name, "", size, when)


def find(removed_dir: Path, name: str) -> Removed:
    """The entry called `name`, or the most recently removed version of the document whose path is `name`."""
    entries = list_removed(removed_dir)
    for entry in entries:
        if entry.name == name:
            return entry
    for entry in entries:  # newest first
        if entry.path == name:
            return entry
    raise UploadError(f"nothing removed is called {name!r}; `qa removed` lists what can be restored")


def _safe_path(path: str) -> str:
    rel = Path(os.path.normpath(path.replace("\\", "/")))
    if not path.strip() or rel.is_absolute() or rel.parts[:1] in (("..",), (".",)):
        raise UploadError(f"the removed document's path {path!r} is not inside a corpus")
    return rel.as_posix()


def _free_path(root: Path, rel: str) -> str:
    if not (root / rel).exists():
        return rel
    folder, _, base = rel.rpartition("/")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    n = 2
    while True:
        candidate = f"{stem} ({n})" + (f".{suffix}" if suffix else "")
        candidate = f"{folder}/{candidate}" if folder else candidate
        if not (root / candidate).exists():
            return candidate
        n += 1


def restore(removed_dir: Path, name: str, corpus_dir: Path, in_corpus: dict[str, str]) -> Restored:
    """Put the removed version `name` back into the corpus; `in_corpus` maps the corpus's hashes to paths.

    Its original path is used unless a file is there already (then " (2)"...). Refused when the
    same bytes are in the corpus already, or when they no longer match their record.
    """
    entry = find(removed_dir, name)
    claim = removed_dir / f".restoring-{uuid.uuid4().hex}"
    try:
        os.rename(removed_dir / entry.name, claim)  # of two restores racing for one entry, one wins
    except FileNotFoundError:
        raise UploadError(f"{entry.name!r} was restored already") from None
    try:
        rel, digest = _put_back(claim, entry, corpus_dir, in_corpus)
    except BaseException:
        os.rename(claim, removed_dir / entry.name)
        raise
    claim.unlink()
    (removed_dir / (entry.name + RECORD)).unlink(missing_ok=True)
    return Restored(entry.name, rel, entry.path, digest)


def _put_back(source: Path, entry: Removed, corpus_dir: Path, in_corpus: dict[str, str]) -> tuple[str, str]:
    data = source.read_bytes()
    digest = sha256_bytes(data)
    if entry.sha256 and digest != entry.sha256:
        raise UploadError(f"the removed copy {entry.name!r} is damaged (its hash differs from its record)")
    if digest in in_corpus:
        raise UploadError(f"{entry.path!r} is in the corpus already, as {in_corpus[digest]}")
    rel = _safe_path(entry.path)
    target_dir = (corpus_dir / rel).parent
    target_dir.mkdir(parents=True, exist_ok=True)
    tmp = target_dir / f".restore-{uuid.uuid4().hex}.part"
    tmp.write_bytes(data)
    try:
        while True:  # a name taken between the look and the link gets the next free one
            rel = _free_path(corpus_dir, rel)
            try:
                os.link(tmp, corpus_dir / rel)  # never replaces a file
                return rel, digest
            except FileExistsError:
                continue
    finally:
        tmp.unlink(missing_ok=True)
