"""Fitting the conversation model (`qa.answering.conversation_model`) on CoQA: every reading a follow-up
is tried with, scored by whether its answer holds a gold answer, a logistic regression over their features.

`qa eval --coqa FILE --fit-conversation` calls `fit_and_save`.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import numpy as np

from qa.answering.calibration import auc, fit_logistic
from qa.answering.conversation_model import FEATURES, ConversationModel
from qa.answering.fitted import conversation_path
from qa.evaluation import contains

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
