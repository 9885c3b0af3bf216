"""Ordering candidate sentences, and fitting the weights that do it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.answering.ranking import RANK_FEATURES, READER_AT, Ranker, SentenceFeatures, fit_softmax, simulate, top1


def features(**values: float) -> list[float]:
    return [values.get(name, 0.0) for name in RANK_FEATURES]


def sentence(**values: float) -> SentenceFeatures:
    return SentenceFeatures(**{name: values.get(name, 0.0) for name in RANK_FEATURES})


def test_the_rules_are_the_hand_set_formula():
    rules = Ranker.rules()
    f = sentence(dense=0.5, coverage=0.8, context=0.4, chunk_dense=0.6, typed_span=1.0, name_coverage=1.0)
    hand = 0.5 + 0.6 * 0.8 + 0.3 * 0.4 + 0.2 * 0.6 + 0.15 + 0.2
    assert rules.score(f, read=False) == pytest.approx(hand)
    assert rules.score(f.with_reading(7.0), read=True) == pytest.approx(hand + 0.2 * 7.0)
    assert rules.score(f.with_reading(40.0), read=True) == pytest.approx(hand + 0.2 * 10.0), "clipped at 10"
    assert rules.best_after_reading(f) == pytest.approx(hand + 2.0)


def test_with_reading_sets_the_score_and_the_read_flag_only():
    f = sentence(dense=0.3, coverage=0.2)
    read = f.with_reading(-25.0)
    assert read.vector()[:READER_AT] == f.vector()[:READER_AT]
    assert read.vector()[READER_AT:] == (-1.0, 1.0)
    assert (read.reader, read.read) == (-1.0, 1.0)


@pytest.mark.parametrize(("before", "after"), [((1.0,), Ranker.rules().after), (Ranker.rules().before, (1.0,) * 3)])
def test_a_ranker_needs_a_weight_per_feature(before, after):
    with pytest.raises(ValueError, match="needs 8 weights per stage"):
        Ranker(before, after)


def test_a_ranker_fitted_on_other_features_is_refused(tmp_path):
    path = tmp_path / "ranker.json"
    path.write_text(json.dumps({"features": ["dense"], "before": [1.0], "after": [1.0]}), encoding="utf-8")
    with pytest.raises(ValueError, match="fitted on other features"):
        Ranker.load(path)


def synthetic(n_groups: int, seed: int, true_w: np.ndarray):
    rng = np.random.default_rng(seed)
    groups, labels = [], []
    for _ in range(n_groups):
        x = rng.normal(size=(8, len(true_w)))
        y = np.zeros(8)
        y[int(np.argmax(x @ true_w + rng.gumbel(size=8) * 0.3))] = 1.0
        groups.append(x)
        labels.append(y)
    return groups, labels


def test_fit_softmax_learns_which_candidate_comes_first():
    true_w = np.array([2.0, -1.0, 0.0, 0.5])
    groups, labels = synthetic(400, 0, true_w)
    w = fit_softmax(groups, labels)
    cosine = float(w @ true_w / np.linalg.norm(w) / np.linalg.norm(true_w))
    assert cosine > 0.95
    test_groups, test_labels = synthetic(300, 1, true_w)
    assert top1(w, test_groups, test_labels) > 0.8
    assert top1(np.zeros(4) + np.array([0.0, 1.0, 0.0, 0.0]), test_groups, test_labels) < 0.3, "a wrong weighting"


def test_fit_softmax_leaves_out_groups_without_an_answer_and_refuses_none():
    groups, labels = synthetic(200, 2, np.array([1.0, 1.0]))
    empty = [np.zeros(8)] * len(labels)
    noise = [np.random.default_rng(3).normal(size=(8, 2)) * 100 for _ in range(200)]
    w = fit_softmax(groups + noise, labels + empty)
    assert np.allclose(w, fit_softmax(groups, labels))
    with pytest.raises(ValueError, match="no group has a positive"):
        fit_softmax(noise, empty)


def _candidates(coverages):
    return np.array([features(dense=1.0 - i / 10, coverage=c) for i, c in enumerate(coverages)])


def test_simulate_reads_the_first_always_and_the_next_as_the_product_does():
    before = np.array(features(dense=1.0))
    x = _candidates([0.9, 0.9, 0.9])
    out = simulate(before, x, np.array([1.0, 2.0, 3.0]), coverage_slack=0.15, sure=3.0, n=2)
    assert out[0, READER_AT:].tolist() == [0.1, 1.0]
    assert out[1, READER_AT:].tolist() == [0.2, 1.0]
    assert out[2, READER_AT:].tolist() == [0.0, 0.0], "only the best n are read"
    sure = simulate(before, x, np.array([5.0, 2.0, 3.0]), coverage_slack=0.15, sure=3.0, n=2)
    assert sure[1, READER_AT:].tolist() == [0.0, 0.0], "the first is sure: the second is not read"
    lacking = simulate(before, _candidates([0.9, 0.5, 0.9]), np.zeros(3), coverage_slack=0.15, sure=3.0, n=2)
    assert lacking[1, READER_AT:].tolist() == [0.0, 0.0], "it lacks the first one's question terms"
