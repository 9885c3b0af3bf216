"""The FAISS index over the sentence vectors, of the kind the manifest records.

- `flat`: exact inner product; the vectors themselves are the index.
- `hnsw`: an HNSW graph over the full float32 vectors.
- `hnsw-sq8`: an HNSW graph over 8-bit scalar-quantized vectors (a byte per
  dimension, trained per dimension on a sample): a quarter of the memory, for
  corpora whose float32 vectors would not fit (4M sentences: 6 GB -> 1.5 GB).

Extraction scores candidate sentences with their own vectors: `stored_rows`
gives them as a zero-copy numpy view for the float32 kinds, and as rows
decoded on demand (`QuantizedRows`) for SQ8, so no float32 copy is ever held.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator

import numpy as np

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
