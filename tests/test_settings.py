"""Settings: one place sets how many candidates a number of quotes needs."""

from __future__ import annotations

import pytest

from qa.errors import ConfigError
from qa.settings import AnswerSettings


def test_showing_more_quotes_than_candidates_retrieves_as_many_candidates():
    default = AnswerSettings()
    assert default.with_top_k(12) == AnswerSettings(top_k=12, candidates=12)
    assert default.with_top_k(1) == AnswerSettings(top_k=1, candidates=default.candidates)
    assert AnswerSettings(candidates=30).with_top_k(5).candidates == 30


def test_a_bad_number_of_quotes_is_named():
    with pytest.raises(ConfigError, match="top_k must be an integer from 1 to 20, got 0"):
        AnswerSettings().with_top_k(0)
