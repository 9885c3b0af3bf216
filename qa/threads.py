"""Pin the native thread pools (BLAS, OpenMP, torch, FAISS).

On a small, busy machine two threads fighting over two cores can be many
times slower than one, so the query path runs on one thread by default.
"""

from __future__ import annotations

import os

_pinned: int | None = None


def pin_threads(n: int = 1) -> None:
    """Limit BLAS/OpenMP pools of this process to `n` threads. Safe to call again."""
    global _pinned
    if _pinned == n:
        return
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n)
    import faiss

    faiss.omp_set_num_threads(n)
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
    _pinned = n
