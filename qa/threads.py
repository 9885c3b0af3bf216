"""Pin the native thread pools (BLAS, OpenMP, torch, FAISS).

On a small, busy machine two threads fighting over two cores can be many
times slower than one, so the query path runs on one thread by default.
"""

from __future__ import annotations

import os


def pin_threads(n: int = 1) -> None:
    """Limit the BLAS/OpenMP pools of this process (and torch's, once imported) to `n` threads.

    Cheap and idempotent: call it again after loading a model that brings its own pools.
    """
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n)
    import faiss

    faiss.omp_set_num_threads(n)
    import sys

    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        if torch.get_num_threads() != n:
            torch.set_num_threads(n)
