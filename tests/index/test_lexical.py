"""BM25 stored with the index: the same scores as a fresh one, versioned, rebuilt when it does not match."""

from __future__ import annotations

import json
import math
from collections import Counter

import bm25s
import numpy as np
import pytest

from qa.answering.retrieval import Retriever
from qa.api import QA, build
from qa.errors import IndexCorruptError
from qa.index import MANIFEST, lexical, load_index, read_manifest
from qa.text import terms
from tests.conftest import FakeEmbedder

TEXTS = [
    "Acme Robotics was founded by Jane Doe in 2015 in Lyon.",
    "The company builds warehouse robots and sells them in Europe.",
    "Jane Doe studied mechanical engineering; robots were her first love.",
    "It is what it is.",  # stopwords only
    "Lyon is a city in France, on the Rhône.",
]
QUERIES = ["Who founded Acme Robotics?", "robots in Europe", "Lyon France", "unknownword robots", "nothing matches"]


def test_stored_bm25_reloaded_scores_like_a_fresh_bm25s(tmp_path):
    stored = lexical.build(TEXTS)
    for role, data in lexical.to_files(stored).items():
        (tmp_path / role).write_bytes(data)
    loaded = lexical.load({r: tmp_path / r for r in lexical.ROLES})
    fresh = bm25s.BM25()
    fresh.index([terms(t) for t in TEXTS], show_progress=False)
    for q in QUERIES:
        np.testing.assert_array_equal(loaded.scores(terms(q)), fresh.get_scores(terms(q)))
    df = Counter(t for text in TEXTS for t in set(terms(text)))
    n = len(TEXTS)
    assert loaded.n == n
    assert {t: loaded.idf(t) for t in df} == {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
    assert loaded.idf("unknownword") is None and loaded.idf("") is None
    assert isinstance(loaded.bm25.scores["data"], np.memmap), "the matrix is mapped from disk, not read"


def test_the_retriever_uses_the_stored_bm25_and_scores_like_one_built_in_memory(index_dir):
    index = load_index(index_dir)
    stored = Retriever(index)
    assert stored.store.bm25 is index.lexical
    fresh = lexical.build(c.embedding_text() for c in index.chunks)
    for q in QUERIES:
        np.testing.assert_array_equal(stored.store.bm25.scores(terms(q)), fresh.scores(terms(q)))
        assert [stored.idf(t) for t in terms(q)] == [
            fresh.idf(t) if fresh.idf(t) is not None else stored.idf.max_idf / 2 for t in terms(q)
        ]


def test_a_bm25_of_another_version_is_built_again_in_memory_then_rewritten_by_the_next_build(
    index_dir, corpus_dir, caplog
):
    path = index_dir / MANIFEST
    data = json.loads(path.read_text(encoding="utf-8"))
    data["lexical"] = {**lexical.LEXICAL, "version": lexical.VERSION - 1}
    path.write_text(json.dumps(data), encoding="utf-8")
    index = load_index(index_dir)
    assert index.lexical is None and "another version" in caplog.text
    bot = QA(index, FakeEmbedder())
    assert bot.retriever.store.bm25 is not None and "Jane Doe" in bot.answer("Who founded Acme Robotics?").text

    embedder = FakeEmbedder()
    manifest = build(corpus_dir, index_dir, embedder=embedder).manifest  # `qa index`: nothing to embed
    assert embedder.passage_texts == [], "only the build's own files are written again"
    assert manifest.lexical == lexical.LEXICAL == read_manifest(index_dir).lexical
    assert load_index(index_dir).lexical is not None


def test_a_damaged_bm25_file_is_refused(index_dir):
    data = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
    path = index_dir / data["files"]["bm25_indptr"]["name"]
    path.write_bytes(path.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(IndexCorruptError, match=r"bm25-.*damaged.*qa index"):
        load_index(index_dir)
