"""The training script's own copy of SQuAD's answer scores agrees with the product's (`qa eval`)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from qa.evaluation import f1_score, normalize_answer

_SPEC = importlib.util.spec_from_file_location("train_reader", Path(__file__).parent.parent / "train" / "reader.py")
train_reader = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(train_reader)


@pytest.mark.parametrize(
    ("pred", "gold"),
    [
        ("The Denver Broncos", "Denver Broncos"),
        ("an apple, a pear.", "Apple pear"),
        ("4 March 2024", "March 2024"),
        ("", "anything"),
        ("Tesla's AC motor", "AC motor (Tesla)"),
        ("nothing in common", "else entirely"),
    ],
)
def test_train_and_eval_score_answers_alike(pred, gold):
    assert train_reader.normalize(pred) == normalize_answer(pred)
    assert train_reader.f1(pred, gold) == pytest.approx(f1_score(pred, gold))
    assert train_reader.scores(pred, [gold])[1] == pytest.approx(f1_score(pred, gold))
