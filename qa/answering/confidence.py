"""The confidence model: P(the documents answer the question), from the chosen sentence's features.

A logistic model over `ConfidenceFeatures`, fitted per embedder and reader setting
(`qa.answering.calibration` fits it, `qa.answering.fitted` finds its file). `found` is the
confidence reaching the threshold.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from pathlib import Path

from qa.errors import ConfigError

TYPE_MISSING_FACTOR = 0.25


@dataclass(frozen=True)
class ConfidenceFeatures:
    """What the confidence is read from, about the winning sentence.

    `dense`: its vector against the query; `coverage` / `context`: the share of the query's
    weighted terms in it / its passage; `chunk_dense`: the passage's similarity; `margin`: its
    ranking score over the runner-up's; `type_missing`: 1 when the question asks for a date,
    number or amount and no such span was found; `name_coverage`: the share of the question's
    names it holds; `reader`: the span reader's scaled score (0 when it did not read);
    `structured`: 1 when the extract was taken from the chunk's structure (a term's name, a table
    cell, a command line, a default); `rarest`: 1 when the question's most specific term (the rarest
    in the documents; one they never use counts as rarest of all) is in the sentence's passage: a
    question the documents don't answer mostly shares the passage's common words, not its most
    specific one ("Which exception is raised when a *WebSocket* handshake fails?").
    """

    dense: float
    coverage: float
    context: float
    chunk_dense: float
    margin: float
    type_missing: float
    name_coverage: float
    reader: float
    structured: float = 0.0
    rarest: float = 1.0

    def vector(self) -> tuple[float, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))


FEATURES = tuple(f.name for f in fields(ConfidenceFeatures))
BEFORE_STRUCTURE = FEATURES[:8]  # what models fitted before documents were read with their structure know


@dataclass(frozen=True)
class Calibration:
    """Logistic weights (one per feature of FEATURES) turning `ConfidenceFeatures` into a confidence.

    The features' scale depends on the embedder and on whether the span reader ran,
    so one is fitted for each (`model` names the embedder it was fitted for).
    """

    weights: tuple[float, ...]
    bias: float
    type_missing_factor: float = TYPE_MISSING_FACTOR
    model: str | None = None

    def __post_init__(self) -> None:
        if len(self.weights) != len(FEATURES):
            raise ConfigError(
                f"a confidence model needs {len(FEATURES)} weights ({', '.join(FEATURES)}), got {len(self.weights)}"
            )

    @classmethod
    def load(cls, path: Path) -> Calibration:
        """The model saved in `path`; ConfigError when it was fitted on other features.

        A model fitted before documents were read with their structure (on BEFORE_STRUCTURE) gives
        `structured` and `rarest` no weight.
        """
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        fitted = tuple(d.get("features", ()))
        if fitted not in (FEATURES, BEFORE_STRUCTURE):
            raise ConfigError(f"{path} was fitted on other features ({d.get('features')}), not {list(FEATURES)}")
        weights = tuple(float(w) for w in d["weights"]) + (0.0,) * (len(FEATURES) - len(fitted))
        return cls(weights, float(d["bias"]), model=d.get("model"))

    def confidence(self, features: ConfidenceFeatures) -> float:
        """P(the documents answer the question), from the logistic model.

        A rule on top: a question that asks for a date, number or amount whose chosen
        sentence holds none (`type_missing`) keeps only `type_missing_factor` of it.
        """
        z = self.bias + sum(w * f for w, f in zip(self.weights, features.vector(), strict=True))
        p = 1.0 / (1.0 + math.exp(-z))
        return p * self.type_missing_factor if features.type_missing else p
