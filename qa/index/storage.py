"""How an index folder's files are written and read: atomically, hash-checked, one build at a time.

Every file is written under a temporary name and renamed into place whole
(`atomic_write`, `StreamWriter`, `write_faiss`), so readers see all of it or
none. A data file is read back only when its size and SHA-256 match the entry
the manifest recorded for it (`read_checked`, `checked_path`). `build_lock`
lets one build at a time write a folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from qa.errors import IndexCorruptError
from qa.ingest.documents import sha256_bytes

REBUILD = "run `qa index` to rebuild it"

# numpy parses a .npy header with ast.literal_eval, and CPython 3.11's AST
# constructor keeps its recursion depth in interpreter-wide state: two threads
# parsing at once can fail with "SystemError: AST constructor recursion depth
# mismatch" (python/cpython#106905). Chat sessions, uploads and builds read
# index files from different threads, so every header is parsed under one lock.
_NPY_HEADER_LOCK = threading.Lock()


def atomic_write(path: Path, data: bytes, durable: bool = True) -> None:
    """Write `data` under a temporary name, then rename it to `path`: readers see all of it or none.

    `durable=False` skips the fsync (segments: one `os.sync()` before the manifest covers them all).
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_entry(path: Path, data: bytes) -> dict:
    return {"name": path.name, "size": len(data), "sha256": sha256_bytes(data)}


class StreamWriter:
    """A file written in pieces under a temporary name, hashed as it goes; renamed to `path` when whole."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fd, self.tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        self.file = os.fdopen(fd, "wb")
        self.hash = hashlib.sha256()
        self.size = 0
        self.entry: dict = {}

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self.hash.update(data)
        self.size += len(data)

    def __enter__(self) -> StreamWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.file.flush()
                os.fsync(self.file.fileno())
            self.file.close()
            if exc_type is None:
                os.replace(self.tmp, self.path)
                self.entry = {"name": self.path.name, "size": self.size, "sha256": self.hash.hexdigest()}
        finally:
            if not self.entry:
                self.file.close()
                Path(self.tmp).unlink(missing_ok=True)


def hash_file(path: Path) -> tuple[int, str]:
    """Size and SHA-256 of a file, read in blocks."""
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
            size += len(block)
    return size, h.hexdigest()


def write_faiss(path: Path, index) -> dict:
    """Write a FAISS index atomically, straight to disk (no serialized copy in memory)."""
    import faiss

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        faiss.write_index(index, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        size, digest = hash_file(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return {"name": path.name, "size": size, "sha256": digest}


def npy_bytes(array: np.ndarray) -> bytes:
    """An array as the bytes of a .npy file (no pickle)."""
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def load_npy(source: Path | bytes, mmap_mode: str | None = None) -> np.ndarray:
    """The array in a .npy file or its bytes (no pickle); `mmap_mode="r"` maps a file instead of reading it."""
    with _NPY_HEADER_LOCK:
        if isinstance(source, bytes):
            return np.load(io.BytesIO(source), allow_pickle=False)
        return np.load(source, mmap_mode=mmap_mode, allow_pickle=False)


def read_npy_header(fh) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) of the .npy file open in `fh`, left positioned at its data."""
    with _NPY_HEADER_LOCK:
        major, _ = np.lib.format.read_magic(fh)
        read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        return read(fh)


@contextlib.contextmanager
def build_lock(index_dir: Path, on_wait: Callable[[], None] | None = None):
    """One build at a time per index folder (a lock on the folder itself): a second waits for the first,
    calling `on_wait()` first when it has to wait."""
    fd = os.open(index_dir, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def read_checked(index_dir: Path, entry: dict) -> bytes:
    """The bytes of a data file whose size and hash match the manifest's entry for it."""
    path = index_dir / entry["name"]
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IndexCorruptError(f"index file {path} is missing; {REBUILD}") from exc
    if len(data) != entry["size"] or sha256_bytes(data) != entry["sha256"]:
        raise IndexCorruptError(f"index file {path} is damaged (size or hash differs from the manifest); {REBUILD}")
    return data


def checked_path(index_dir: Path, entry: dict) -> Path:
    """The path of a data file whose size and hash match the manifest (hashed in blocks, not held)."""
    path = index_dir / entry["name"]
    try:
        size, digest = hash_file(path)
    except OSError as exc:
        raise IndexCorruptError(f"index file {path} is missing; {REBUILD}") from exc
    if size != entry["size"] or digest != entry["sha256"]:
        raise IndexCorruptError(f"index file {path} is damaged (size or hash differs from the manifest); {REBUILD}")
    return path


def data_name(role: str, build_id: str) -> str:
    """The file name of a build's data file of a role ("vectors", "chunks", "bm25_vocab", ...)."""
    if role.startswith("bm25_"):
        return f"bm25-{build_id}-{role[5:]}.{'json' if role == 'bm25_vocab' else 'npy'}"
    return f"{role}-{build_id}.{'json' if role == 'documents' else 'npy'}"


_DATA_STEMS = ("vectors", "seg", "sentences", "chunks", "texts", "documents", "bm25")


def remove_old_files(index_dir: Path, keep: set[str]) -> None:
    """Delete the folder's data files that `keep` does not name, and temporary files left by a crash."""
    for path in index_dir.iterdir():
        stem = path.name.split("-", 1)[0]
        if (stem in _DATA_STEMS and path.name not in keep) or (
            path.name.startswith(".") and path.name.endswith(".tmp")
        ):
            path.unlink(missing_ok=True)
