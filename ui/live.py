"""Noticing what changed outside the chat: the index rebuilt by `qa add`, `qa remove` or `qa index`, or files
put into or taken out of the corpus folder by hand.

Both checks are cheap enough to run every few seconds: the manifest is looked
at with one `stat` (a build replaces it whole, so a new build is a new file),
the corpus folder with one `stat` per file of a readable kind. Only when a
folder's listing changed is it compared, by hash, with what the index holds
(`qa.ingest.documents.list_corpus` hashes a file again only when it changed).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from qa.index import MANIFEST, Manifest
from qa.ingest.documents import list_corpus
from qa.ingest.formats import format_of

Delta = dict[str, tuple[str | None, str | None]]  # path -> (hash before, hash after); None: not there


def delta(before: Mapping[str, str], after: Mapping[str, str]) -> Delta:
    """The paths whose hash differs between two {path: sha256} maps, with both hashes."""
    return {p: (before.get(p), after.get(p)) for p in set(before) | set(after) if before.get(p) != after.get(p)}


def then(first: Delta, second: Delta) -> Delta:
    """`first` followed by `second`, as one delta (a path added then removed drops out)."""
    out = dict(first)
    for path, (was, now) in second.items():
        start = first[path][0] if path in first else was
        if start == now:
            out.pop(path, None)
        else:
            out[path] = (start, now)
    return out


@dataclass(frozen=True)
class Changes:
    """Documents that differ between two states, by path (sorted): added, changed, removed."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @classmethod
    def of(cls, d: Delta) -> Changes:
        added = tuple(sorted(p for p, (was, now) in d.items() if was is None))
        removed = tuple(sorted(p for p, (was, now) in d.items() if now is None))
        changed = tuple(sorted(p for p, (was, now) in d.items() if was is not None and now is not None))
        return cls(added, changed, removed)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def __or__(self, other: Changes) -> Changes:
        pairs = zip((self.added, self.changed, self.removed), (other.added, other.changed, other.removed), strict=True)
        return Changes(*(tuple(sorted(set(a) | set(b))) for a, b in pairs))

    def counts(self, labels: tuple[str, str, str] = ("added", "changed", "removed")) -> str:
        """ "2 added, 1 removed"; "" when nothing changed."""
        groups = zip(labels, (self.added, self.changed, self.removed), strict=True)
        return ", ".join(f"{len(paths)} {label}" for label, paths in groups if paths)

    def words(self, labels: tuple[str, str, str] = ("added", "changed", "removed"), names: int = 3) -> str:
        """ "1 added (notes.txt), 2 removed (a.txt, b.txt)": counts with the first few names (not escaped)."""
        out = []
        for label, paths in zip(labels, (self.added, self.changed, self.removed), strict=True):
            if paths:
                shown = ", ".join(paths[:names]) + (", …" if len(paths) > names else "")
                out.append(f"{len(paths)} {label} ({shown})")
        return ", ".join(out)


def manifest_stamp(index_dir: Path) -> tuple | None:
    """What identifies the manifest file now (None when there is none): a build writes a new one."""
    try:
        st = os.stat(Path(index_dir) / MANIFEST)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def folder_stamp(corpus_dir: Path) -> tuple:
    """What identifies the corpus folder's listing now: every readable-kind file's path, size and time."""
    out = []
    root = Path(corpus_dir)
    if not root.is_dir():
        return ()
    for path in root.rglob("*"):
        if format_of(path.name):
            try:
                st = path.stat()
            except OSError:
                continue
            out.append((path.relative_to(root).as_posix(), st.st_size, st.st_mtime_ns))
    return tuple(sorted(out))


def folder_changes(corpus_dir: Path, manifest: Manifest) -> Changes:
    """Files of the corpus folder that the index does not match: new, changed, deleted (by hash)."""
    if not Path(corpus_dir).is_dir():
        return Changes()
    listed, _ = list_corpus(corpus_dir)
    return Changes.of(delta(manifest.seen(), {s.path: s.sha256 for s in listed}))


FOLDER_LABELS = ("new", "changed", "deleted")
