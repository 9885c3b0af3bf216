"""The fitted model that chooses how a follow-up is read.

A follow-up's made-whole reading is searched in the conversation's document (`qa.answering.focus`);
the question as asked (when it could stand alone) is searched in all of them. Which one
answers is chosen by `ConversationModel`: a logistic model of P(the reading's answer is right) over
`ReadingFeatures` (its confidence, where it was searched, how much of the question is new
to the conversation...), fitted on CoQA conversations (`fit_and_save`, run by
`qa eval --coqa FILE --fit-conversation`) and kept in `qa/models/conversation-<model>.json`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from pathlib import Path

from qa.answering.conversation import AS_ASKED, Turn, new_share, refers
from qa.answering.focus import Focus
from qa.errors import ConfigError


@dataclass(frozen=True)
class ReadingFeatures:
    """What a follow-up's reading is judged on.

    `confidence`: the log-odds of its answer's confidence (clipped to +-8); `in_focus`: 1 when it was
    searched in the conversation's document; `focus_margin`: how sure that document is (in_focus
    only); `alone`: 1 for the question as asked, searched in every document; `alone_new`: the share
    of the question's words new to the conversation (alone only); `alone_refers`: 1 when the question
    has a word that refers back, "it", "this" (alone only); `alone_lands`: 1 when the alone reading's
    answer is in the conversation's document anyway (alone only).
    """

    confidence: float
    in_focus: float
    focus_margin: float
    alone: float
    alone_new: float
    alone_refers: float
    alone_lands: float

    def vector(self) -> tuple[float, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))


FEATURES = tuple(f.name for f in fields(ReadingFeatures))


def _log_odds(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return max(-8.0, min(8.0, math.log(p / (1 - p))))


def reading_features(choice, question: str, earlier: list[Turn], focus: Focus | None) -> ReadingFeatures:
    """The features of one tried reading (`qa.api.Choice`) of a follow-up."""
    reading, got = choice.reading, choice.extract
    alone = reading.within is None and reading.how == AS_ASKED and reading.query == reading.question
    in_focus = reading.within is not None
    lands = got is not None and focus is not None and got.candidate.hit.chunk.source == focus.document
    return ReadingFeatures(
        confidence=_log_odds(choice.confidence) if got is not None else -8.0,
        in_focus=float(in_focus),
        focus_margin=focus.margin if in_focus and focus is not None else 0.0,
        alone=float(alone),
        alone_new=new_share(question, earlier) if alone else 0.0,
        alone_refers=float(refers(question)) if alone else 0.0,
        alone_lands=float(lands) if alone else 0.0,
    )


@dataclass(frozen=True)
class ConversationModel:
    """Logistic weights over FEATURES: P(a reading of a follow-up answers it right)."""

    weights: tuple[float, ...]
    bias: float
    model: str | None = None

    def __post_init__(self) -> None:
        if len(self.weights) != len(FEATURES):
            raise ConfigError(
                f"a conversation model needs {len(FEATURES)} weights ({', '.join(FEATURES)}), got {len(self.weights)}"
            )

    @classmethod
    def confidence_only(cls) -> ConversationModel:
        """Before any fit: the more confident reading wins, wherever it was searched."""
        return cls(tuple(1.0 if f == "confidence" else 0.0 for f in FEATURES), 0.0)

    @classmethod
    def load(cls, path: Path) -> ConversationModel:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        if tuple(d.get("features", ())) != FEATURES:
            raise ConfigError(f"{path} was fitted on other features ({d.get('features')}), not {list(FEATURES)}")
        return cls(tuple(float(w) for w in d["weights"]), float(d["bias"]), d.get("model"))

    def score(self, features: ReadingFeatures) -> float:
        z = self.bias + sum(w * f for w, f in zip(self.weights, features.vector(), strict=True))
        return 1.0 / (1.0 + math.exp(-z))
