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
import random
import time
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

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


# --- fitting -------------------------------------------------------------------------------------
CHECKED = 500  # held-out turns the fit is checked on
Item = tuple[str, tuple, tuple[str, ...]]  # a question, its gold history, its gold answers


def _later(turns_) -> list[Item]:
    return [(t.question, t.history, t.answers) for t in turns_ if t.kind == "extractive" and t.number > 1]


def _new_topics(turns_, rng: random.Random) -> list[Item]:
    """New topics: the first question of another story asked after a conversation (whose document no
    longer answers it), as many as a quarter of the later turns."""
    later = [t for t in turns_ if t.kind == "extractive" and t.number > 1]
    firsts = [t for t in turns_ if t.kind == "extractive" and t.number == 1]
    out = []
    for t in rng.sample(later, min(len(later), len(later) // 4)):
        other = rng.choice([f for f in firsts if f.story != t.story])
        out.append((other.question, t.history, other.answers))
    return out


def collect(bot, items: list[Item], contains) -> tuple[np.ndarray, np.ndarray, list]:
    """Every reading `bot` tries for each item: its features and whether its answer holds a gold answer;
    the rows of each question as one group."""
    xs, ys, groups = [], [], []
    for question, history, answers in items:
        group = []
        for choice in bot.attempts(question, list(history)):
            got = choice.extract
            text = bot.index.texts[got.candidate.hit.chunk.source][got.start : got.end] if got is not None else ""
            xs.append(choice.features.vector())
            ys.append(float(bool(text) and any(contains(text, g) for g in answers)))
            group.append(len(xs) - 1)
        if group:
            groups.append(group)
    return np.array(xs, dtype=np.float64), np.array(ys), groups


def chosen(weights: np.ndarray, bias: float, x: np.ndarray, y: np.ndarray, groups: list) -> float:
    """Share of questions whose highest-scored reading is right."""
    return float(np.mean([y[g][int(np.argmax(x[g] @ weights + bias))] for g in groups])) if groups else 0.0


def fit_and_save(bot, fit_turns: list, source: str, path: Path | None = None) -> dict:
    """Fit the conversation model on CoQA turns (the domains fitted on); write it next to the other models.

    The turns' stories are split in two: fitted on one half, checked on the other: a logistic regression
    over every reading tried, new topics included.
    """
    from qa.answering.calibration import auc, fit_logistic
    from qa.answering.fitted import conversation_path
    from qa.evaluation import contains

    rng = random.Random(14)
    stories = sorted({t.story for t in fit_turns})
    rng.shuffle(stories)
    half = set(stories[: len(stories) // 2])
    train, test = ([t for t in fit_turns if (t.story in half) == side] for side in (True, False))
    checked = sorted(rng.sample(range(len(_later(test))), min(CHECKED, len(_later(test)))))
    test_later = [_later(test)[i] for i in checked]
    started, kept = time.perf_counter(), bot.conversation
    bot.conversation = ConversationModel.confidence_only()  # the readings' scores do not matter here
    try:
        x, y, _ = collect(bot, _later(train) + _new_topics(train, rng), contains)
        weights, bias = fit_logistic(x, y)
        xt, yt, gt = collect(bot, test_later + _new_topics(test, rng)[: CHECKED // 4], contains)
    finally:
        bot.conversation = kept
    confidence_only = np.array([1.0 if f == "confidence" else 0.0 for f in FEATURES])
    report = {
        "model": bot.embedder.name,
        "features": list(FEATURES),
        "weights": [round(float(v), 5) for v in weights],
        "bias": round(bias, 5),
        "fitted_on": f"{source}: the later extractive turns of {len(half)} stories of the domains fitted on, each "
        "with its gold history, and new topics (another story's first question after a conversation)",
        "fitted_at": time.strftime("%Y-%m-%d"),
        "fit_seconds": round(time.perf_counter() - started),
        "held_out": {
            "stories": len(stories) - len(half),
            "questions": len(gt),
            "readings": len(yt),
            "auc": round(auc(xt @ weights + bias, yt), 4),
            "right reading chosen (fitted)": round(chosen(weights, bias, xt, yt, gt), 4),
            "right reading chosen (most confident)": round(chosen(confidence_only, 0.0, xt, yt, gt), 4),
            "some reading right": round(float(np.mean([yt[g].max() for g in gt])), 4) if gt else 0.0,
        },
    }
    path = path or conversation_path(bot.embedder.name)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report
