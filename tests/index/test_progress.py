"""A build tells its `on_progress` callback where it is: each stage, each document read, each group embedded."""

from __future__ import annotations

import threading

import pytest

from qa.api import build, remove, restore
from qa.index.progress import EMBEDDING, LISTING, READING, WAITING, WRITING, BuildProgress
from qa.index.storage import build_lock
from tests.conftest import FakeEmbedder, write_corpus


def test_a_build_tells_each_stage_and_each_group_in_order(index_dir, corpus_dir, monkeypatch):
    from qa.index import segments

    monkeypatch.setattr(segments, "EMBED_GROUP", 1)  # one document per group
    new = {f"doc{i}.txt": f"Document {i} is about topic {i}. It has a second sentence." for i in range(3)}
    write_corpus(corpus_dir, new)
    events: list[BuildProgress] = []
    report = build(corpus_dir, index_dir, embedder=FakeEmbedder(), on_progress=events.append)
    assert report.added == ("doc0.txt", "doc1.txt", "doc2.txt")
    stages = [e.stage for e in events]
    assert stages == [LISTING, READING, READING, READING, EMBEDDING, EMBEDDING, EMBEDDING, EMBEDDING, WRITING]
    assert [(e.done, e.total) for e in events if e.stage == READING] == [(0, 3), (1, 3), (2, 3)]
    embedding = [e for e in events if e.stage == EMBEDDING]
    assert [(e.done, e.total) for e in embedding] == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert [e.sentences for e in embedding] == [0, 2, 4, 6] and {e.sentences_total for e in embedding} == {6}
    assert events[-1] == BuildProgress(WRITING, done=3, total=3, sentences=6, sentences_total=6)


def test_removing_and_restoring_tell_their_builds_too(index_dir, corpus_dir):
    heard: list[str] = []
    kept, _ = remove(
        ["acme.txt"], corpus_dir, index_dir, embedder=FakeEmbedder(), on_progress=lambda e: heard.append(e.stage)
    )
    assert heard == [LISTING, WRITING], "nothing to read or embed: the index is written again"
    heard.clear()
    restore(kept[0].name, corpus_dir, index_dir, embedder=FakeEmbedder(), on_progress=lambda e: heard.append(e.stage))
    assert heard[:2] == [LISTING, READING] and EMBEDDING in heard and heard[-1] == WRITING


def test_a_build_that_waits_for_another_says_so(index_dir, corpus_dir):
    write_corpus(corpus_dir, {"late.txt": "A late note about cranes."})
    waiting = threading.Event()
    heard: list[str] = []

    def hear(event: BuildProgress) -> None:
        heard.append(event.stage)
        if event.stage == WAITING:
            waiting.set()

    with build_lock(index_dir):  # another build holds the folder
        worker = threading.Thread(
            target=build, args=(corpus_dir, index_dir), kwargs={"embedder": FakeEmbedder(), "on_progress": hear}
        )
        worker.start()
        assert waiting.wait(timeout=30), "the build never said it was waiting"
        assert heard == [WAITING], "nothing is listed before the other build is done"
    worker.join(timeout=60)
    assert heard[:2] == [WAITING, LISTING] and heard[-1] == WRITING


@pytest.mark.parametrize(
    "kwargs",
    [{"stage": "thinking"}, {"stage": READING, "done": 4, "total": 3}, {"stage": EMBEDDING, "sentences": -1}],
)
def test_progress_checks_its_values(kwargs):
    with pytest.raises(ValueError, match=r"stage must be|out of range"):
        BuildProgress(**kwargs)
