"""From retrieved chunks to the words that answer, and the features of its confidence."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from qa.answering.confidence import FEATURES
from qa.answering.conversation import Reading
from qa.answering.extraction import (
    MAX_ANSWER_CHARS,
    candidates,
    clause_window,
    extract,
    name_coverage,
    weighted_coverage,
)
from qa.api import QA, build
from qa.settings import AnswerSettings
from qa.text import terms
from tests.conftest import FakeEmbedder, assert_verifiable, write_corpus


@pytest.mark.parametrize(
    ("question", "sentence", "heading", "expected"),
    [
        ("Which company launched Pangu Chat?", "Huawei launched its Pangu Chat in 2023.", "", 1.0),
        ("Which company launched Pangu Chat?", "Huawei launched a chatbot in 2023.", "", 0.0),
        ("Which company launched Pangu Chat?", "Huawei launched its Pangu model.", "", 0.5),
        ("Which company launched Pangu Chat?", "Huawei launched it.", "Pangu Chat", 1.0),
        ("what did the company launch?", "Anything at all.", "", 1.0),  # names nothing
        ("Huawei launched what?", "Something else.", "", 1.0),  # the first word is capitalized anyway
        ("Did SenseTime and iFLYTEK launch models?", "SenseTime launched SenseNova.", "", 0.5),
    ],
)
def test_name_coverage(question, sentence, heading, expected):
    assert name_coverage(question, sentence, heading) == pytest.approx(expected)


def test_weighted_coverage_weighs_by_idf(shared_bot):
    r = shared_bot.retriever.idf
    q = terms("Acme kilograms")
    assert weighted_coverage(q, set(q), r) == pytest.approx(1.0)
    assert weighted_coverage(q, set(), r) == 0.0
    rare_only = weighted_coverage(q, set(terms("kilograms")), r)
    common_only = weighted_coverage(q, set(terms("Acme")), r)
    assert rare_only > 0.5 > common_only > 0
    assert rare_only + common_only == pytest.approx(1.0)
    assert weighted_coverage([], {"x"}, r) == 0.0


def test_candidates_are_the_sentences_of_the_hits_best_first(shared_bot):
    query = "Who founded Acme Robotics?"
    qvec = shared_bot.embedder.encode_queries([query])[0]
    found = shared_bot.retriever.retrieve(query, qvec, 3, "hybrid")
    cands = candidates(query, found)
    assert cands
    assert [c.score for c in cands] == sorted((c.score for c in cands), reverse=True)
    places = [(c.hit.chunk.source, c.start) for c in cands]
    assert len(places) == len(set(places))
    for c in cands:
        assert (c.start, c.end) in c.hit.chunk.sentences
        assert 0.0 <= c.coverage <= 1.0 and 0.0 <= c.context <= 1.0
    assert "Jane Doe" in shared_bot.index.texts[cands[0].hit.chunk.source][cands[0].start : cands[0].end]


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("Who founded Acme Robotics?", "Jane Doe"),
        ("When was Acme Robotics founded?", "March 2019"),
        ("How much did Acme Robotics raise in its first funding round?", "$25 million"),
    ],
)
def test_extract_picks_the_typed_span_inside_the_best_sentence(shared_bot, question, answer):
    qvec = shared_bot.embedder.encode_queries([question])[0]
    found = shared_bot.retriever.retrieve(question, qvec, 8, "hybrid")
    got = extract(Reading.as_asked(question), found)
    assert got is not None
    text = shared_bot.index.texts[got.candidate.hit.chunk.source]
    assert got.candidate.start <= got.start < got.end <= got.candidate.end
    assert text[got.start : got.end] == answer
    assert len(got.features.vector()) == len(FEATURES)
    assert got.ranked[0] is got.candidate
    assert got.features.type_missing == 0.0
    assert got.features.name_coverage == 1.0


def test_extract_with_no_hits_is_none(shared_bot):
    qvec = shared_bot.embedder.encode_queries(["x"])[0]
    nothing = shared_bot.retriever.retrieve("x", qvec, 8, "hybrid")
    assert extract(Reading.as_asked("x"), replace(nothing, hits=())) is None


LONG = (
    "In a sweeping review of the regional economy, which covered farming, fishing, mining, shipping, "
    "tourism, retail, banking, insurance and a dozen smaller trades that employ thousands of people, "
    "the council concluded that the harbour bridge, first opened to traffic in the spring, "
    "needs a new deck of reinforced concrete before the winter storms arrive, "
    "while the old lighthouse keeps its historic lamp and the museum stays open every weekend."
)


def test_clause_window_shortens_a_long_sentence_to_the_clauses_that_answer(shared_bot):
    assert len(LONG) > MAX_ANSWER_CHARS
    a, b = clause_window(LONG, 0, len(LONG), "harbour bridge deck concrete", shared_bot.retriever.idf)
    assert 0 <= a < b <= len(LONG)
    assert b - a <= MAX_ANSWER_CHARS
    assert "new deck of reinforced concrete" in LONG[a:b]
    assert LONG[a:b] == LONG[a:b].strip(" ,;:")


def test_clause_window_keeps_a_short_sentence_whole(shared_bot):
    text = "Short sentence, with a clause."
    assert clause_window(text, 0, len(text), "clause", shared_bot.retriever.idf) == (0, len(text))


def test_a_long_sentence_answer_is_at_most_300_characters_and_verifiable(tmp_path):
    corpus = write_corpus(tmp_path / "c", {"economy.txt": LONG + "\n", "other.txt": "Fish swim in the sea.\n"})
    embedder = FakeEmbedder()
    build(corpus, tmp_path / "i", embedder=embedder)
    bot = QA.load(tmp_path / "i", corpus=corpus, embedder=embedder, settings=AnswerSettings(threshold=0.0))
    answer = bot.answer("What does the harbour bridge need before the winter storms?")
    assert answer.found
    assert "deck" in answer.text
    assert len(answer.text) <= MAX_ANSWER_CHARS
    assert answer.sentence == LONG
    assert_verifiable(answer, corpus)


def test_features_are_finite_for_any_question(shared_bot):
    for question in ["Who?", "zzz qqq", "What is the tallest mountain in Japan?", "robots robots robots"]:
        got = shared_bot.choose(question).extract
        assert got is not None
        assert np.isfinite(got.features.vector()).all()
