"""Dense, BM25 and hybrid retrieval over the chunks."""

from __future__ import annotations

import numpy as np
import pytest

from qa.answering.retrieval import Hit
from qa.text import terms

MODES = ("dense", "bm25", "hybrid")


def search(bot, query: str, k: int = 3, mode: str = "hybrid", exclude=None) -> list[Hit]:
    qvec = bot.embedder.encode_queries([query])[0]
    return bot.retriever.search(query, qvec, k, mode, exclude=exclude)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Walker robot boxes kilograms", "The Walker robot carries boxes up to 40 kilograms."),
        ("grant Department of Energy October", "The U.S. Department of Energy awarded a grant"),
        ("Zenith Labs Orbit Systems partners", "Zenith Labs, Orbit Systems, and Nova Works"),
    ],
)
def test_each_mode_finds_the_chunk_that_holds_the_words(shared_bot, mode, query, expected):
    hits = search(shared_bot, query, k=3, mode=mode)
    assert hits, f"{mode} found nothing"
    assert expected in hits[0].chunk.text
    assert [h.rank for h in hits] == list(range(len(hits)))
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len({h.chunk.id for h in hits}) == len(hits)


@pytest.mark.parametrize("mode", MODES)
def test_scores_are_what_they_say(shared_bot, mode):
    query = "Walker robot boxes"
    qvec = shared_bot.embedder.encode_queries([query])[0]
    hits = shared_bot.retriever.search(query, qvec, 5, mode)
    lexical = shared_bot.retriever.store.bm25.scores(terms(query))
    index = shared_bot.index
    for h in hits:
        first = index.sentence_rows[h.chunk.id]
        rows = [index.vectors.reconstruct(first + i) for i in range(len(h.chunk.sentences))]
        best = max(float(v @ qvec) for v in rows)  # a chunk scores as its best sentence
        assert h.dense == pytest.approx(best, abs=1e-5)  # filled in even for BM25-only hits
        if mode == "dense":
            assert h.bm25 == 0.0
        elif h.bm25:
            assert h.bm25 == pytest.approx(float(lexical[h.chunk.id]), rel=1e-5)
    if mode == "dense":
        assert [h.dense for h in hits] == sorted((h.dense for h in hits), reverse=True)
    if mode == "bm25":
        assert [h.bm25 for h in hits] == sorted((h.bm25 for h in hits), reverse=True)


def test_hybrid_puts_first_the_chunk_both_rankings_put_first(shared_bot):
    query = "Walker robot boxes kilograms"
    dense = search(shared_bot, query, k=1, mode="dense")[0].chunk.id
    bm25 = search(shared_bot, query, k=1, mode="bm25")[0].chunk.id
    assert dense == bm25
    assert search(shared_bot, query, k=1, mode="hybrid")[0].chunk.id == dense


@pytest.mark.parametrize("mode", MODES)
def test_exclude_leaves_chunks_out(shared_bot, mode):
    def exclude(chunk):
        return chunk.source == "notes/history.md"

    hits = search(shared_bot, "Walker robot boxes Acme Robotics", k=5, mode=mode, exclude=exclude)
    assert hits
    assert all(h.chunk.source == "acme.txt" for h in hits)
    assert all(not exclude(h.chunk) for h in hits)


def test_exclude_everything_gives_nothing(shared_bot):
    assert search(shared_bot, "Acme Robotics", k=3, exclude=lambda c: True) == []


def test_k_larger_than_the_index(shared_bot):
    n = len(shared_bot.index.chunks)
    hits = search(shared_bot, "robot", k=50, mode="dense")
    assert len(hits) == n
    assert sorted(h.chunk.id for h in hits) == list(range(n))


def test_bm25_alone_finds_nothing_for_unknown_words(shared_bot):
    assert search(shared_bot, "zyxxy quorbl", mode="bm25") == []
    assert search(shared_bot, "what is the", mode="bm25") == []  # only stopwords


def test_hybrid_uses_both_rankings(shared_bot):
    """A chunk found only by BM25 still appears in hybrid results."""
    query = "Nova Works partners"
    bm25 = {h.chunk.id for h in search(shared_bot, query, k=5, mode="bm25")}
    hybrid = {h.chunk.id for h in search(shared_bot, query, k=5, mode="hybrid")}
    assert bm25 <= hybrid


def test_term_idf_favours_rare_terms(shared_bot):
    r = shared_bot.retriever
    (rare,) = terms("kilograms")
    (common,) = terms("Acme")
    assert r.idf(rare) > r.idf(common) > 0
    assert 0 < r.idf("qqqzzzunknown") <= r.idf.max_idf


def test_bm25_index_covers_heading_and_title(shared_bot):
    """Headings are indexed with their chunks: a heading word finds the chunk below it."""
    hits = search(shared_bot, "Products", k=1, mode="bm25")
    assert hits and hits[0].chunk.heading == "Products"


def test_query_vector_shape_is_accepted_flat_or_2d(shared_bot):
    q = "Walker robot"
    qvec = shared_bot.embedder.encode_queries([q])
    a = shared_bot.retriever.search(q, qvec[0], 3, "dense")
    b = shared_bot.retriever.search(q, np.asarray(qvec), 3, "dense")
    assert [h.chunk.id for h in a] == [h.chunk.id for h in b]
