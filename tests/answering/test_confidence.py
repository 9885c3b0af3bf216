"""The confidence model: a logistic model over the winning sentence's named features."""

from __future__ import annotations

import json
import math

import pytest

from qa.answering.confidence import FEATURES, Calibration, ConfidenceFeatures
from qa.errors import ConfigError


def features(**values: float) -> ConfidenceFeatures:
    return ConfidenceFeatures(**{name: values.get(name, 0.0) for name in FEATURES})


def test_calibration_confidence_is_the_logistic_of_the_weighted_features():
    weights = features(dense=2.0, coverage=-1.0).vector()
    cal = Calibration(weights=weights, bias=0.5)
    assert cal.confidence(features()) == pytest.approx(1 / (1 + math.exp(-0.5)))
    assert cal.confidence(features(dense=1.0, coverage=3.0)) == pytest.approx(1 / (1 + math.exp(0.5)))
    assert cal.confidence(features(dense=50.0)) <= 1.0
    assert cal.confidence(features(coverage=50.0)) >= 0.0


def test_a_missing_answer_type_never_raises_confidence():
    cal = Calibration(weights=features(dense=2.0).vector(), bias=0.0)
    assert cal.confidence(features(dense=1.0, type_missing=1.0)) < cal.confidence(features(dense=1.0))


def test_a_model_with_the_wrong_number_of_weights_is_refused_when_made():
    with pytest.raises(ConfigError, match=f"needs {len(FEATURES)} weights"):
        Calibration(weights=(1.0, 2.0), bias=0.0)


def test_a_model_fitted_on_other_features_is_refused_when_loaded(tmp_path):
    path = tmp_path / "confidence.json"
    path.write_text(json.dumps({"features": ["dense"], "weights": [1.0], "bias": 0.0}), encoding="utf-8")
    with pytest.raises(ConfigError, match="fitted on other features"):
        Calibration.load(path)
    renamed = [*FEATURES[:-1], "something else"]
    path.write_text(json.dumps({"features": renamed, "weights": [1.0] * len(FEATURES), "bias": 0.0}), "utf-8")
    with pytest.raises(ConfigError, match="fitted on other features"):
        Calibration.load(path)


def test_a_model_fitted_before_the_structure_features_gives_them_no_weight(tmp_path):
    path = tmp_path / "confidence.json"
    older = list(FEATURES[:8])
    assert older[-1] == "reader" and "structured" not in older
    path.write_text(json.dumps({"features": older, "weights": [1.0] * 8, "bias": 0.0}), encoding="utf-8")
    cal = Calibration.load(path)
    assert cal.weights == (1.0,) * 8 + (0.0,) * (len(FEATURES) - 8)
    assert cal.confidence(features(structured=1.0, rarest=0.0)) == cal.confidence(features())
