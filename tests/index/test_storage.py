"""Index files read back from several threads: .npy headers parsed one at a time."""

from __future__ import annotations

import ast
import threading
import time

import numpy as np

from qa.index import storage


def test_npy_round_trip_from_bytes_and_from_a_mapped_file(tmp_path):
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    data = storage.npy_bytes(array)
    assert np.array_equal(storage.load_npy(data), array)
    path = tmp_path / "a.npy"
    path.write_bytes(data)
    mapped = storage.load_npy(path, mmap_mode="r")
    assert isinstance(mapped, np.memmap) and np.array_equal(mapped, array)
    with path.open("rb") as fh:
        assert storage.read_npy_header(fh) == ((3, 4), False, np.dtype(np.float32))
        assert np.array_equal(np.frombuffer(fh.read(), np.float32).reshape(3, 4), array)


def test_no_two_threads_parse_a_header_at_once(monkeypatch):
    """CPython 3.11's AST constructor is not safe in two threads at once (numpy parses headers with it)."""
    inside, most = 0, 0
    count = threading.Lock()
    real = ast.literal_eval

    def slow_literal_eval(text):
        nonlocal inside, most
        with count:
            inside += 1
            most = max(most, inside)
        time.sleep(0.002)  # long enough for another thread to come in if nothing stops it
        try:
            return real(text)
        finally:
            with count:
                inside -= 1

    monkeypatch.setattr(ast, "literal_eval", slow_literal_eval)
    data = storage.npy_bytes(np.ones((2, 2), np.float32))
    results: list[np.ndarray] = []

    def reader():
        for _ in range(20):
            results.append(storage.load_npy(data))

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 80 and all(np.array_equal(r, np.ones((2, 2))) for r in results)
    assert most == 1
