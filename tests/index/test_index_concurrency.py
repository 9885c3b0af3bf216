"""Builds of one index folder never interleave, and a load racing a build still gets a whole index."""

import threading
import time

from qa.errors import IndexCorruptError
from qa.index import load as load_module
from qa.index import load_index, read_manifest
from qa.ingest.documents import load_corpus
from qa.settings import ChunkSettings
from tests.conftest import FakeEmbedder, build_index


class SlowEmbedder(FakeEmbedder):
    """A FakeEmbedder that takes a while, so two builds would overlap without the lock."""

    def encode_passages(self, texts, progress=False):
        time.sleep(0.2)
        return super().encode_passages(texts, progress)


def test_concurrent_builds_leave_one_whole_index(corpus_dir, tmp_path):
    docs, _ = load_corpus(corpus_dir)
    target = tmp_path / "index"
    errors = []

    def run():
        try:
            build_index(docs, corpus_dir, target, SlowEmbedder(), ChunkSettings())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    manifest = read_manifest(target)
    loaded = load_index(target)  # every file the manifest names is there and checks out
    assert loaded.manifest.build_id == manifest.build_id
    data_files = sorted(p.name for p in target.iterdir() if not p.name.startswith(".") and p.name != "manifest.json")
    assert data_files == sorted(manifest.file_names())


def test_a_load_racing_a_rebuild_retries_on_the_new_manifest(corpus_dir, tmp_path, monkeypatch):
    docs, _ = load_corpus(corpus_dir)
    target = tmp_path / "index"
    build_index(docs, corpus_dir, target, FakeEmbedder(), ChunkSettings())
    real_load = load_module._load
    calls = []

    def load_during_rebuild(index_dir):
        calls.append(1)
        if len(calls) == 1:  # the first read starts, then a rebuild replaces everything under it
            build_index(docs, corpus_dir, target, FakeEmbedder(), ChunkSettings(max_chars=500))
            raise IndexCorruptError("index file vanished")
        return real_load(index_dir)

    monkeypatch.setattr(load_module, "_load", load_during_rebuild)
    loaded = load_index(target)
    assert len(calls) == 2
    assert loaded.manifest.build_id == read_manifest(target).build_id
