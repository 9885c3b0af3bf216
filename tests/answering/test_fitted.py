"""The fitted models' files: each embedder's own, or the default's with a warning."""

from __future__ import annotations

import json
import math

import pytest

from qa.answering.confidence import BEFORE_STRUCTURE, FEATURES
from qa.answering.fitted import FALLBACK_MODEL, MODELS, calibration_path, load_calibration, load_ranker, ranker_path
from qa.answering.ranking import RANK_FEATURES, READER_AT
from qa.api import QA
from qa.settings import AnswerSettings

PACKAGED = sorted(MODELS.glob("confidence-*.json"))


def test_the_default_model_has_a_confidence_model_with_and_without_the_reader():
    assert calibration_path(FALLBACK_MODEL, reader=True) in PACKAGED
    assert calibration_path(FALLBACK_MODEL, reader=False) in PACKAGED


@pytest.mark.parametrize("path", PACKAGED, ids=lambda p: p.name)
def test_packaged_calibrations_match_the_features_and_their_file_names(path):
    raw = json.loads(path.read_text(encoding="utf-8"))
    # the default model's are fitted on every feature; another model's may predate the structure features
    assert tuple(raw["features"]) == FEATURES or (
        raw["model"] != FALLBACK_MODEL and tuple(raw["features"]) == BEFORE_STRUCTURE
    )
    assert calibration_path(raw["model"], reader=raw["read_sentences"] > 0) == path
    cal = load_calibration(raw["model"], reader=raw["read_sentences"] > 0)
    padding = (0.0,) * (len(FEATURES) - len(raw["weights"]))
    assert cal.model == raw["model"] and cal.weights == tuple(raw["weights"]) + padding
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
    fallback = load_calibration(FALLBACK_MODEL)
    with caplog.at_level("WARNING", logger="qa.answering.fitted"):
        cal = load_calibration("some-other-model-never-fitted")
    assert cal.weights == fallback.weights and cal.model == FALLBACK_MODEL
    assert "no confidence model was fitted for 'some-other-model-never-fitted'" in caplog.text
    assert "--fit-calibration --model some-other-model-never-fitted" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="qa.answering.fitted"):
        full_precision = load_calibration("all-MiniLM-L6-v2")  # QA_ONNX=0: the same model, no warning
    assert full_precision.weights == fallback.weights and not caplog.text


def test_turning_the_reader_off_switches_to_the_confidence_model_fitted_without_it(shared_bot):
    off = QA(shared_bot.index, shared_bot.embedder, AnswerSettings(read_sentences=0))
    on = QA(shared_bot.index, shared_bot.embedder, AnswerSettings(read_sentences=2))
    assert off.calibration.weights == load_calibration(FALLBACK_MODEL, reader=False).weights
    assert on.calibration.weights == load_calibration(FALLBACK_MODEL, reader=True).weights
    assert off.calibration.weights != on.calibration.weights


def test_the_shipped_ranker_was_fitted_and_beats_the_rules_on_held_out_articles():
    path = ranker_path(FALLBACK_MODEL)
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert tuple(raw["features"]) == RANK_FEATURES and raw["model"] == FALLBACK_MODEL
    first = raw["held_out"]["answer_in_first_sentence"]
    assert raw["held_out"]["questions"] > 1000
    assert first["fitted, after reading"] > first["rules, after reading"]
    assert first["fitted, before reading"] >= first["rules, before reading"]
    ranker = load_ranker(FALLBACK_MODEL)
    assert ranker.after[READER_AT] > 0, "a confident reading raises a sentence"
    assert ranker.before[READER_AT] == 0.0, "nothing is read before reading"


def test_another_embedder_gets_the_default_ranker_with_a_warning(caplog):
    with caplog.at_level("WARNING", logger="qa.answering.fitted"):
        ranker = load_ranker("an-embedder-without-a-ranker")
    assert ranker == load_ranker(FALLBACK_MODEL)
    assert "no sentence ranker was fitted for 'an-embedder-without-a-ranker'" in caplog.text
