"""Fitting the confidence model: logistic regression, AUC, and collecting labelled features."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.answering.calibration import auc, collect, collect_candidates, fit_and_save, fit_logistic, fit_ranker_and_save
from qa.answering.confidence import FEATURES, Calibration, ConfidenceFeatures
from qa.answering.extraction import CANDIDATES
from qa.answering.fitted import load_calibration
from qa.answering.ranking import RANK_FEATURES, Ranker
from qa.api import QA
from qa.evaluation import contains
from qa.settings import AnswerSettings


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_fit_logistic_recovers_the_sign_of_separable_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (2.0 * x[:, 0] - 1.5 * x[:, 2] + 0.5 > 0).astype(float)
    w, b = fit_logistic(x, y)
    assert w[0] > 0 and w[2] < 0
    assert abs(w[1]) < 0.5 * min(abs(w[0]), abs(w[2]))  # the irrelevant feature stays small
    accuracy = ((sigmoid(x @ w + b) >= 0.5) == (y == 1)).mean()
    assert accuracy > 0.95


def test_fit_logistic_matches_a_known_probability():
    """One binary feature: unregularized, the fitted probabilities are the observed frequencies."""
    x = np.array([[0.0]] * 4 + [[1.0]] * 4)
    y = np.array([0, 0, 0, 1, 1, 1, 1, 0], dtype=float)  # P(y|x=0)=1/4, P(y|x=1)=3/4
    w, b = fit_logistic(x, y, l2=0.0)
    assert sigmoid(b) == pytest.approx(0.25, abs=1e-6)
    assert sigmoid(w[0] + b) == pytest.approx(0.75, abs=1e-6)


def test_sample_weights_count_like_repeated_rows():
    x = np.array([[0.0], [1.0], [1.0], [0.0]])
    y = np.array([0.0, 1.0, 0.0, 1.0])
    weights = np.array([3.0, 3.0, 1.0, 1.0])
    w1, b1 = fit_logistic(x, y, weights, l2=0.0)
    xr = np.repeat(x, weights.astype(int), axis=0)
    yr = np.repeat(y, weights.astype(int))
    w2, b2 = fit_logistic(xr, yr, l2=0.0)
    np.testing.assert_allclose(w1, w2, atol=1e-6)
    assert b1 == pytest.approx(b2, abs=1e-6)


def test_l2_shrinks_the_weights():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(100, 2))
    y = (x[:, 0] > 0).astype(float)
    loose, _ = fit_logistic(x, y, l2=0.1)
    tight, _ = fit_logistic(x, y, l2=100.0)
    assert np.abs(tight).sum() < np.abs(loose).sum()


@pytest.mark.parametrize(
    ("scores", "labels", "expected"),
    [
        ([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], 0.75),  # scikit-learn's roc_auc_score example
        ([0.1, 0.2, 0.3, 0.4], [0, 0, 1, 1], 1.0),
        ([0.4, 0.3, 0.2, 0.1], [0, 0, 1, 1], 0.0),
        ([0.9, 0.1, 0.8, 0.2, 0.7], [1, 0, 1, 0, 0], 1.0),
        ([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1], 0.5),  # a constant score tells nothing
        ([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0], 0.5),
        ([0.2, 0.5, 0.5, 0.9], [0, 1, 0, 1], 0.875),  # 3 of 4 pairs won outright, the tied one counts half
    ],
)
def test_auc(scores, labels, expected):
    assert auc(np.array(scores), np.array(labels)) == pytest.approx(expected)


def test_auc_does_not_depend_on_the_order_of_rows():
    rng = np.random.default_rng(2)
    scores = rng.integers(0, 4, size=50).astype(float)  # many ties
    labels = rng.integers(0, 2, size=50)
    perm = rng.permutation(50)
    assert auc(scores, labels) == pytest.approx(auc(scores[perm], labels[perm]))


def test_collect_labels_each_question_three_ways(shared_bot, shared_corpus):
    paragraph = paragraph_of(shared_corpus, "acme.txt", "Acme Robotics was founded")
    items = [{"question": "Who founded Acme Robotics?", "source": "acme.txt", "paragraph": paragraph}]
    x, y, w = collect(shared_bot, items)
    assert x.shape == (3, len(FEATURES))
    assert list(y) == [1.0, 0.0, 0.0]
    assert list(w) == [1.0, 0.5, 0.5]
    cal = shared_bot.calibration
    with_article, without_paragraph, without_article = (cal.confidence(ConfidenceFeatures(*row)) for row in x)
    assert with_article > without_paragraph and with_article > without_article


def paragraph_of(corpus, source: str, phrase: str) -> tuple[int, int]:
    text = (corpus / source).read_text(encoding="utf-8")
    start = text.index(phrase)
    end = text.find("\n", start)
    return start, len(text) if end < 0 else end


def test_fit_and_save_writes_a_loadable_calibration(shared_bot, shared_corpus, tmp_path):
    items = [
        {"question": "Who founded Acme Robotics?", "source": "acme.txt"},
        {"question": "How much did Acme Robotics raise?", "source": "acme.txt"},
        {"question": "What does the Lifter robot stack?", "source": "notes/history.md"},
    ]
    phrases = ["Acme Robotics was founded", "Acme Robotics raised", "The Walker robot"]
    for item, phrase in zip(items, phrases, strict=True):
        item["paragraph"] = paragraph_of(shared_corpus, item["source"], phrase)
    out = tmp_path / "calibration.json"
    report = fit_and_save(shared_bot, items[:2], items[2:], "tiny", path=out)
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved == json.loads(json.dumps(report))
    assert saved["features"] == list(FEATURES)
    assert saved["held_out"]["questions"] == 1 and saved["held_out"]["examples"] == 3
    assert saved["held_out"]["positives"] == 1
    cal = Calibration.load(out)
    assert len(cal.weights) == len(FEATURES)


@pytest.mark.parametrize(
    ("read_sentences", "name"), [(2, "confidence-fake-hash-64.json"), (0, "confidence-fake-hash-64-no-reader.json")]
)
def test_fit_and_save_writes_where_the_embedder_and_reader_setting_load_it_from(
    shared_bot, shared_corpus, tmp_path, monkeypatch, read_sentences, name
):
    bot = QA(shared_bot.index, shared_bot.embedder, AnswerSettings(read_sentences=read_sentences))
    monkeypatch.setattr("qa.answering.fitted.MODELS", tmp_path)
    items = [
        {"question": "Who founded Acme Robotics?", "source": "acme.txt"},
        {"question": "What does the Lifter robot stack?", "source": "notes/history.md"},
    ]
    for item, phrase in zip(items, ["Acme Robotics was founded", "The Walker robot"], strict=True):
        item["paragraph"] = paragraph_of(shared_corpus, item["source"], phrase)
    report = fit_and_save(bot, items[:1], items[1:], "tiny")
    assert [p.name for p in tmp_path.iterdir()] == [name]
    assert report["model"] == "fake-hash-64" and report["read_sentences"] == read_sentences
    loaded = load_calibration("fake-hash-64", reader=read_sentences > 0)
    assert loaded.model == "fake-hash-64" and loaded.weights == tuple(report["weights"])


def test_fit_ranker_and_save_writes_a_ranker_the_product_loads(shared_bot, tmp_path):
    items = [
        {"question": "Who founded Acme Robotics?", "answers": ["Jane Doe"]},
        {"question": "How many engineers does Acme Robotics employ?", "answers": ["120"]},
        {"question": "How much weight does the Walker robot carry?", "answers": ["40 kilograms"]},
        {"question": "Which partners does Acme Robotics have?", "answers": ["Zenith Labs"]},
    ]
    out = tmp_path / "ranker.json"
    report = fit_ranker_and_save(shared_bot, items[:2], items[2:], "tiny", contains, path=out)
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["features"] == list(RANK_FEATURES) and saved["model"] == shared_bot.embedder.name
    assert saved["held_out"] == report["held_out"] and saved["held_out"]["questions"] == 2
    ranker = Ranker.load(out)
    assert ranker.before == tuple(saved["before"]) and ranker.after == tuple(saved["after"])
    assert ranker.before != Ranker.rules().before, "fitted, not the hand-set weights"


def test_collect_candidates_labels_the_sentences_that_hold_the_answer(shared_bot):
    (got,) = collect_candidates(
        shared_bot, [{"question": "Who founded Acme Robotics?", "answers": ["Jane Doe"]}], contains
    )
    assert got.features.shape == (len(got.labels), len(RANK_FEATURES)) and len(got.reads) == len(got.labels)
    assert 1 <= len(got.labels) <= CANDIDATES
    assert got.labels.sum() == 1.0, "one sentence of the corpus names Jane Doe"
    assert (got.features[:, RANK_FEATURES.index("read")] == 0).all(), "features before reading"
