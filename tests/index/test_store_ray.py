"""Building with Ray Data gives the index an in-process build gives (real model: the vectors must match)."""

from __future__ import annotations

import numpy as np
import pytest

from qa.api import QA, build
from qa.index import load_index
from qa.settings import AnswerSettings
from tests.conftest import write_corpus
from tests.index.test_store_contract import FILES, QUESTIONS

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def local_ray():
    import ray  # the ray extra (setup.sh --test installs it): missing, these tests fail, never skip
    import ray.data

    ray.init(num_cpus=2, _node_ip_address="127.0.0.1", include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def test_a_ray_build_equals_the_in_process_build(tmp_path, local_ray):
    from qa.index.ray_build import ray_build

    corpus = write_corpus(tmp_path / "corpus", FILES)
    here = build(corpus, tmp_path / "here").manifest
    there = ray_build(corpus, tmp_path / "ray", "auto", progress=False).manifest
    assert there.documents == here.documents and there.counts == here.counts
    assert {p: s["key"] for p, s in there.segments.items()} == {p: s["key"] for p, s in here.segments.items()}
    a, b = load_index(tmp_path / "here"), load_index(tmp_path / "ray")
    assert list(a.chunks) == list(b.chunks)
    difference = float(np.abs(np.asarray(a.sentence_vectors) - np.asarray(b.sentence_vectors)).max())
    assert difference <= 1e-6
    settings = AnswerSettings(read_sentences=0)
    bots = [QA.load(tmp_path / d, corpus=corpus, settings=settings, on_stale="error") for d in ("here", "ray")]
    for question in QUESTIONS:
        x, y = (bot.answer(question) for bot in bots)
        assert (x.text, x.source, x.start) == (y.text, y.source, y.start)
    again = ray_build(corpus, tmp_path / "ray", "auto", progress=False)  # nothing new: nothing embedded
    assert again.added == again.changed == () and len(again.kept) == len(FILES)
