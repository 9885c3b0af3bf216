"""Stage 6: from retrieved chunks to the words that answer, and the features of its confidence."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from qa.api import QA, build
from qa.extraction import (
    FALLBACK_MODEL,
    FEATURES,
    MAX_ANSWER_CHARS,
    MODELS,
    Calibration,
    calibration_path,
    candidates,
    clause_window,
    extract,
    name_coverage,
    weighted_coverage,
)
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


def features(**values: float) -> tuple[float, ...]:
    return tuple(values.get(name, 0.0) for name in FEATURES)


def test_calibration_confidence_is_the_logistic_of_the_weighted_features():
    weights = features(dense=2.0, coverage=-1.0)
    cal = Calibration(weights=weights, bias=0.5)
    assert cal.confidence(features()) == pytest.approx(1 / (1 + math.exp(-0.5)))
    assert cal.confidence(features(dense=1.0, coverage=3.0)) == pytest.approx(1 / (1 + math.exp(0.5)))
    assert cal.confidence(features(dense=50.0)) <= 1.0
    assert cal.confidence(features(coverage=50.0)) >= 0.0
    with pytest.raises(ValueError):
        cal.confidence((1.0,))  # a feature missing is a bug, not a silent zero


def test_a_missing_answer_type_never_raises_confidence():
    cal = Calibration(weights=features(dense=2.0), bias=0.0)
    assert cal.confidence(features(dense=1.0, type_missing=1.0)) < cal.confidence(features(dense=1.0))


PACKAGED = sorted(MODELS.glob("confidence-*.json"))


def test_the_default_model_has_a_confidence_model_with_and_without_the_reader():
    assert calibration_path(FALLBACK_MODEL, reader=True) in PACKAGED
    assert calibration_path(FALLBACK_MODEL, reader=False) in PACKAGED


@pytest.mark.parametrize("path", PACKAGED, ids=lambda p: p.name)
def test_packaged_calibrations_match_the_features_and_their_file_names(path):
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert tuple(raw["features"]) == FEATURES
    assert calibration_path(raw["model"], reader=raw["read_sentences"] > 0) == path
    cal = Calibration.load(model=raw["model"], reader=raw["read_sentences"] > 0)
    assert cal.model == raw["model"] and cal.weights == tuple(raw["weights"])
    assert all(math.isfinite(w) for w in cal.weights) and math.isfinite(cal.bias)
    assert raw["held_out"]["auc"] > 0.8  # fitted and checked on held-out articles, not hand-set


def test_calibration_path_is_a_plain_file_name_for_any_model_name():
    assert calibration_path("all-MiniLM-L6-v2+int8").name == "confidence-all-MiniLM-L6-v2+int8.json"
    assert calibration_path("multilingual-e5-small", reader=False).name == (
        "confidence-multilingual-e5-small-no-reader.json"
    )
    odd = calibration_path("/home/me/models/my model:v2/../x y")
    assert odd.parent == MODELS and odd.name == "confidence-x_y.json"


def test_an_embedder_without_its_own_confidence_model_gets_the_default_one_with_a_warning(caplog):
    fallback = Calibration.load(model=FALLBACK_MODEL)
    with caplog.at_level("WARNING", logger="qa.extraction"):
        cal = Calibration.load(model="some-other-model-never-fitted")
    assert cal.weights == fallback.weights and cal.model == FALLBACK_MODEL
    assert "no confidence model was fitted for 'some-other-model-never-fitted'" in caplog.text
    assert "--fit-calibration --model some-other-model-never-fitted" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="qa.extraction"):
        full_precision = Calibration.load(model="all-MiniLM-L6-v2")  # QA_ONNX=0: the same model, no warning
    assert full_precision.weights == fallback.weights and not caplog.text


def test_turning_the_reader_off_switches_to_the_confidence_model_fitted_without_it(shared_bot):
    off = QA(shared_bot.index, shared_bot.embedder, AnswerSettings(read_sentences=0))
    on = QA(shared_bot.index, shared_bot.embedder, AnswerSettings(read_sentences=2))
    assert off.calibration.weights == Calibration.load(model=FALLBACK_MODEL, reader=False).weights
    assert on.calibration.weights == Calibration.load(model=FALLBACK_MODEL, reader=True).weights
    assert off.calibration.weights != on.calibration.weights


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
    got = extract(question, question, found)
    assert got is not None
    text = shared_bot.index.texts[got.candidate.hit.chunk.source]
    assert got.candidate.start <= got.start < got.end <= got.candidate.end
    assert text[got.start : got.end] == answer
    assert len(got.features) == len(FEATURES)
    assert got.ranked[0] is got.candidate
    features = dict(zip(FEATURES, got.features, strict=True))
    assert features["type_missing"] == 0.0
    assert features["name_coverage"] == 1.0


def test_extract_with_no_hits_is_none(shared_bot):
    qvec = shared_bot.embedder.encode_queries(["x"])[0]
    nothing = shared_bot.retriever.retrieve("x", qvec, 8, "hybrid")
    assert extract("x", "x", replace(nothing, hits=())) is None


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
        _, got = shared_bot.read(question)
        assert got is not None
        assert np.isfinite(got.features).all()
