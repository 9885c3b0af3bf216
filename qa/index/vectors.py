"""The FAISS index over the sentence vectors, of the kind the manifest records.

- `flat`: exact inner product; the vectors themselves are the index.
- `hnsw`: an HNSW graph over the full float32 vectors.
- `hnsw-sq8`: an HNSW graph over 8-bit scalar-quantized vectors (a byte per
  dimension, trained per dimension on a sample): a quarter of the memory, for
  corpora whose float32 vectors would not fit.

Extraction scores candidate sentences with their own vectors: `stored_rows`
gives them as a zero-copy numpy view for the float32 kinds, and as rows
decoded on demand (`QuantizedRows`) for SQ8, so no float32 copy is ever held.
Over SQ8, the best `REFINE` results of a search are re-scored with their exact
vectors, read from the segments on disk (`SegmentRows`): 8-bit scores reorder
near ties, which cost recall@10 at millions of vectors.
"""

from __future__ import annotations

import logging
import operator
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from qa.index.storage import read_npy_header

log = logging.getLogger(__name__)

TRAIN_SAMPLE = 262_144  # vectors an SQ8 quantizer is trained on (its per-dimension ranges)
ADD_BATCH = 1 << 20  # vectors added at a time: one add (HNSW builds in parallel) up to ~1M vectors
SQ8_ADD_BATCH = 1 << 18  # smaller for SQ8 (the corpora that need it): two batches of float32 in memory at most


def new_index(kind: dict, dim: int):
    """An empty FAISS inner-product index of the kind the manifest records."""
    import faiss

    if kind["type"] == "flat":
        return faiss.IndexFlatIP(dim)
    if kind["type"] == "hnsw":
        index = faiss.IndexHNSWFlat(dim, kind["M"], faiss.METRIC_INNER_PRODUCT)
    elif kind["type"] == "hnsw-sq8":
        qtype = getattr(faiss.ScalarQuantizer, kind.get("quantizer", "QT_8bit"))
        index = faiss.IndexHNSWSQ(dim, qtype, kind["M"], faiss.METRIC_INNER_PRODUCT)
    else:
        raise ValueError(f"unknown vector index type {kind['type']!r}")
    index.hnsw.efConstruction = kind.get("efConstruction", 40)
    index.hnsw.efSearch = kind["efSearch"]
    return index


def needs_training(kind: dict) -> bool:
    return kind["type"] == "hnsw-sq8"


def add_batch(kind: dict) -> int:
    return SQ8_ADD_BATCH if kind["type"] == "hnsw-sq8" else ADD_BATCH


SEARCH_SETTINGS = ("efSearch",)  # read at load time: changing them needs no new index file


def built_the_same(a: dict, b: dict) -> bool:
    """Whether two recorded kinds describe the same index file (they may differ in search settings)."""
    strip = lambda kind: {k: v for k, v in kind.items() if k not in SEARCH_SETTINGS}  # noqa: E731
    return strip(a) == strip(b)


def configure(index, kind: dict) -> None:
    """Search settings that FAISS does not keep in its file."""
    if kind["type"] in ("hnsw", "hnsw-sq8"):
        index.hnsw.efSearch = int(kind["efSearch"])


def check_kind(index, kind: dict) -> bool:
    """Whether a loaded FAISS index is of the kind the manifest says."""
    import faiss

    want = {"flat": faiss.IndexFlatIP, "hnsw": faiss.IndexHNSWFlat, "hnsw-sq8": faiss.IndexHNSWSQ}.get(kind["type"])
    return want is not None and isinstance(index, want)


def add_batches(index, blocks: Iterator[np.ndarray], batch: int = ADD_BATCH) -> None:
    """Add vector blocks in order, a few large adds at a time (not one array of them all)."""
    pending: list[np.ndarray] = []
    size = 0
    for block in blocks:
        pending.append(block)
        size += len(block)
        if size >= batch:
            index.add(np.ascontiguousarray(np.vstack(pending), dtype=np.float32))
            pending, size = [], 0
    if pending:
        index.add(np.ascontiguousarray(np.vstack(pending), dtype=np.float32))


class QuantizedRows:
    """The sentence vectors of an SQ8 index, decoded on demand: `rows[i]` or `rows[a:b]`, float32.

    Stands in for the float32 matrix where extraction reads a few candidate
    sentences' vectors; each read decodes only the rows asked for.
    """

    def __init__(self, storage) -> None:
        self.storage = storage
        self.shape = (storage.ntotal, storage.d)
        self.dtype = np.dtype(np.float32)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key) -> np.ndarray:
        n = self.shape[0]
        if isinstance(key, slice):
            start, stop, step = key.indices(n)
            if step != 1:
                raise IndexError("quantized rows are read in contiguous ranges only")
            return self.storage.reconstruct_n(start, max(0, stop - start))
        i = operator.index(key)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"row {i} is out of range ({n} rows)")
        return self.storage.reconstruct(int(i))

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self[:]
        return out if dtype is None else out.astype(dtype)


def stored_rows(index):
    """The vectors an index holds: a numpy view (no copy) for float32 kinds, decoded rows for SQ8."""
    import faiss

    if isinstance(index, faiss.IndexHNSWSQ):
        return QuantizedRows(faiss.downcast_index(index.storage))
    flat = faiss.downcast_index(index.storage) if hasattr(index, "hnsw") else index
    return faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(flat.ntotal, flat.d)


REFINE = 40  # SQ8 candidates re-scored with their exact vectors (the true top 10 is in the top 40 97% of the time)


class SegmentRows:
    """Exact float32 sentence vectors read row by row from the segments' .npy files, for re-ranking.

    Nothing is mapped or kept: each row is one `os.pread` (the page cache
    serves it), so the process holds only the quantized vectors. A segment
    removed since loading (a rebuild replaced it) raises OSError.
    """

    def __init__(self, paths: list[Path], counts: list[int], dim: int) -> None:
        self._paths = paths
        self._counts = counts
        self._starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._dim = dim
        self._offsets: dict[int, int] = {}  # file -> where its data starts (after the .npy header)

    def _offset(self, f: int) -> int:
        if f not in self._offsets:
            with self._paths[f].open("rb") as fh:
                shape, fortran, dtype = read_npy_header(fh)
                if shape != (self._counts[f], self._dim) or fortran or dtype != np.float32:
                    raise OSError(f"{self._paths[f]} does not hold {self._counts[f]} float32 rows of {self._dim}")
                self._offsets[f] = fh.tell()
        return self._offsets[f]

    def rows(self, ids: np.ndarray) -> np.ndarray:
        size = self._dim * 4
        files = np.searchsorted(self._starts, ids, side="right") - 1
        out = np.empty((len(ids), self._dim), np.float32)
        for n, (i, f) in enumerate(zip(ids.tolist(), files.tolist(), strict=True)):
            start = self._offset(f) + (i - int(self._starts[f])) * size
            fd = os.open(self._paths[f], os.O_RDONLY)
            try:
                data = os.pread(fd, size, start)
            finally:
                os.close(fd)
            if len(data) != size:
                raise OSError(f"{self._paths[f]} is shorter than its header says")
            out[n] = np.frombuffer(data, np.float32)
        return out


def refine(exact: SegmentRows, query: np.ndarray, scores: np.ndarray, ids: np.ndarray, n: int = REFINE):
    """The search results with the first `n` re-scored exactly and everything re-sorted (best first).

    Returns (scores, ids) as given when the exact rows cannot be read.
    """
    keep = ids >= 0
    scores, ids = scores[keep].astype(np.float32), ids[keep]
    head = ids[:n]
    try:
        scores[: len(head)] = exact.rows(head) @ query.reshape(-1).astype(np.float32)
    except OSError as exc:
        log.warning("exact re-ranking skipped (%s)", exc)
        return scores, ids
    order = np.argsort(-scores, kind="stable")
    return scores[order], ids[order]


def search(index, exact: SegmentRows | None, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The top `k` rows for one query (scores, ids), re-ranked with exact vectors when they are given."""
    q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
    if exact is None:
        scores, ids = index.search(q, k)
        return scores[0], ids[0]
    scores, ids = index.search(q, max(k, REFINE))
    scores, ids = refine(exact, q, scores[0], ids[0])
    return scores[:k], ids[:k]
