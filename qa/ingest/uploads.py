"""Adding files to a corpus folder and taking them out again, safely.

An added file must have a known suffix, fit the size limit and hold readable
text (it is read once here, so a broken PDF is refused instead of copied). Its
name is cleaned: no folders, no leading dots, only letters, digits, spaces and
`._-()`; a name already taken by another document gets " (2)", " (3)"... unless
`replace=True`; a file whose bytes are already in the corpus is refused as a
duplicate, naming the document it repeats. A removed document is moved to the
removed folder beside the index (`qa.ingest.removed`: every removed version is kept,
with a record of where it came from), so a slip can be undone with `restore`.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from qa.errors import UploadError
from qa.ingest.documents import list_corpus, max_bytes, no_text_reason, sha256_bytes
from qa.ingest.formats import FORMATS, FormatError, format_of, read_bytes
from qa.ingest.removed import Removed, keep

MAX_FILES = 100
MAX_NAME = 120


@dataclass(frozen=True)
class Added:
    """What became of one file offered to the corpus: `status` is "added", "replaced" or "refused"."""

    name: str  # the name as offered
    status: str
    path: str = ""  # where it went, relative to the corpus folder
    reason: str = ""


def clean_name(name: str) -> str:
    """A safe file name for the corpus from whatever a browser or a user sent."""
    base = unicodedata.normalize("NFC", str(name)).replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable())
    base = re.sub(r"[^\w .()\-]", "_", base).strip(" .")
    base = re.sub(r"\s+", " ", base).lstrip("._-")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem[: MAX_NAME - len(suffix) - 1].rstrip(" .") or "document"
    return f"{stem}.{suffix.lower()}" if suffix else stem


def _free_name(root: Path, name: str) -> str:
    if not (root / name).exists():
        return name
    stem, _, suffix = name.rpartition(".")
    n = 2
    while (root / f"{stem} ({n}).{suffix}").exists():
        n += 1
    return f"{stem} ({n}).{suffix}"


def _refuse(name: str, reason: str) -> Added:
    return Added(name, "refused", reason=reason)


def add_files(corpus_dir: str | Path, files: list[str | Path], *, names: list[str] | None = None, replace=False):
    """Copy `files` into the corpus folder; one `Added` per file, in order. Nothing else is changed.

    `names` gives the names to use (an upload's original names) when the files
    themselves have temporary names.
    """
    root = Path(corpus_dir)
    if not root.is_dir():
        raise UploadError(f"corpus folder not found: {root}")
    if len(files) > MAX_FILES:
        raise UploadError(f"{len(files)} files at once; add at most {MAX_FILES} at a time")
    names = list(names) if names is not None else [Path(f).name for f in files]
    listed, _ = list_corpus(root)
    by_hash = {s.sha256: s.path for s in listed}
    out: list[Added] = []
    for file, offered in zip(files, names, strict=True):
        name = clean_name(offered)
        fmt = format_of(name)
        if fmt is None:
            out.append(_refuse(offered, f"not a supported type (use {', '.join(sorted(FORMATS))})"))
            continue
        try:
            size = os.stat(file).st_size
            if size > max_bytes():
                out.append(_refuse(offered, f"larger than the {max_bytes() / 1024 / 1024:g} MB limit"))
                continue
            data = Path(file).read_bytes()
        except OSError as exc:
            out.append(_refuse(offered, f"could not be read ({exc.strerror or exc})"))
            continue
        digest = sha256_bytes(data)
        if digest in by_hash:
            out.append(_refuse(offered, f"the same file is already in the corpus as {by_hash[digest]}"))
            continue
        try:
            text = read_bytes(data, fmt).text
            if not text.strip():
                out.append(_refuse(offered, "no text in it" + (" (a scanned PDF?)" if fmt == "pdf" else "")))
                continue
            if no_text_reason(text, fmt):  # only punctuation or symbols: nothing a question could find
                out.append(_refuse(offered, no_text_reason(text, fmt)))
                continue
        except FormatError as exc:
            out.append(_refuse(offered, str(exc)))
            continue
        except Exception as exc:  # a reader library failing on a damaged file
            out.append(_refuse(offered, f"could not be read as {fmt} ({type(exc).__name__})"))
            continue
        status = "added"
        if (root / name).exists() and replace:
            status = "replaced"
        else:
            name = _free_name(root, name)
        tmp = root / f".{name}.upload"
        tmp.write_bytes(data)
        os.replace(tmp, root / name)
        by_hash[digest] = name
        out.append(Added(offered, status, path=name))
    return out


def remove_file(corpus_dir: str | Path, name: str, removed_dir: str | Path) -> Removed:
    """Move the document `name` (a path relative to the corpus) out of the corpus into `removed_dir`."""
    root = Path(corpus_dir)
    rel = Path(os.path.normpath(str(name)))
    if not str(name).strip() or rel.is_absolute() or rel.parts[:1] in (("..",), (".",)):
        raise UploadError(f"{name!r} is not a document of the corpus")
    target = root / rel
    if not (target.is_file() or target.is_symlink()):
        raise UploadError(f"no document named {name!r} in the corpus")
    return keep(target, rel.as_posix(), Path(removed_dir))
