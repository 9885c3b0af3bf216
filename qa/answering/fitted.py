"""The fitted models the answers are scored with, and where their files are.

`qa/models/` holds, per embedder, a confidence model (`confidence-<model>[-no-reader].json`,
with and without the span reader), a sentence ranker (`ranker-<model>.json`) and a
conversation model (`conversation-<model>.json`, fitted on CoQA with
`qa eval --coqa FILE --fit-conversation`), and
the span reader itself (`reader.onnx`). An embedder without a file of its own gets
FALLBACK_MODEL's, with a warning: its scores then mean less. Fit one with
`qa eval --squad FILE --fit-calibration --model NAME [--read-sentences 0]`.
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path

from qa.answering.confidence import Calibration
from qa.answering.conversation_model import ConversationModel
from qa.answering.ranking import Ranker
from qa.answering.reading import Reader

log = logging.getLogger(__name__)

MODELS = Path(__file__).resolve().parent.parent / "models"
FALLBACK_MODEL = "all-MiniLM-L6-v2+int8"  # whose fitted files serve an embedder without its own
READER = MODELS / "reader.onnx"
_WARNED: set[tuple[str, str]] = set()  # (what, model) already warned about


def slug(model: str) -> str:
    """A model name or path as a plain file name part."""
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", Path(model).name) or "model"


def calibration_path(model: str, reader: bool = True) -> Path:
    """Where the confidence model fitted for embedder `model`, with the span reader on or off, is kept."""
    return MODELS / f"confidence-{slug(model)}{'' if reader else '-no-reader'}.json"


def ranker_path(model: str) -> Path:
    """Where the sentence ranker fitted for embedder `model` is kept."""
    return MODELS / f"ranker-{slug(model)}.json"


def conversation_path(model: str) -> Path:
    """Where the conversation model (how a follow-up is read) fitted for embedder `model` is kept."""
    return MODELS / f"conversation-{slug(model)}.json"


def _first_fitted(
    tried: list[Path], model: str, what: str, hint: str = "", fit: str = "--squad FILE --fit-calibration"
) -> Path | None:
    """The first file of `tried` that exists: the model's own first, then FALLBACK_MODEL's.

    Warns once when it is not the model's own (MiniLM's full-precision and int8 forms
    share theirs).
    """
    path = next((p for p in tried if p.is_file()), None)
    same_model = model.removesuffix("+int8") == FALLBACK_MODEL.removesuffix("+int8")
    own = path == tried[0] or (same_model and path == tried[1])
    if path is not None and not own and (what, model) not in _WARNED:
        _WARNED.add((what, model))
        log.warning(
            "no %s was fitted for %r; using %s, so its scores mean less (fit one: qa eval %s --model %s%s)",
            what,
            model,
            path.name,
            fit,
            model,
            hint,
        )
    return path


def load_calibration(model: str = FALLBACK_MODEL, reader: bool = True) -> Calibration:
    """The confidence model fitted for embedder `model` with the span reader on or off (else FALLBACK_MODEL's)."""
    tried = [calibration_path(m, r) for m, r in ((model, reader), (FALLBACK_MODEL, reader), (FALLBACK_MODEL, True))]
    what = "confidence model" + ("" if reader else " without the reader")
    path = _first_fitted(tried, model, what, "" if reader else " --read-sentences 0")
    return Calibration.load(path or tried[-1])  # none at all: the error names the missing file


def load_ranker(model: str = FALLBACK_MODEL) -> Ranker:
    """The sentence ranker fitted for embedder `model` (else FALLBACK_MODEL's; none at all: the hand-set rules)."""
    path = _first_fitted([ranker_path(model), ranker_path(FALLBACK_MODEL)], model, "sentence ranker")
    if path is None:  # none fitted at all (a fresh fit is about to make one)
        log.warning("no sentence ranker in %s; ordering sentences by the hand-set rules", MODELS)
        return Ranker.rules()
    return Ranker.load(path)


def load_conversation_model(model: str = FALLBACK_MODEL) -> ConversationModel:
    """The conversation model fitted for embedder `model` (else FALLBACK_MODEL's; none at all: the more
    confident reading wins)."""
    tried = [conversation_path(model), conversation_path(FALLBACK_MODEL)]
    path = _first_fitted(tried, model, "conversation model", fit="--coqa FILE --fit-conversation")
    if path is None:
        log.warning("no conversation model in %s; a follow-up's more confident reading wins", MODELS)
        return ConversationModel.confidence_only()
    return ConversationModel.load(path)


@functools.lru_cache(maxsize=1)
def default_reader() -> Reader:
    """The shipped span reader, loaded once per process and shared (its session is thread-safe)."""
    return Reader.load(READER)
