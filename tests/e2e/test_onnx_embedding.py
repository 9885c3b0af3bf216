"""The ONNX query path gives the same vectors and answers as sentence-transformers (real model)."""

import numpy as np
import pytest

from qa.api import QA
from qa.index import load_index, onnx_embedding
from qa.index.embedding import SentenceTransformerEmbedder, load_embedder
from tests.conftest import assert_verifiable

pytestmark = pytest.mark.e2e

CORPUS = onnx_embedding.Path(__file__).resolve().parents[2] / "corpus"
INDEX = CORPUS.parent / "index"
QUESTIONS = [
    "Which company launched Pangu Chat?",
    "When did the U.S. Department of Commerce impose an export restriction on high-end GPUs?",
    "Who founded Lingxin Intelligent Company?",
    "What is the tallest mountain in Japan?",
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("QA_CACHE", str(tmp_path_factory.mktemp("cache")))
    mp.setenv("QA_ONNX", "1")
    first = load_embedder("all-MiniLM-L6-v2")  # no export yet: sentence-transformers, then export
    second = load_embedder("all-MiniLM-L6-v2")  # from the export
    yield first, second
    mp.undo()


def test_first_load_exports_and_the_second_uses_the_export(exported):
    first, second = exported
    assert isinstance(first, SentenceTransformerEmbedder)
    assert isinstance(second, onnx_embedding.OnnxEmbedder)
    assert (second.name, second.dim) == (first.name, first.dim)
    assert (onnx_embedding.cache_dir("all-MiniLM-L6-v2") / "model.onnx").is_file()


def test_same_vectors_as_sentence_transformers(exported):
    st, fast = exported
    index = load_index(INDEX)
    texts = [index.texts[c.source][s:e] for c in index.chunks for s, e in c.sentences] + QUESTIONS
    assert np.abs(st.encode_passages(texts) - fast.encode_passages(texts)).max() < 1e-4
    assert np.abs(st.encode_queries(QUESTIONS) - fast.encode_queries(QUESTIONS)).max() < 1e-4
    # and the committed index (the default model: the int8 form of the export) is reproduced
    default = load_embedder()
    assert default.name == index.manifest.model == "all-MiniLM-L6-v2+int8"
    assert np.abs(index.sentence_vectors - default.encode_passages(texts[: len(index.sentence_vectors)])).max() < 1e-3


def test_same_answers_as_sentence_transformers(exported, tmp_path):
    st, fast = exported
    slow_bot = QA.load(tmp_path / "index", corpus=CORPUS, embedder=st)  # a full-precision index
    fast_bot = QA.load(tmp_path / "index", corpus=CORPUS, embedder=fast, on_stale="error")
    for question in QUESTIONS:
        a, b = slow_bot.answer(question), fast_bot.answer(question)
        assert (a.found, a.text, a.start, a.end) == (b.found, b.text, b.start, b.end)
        assert a.confidence == pytest.approx(b.confidence, abs=1e-3)
        assert_verifiable(b, CORPUS)


def test_a_damaged_export_falls_back_and_is_made_again(exported, caplog):
    folder = onnx_embedding.cache_dir("all-MiniLM-L6-v2")
    (folder / "model.onnx").write_bytes(b"not an onnx file")
    mp = pytest.MonkeyPatch()
    mp.setenv("QA_ONNX", "1")
    try:
        again = load_embedder("all-MiniLM-L6-v2")
        assert isinstance(again, SentenceTransformerEmbedder)
        assert "cannot use the ONNX export" in caplog.text
        assert isinstance(load_embedder("all-MiniLM-L6-v2"), onnx_embedding.OnnxEmbedder)
    finally:
        mp.undo()


def test_the_int8_model_is_made_from_the_export_checked_and_close(exported, tmp_path):
    _, full = exported
    small = load_embedder("all-MiniLM-L6-v2+int8")  # quantized on first use, in the same cache folder
    assert isinstance(small, onnx_embedding.OnnxEmbedder)
    assert (small.name, small.dim) == ("all-MiniLM-L6-v2+int8", 384)
    assert (onnx_embedding.cache_dir("all-MiniLM-L6-v2") / "model-int8.onnx").is_file()
    texts = QUESTIONS + [c.text for c in load_index(INDEX).chunks]
    cosine = (small.encode_passages(texts) * full.encode_passages(texts)).sum(1)
    assert cosine.min() >= 0.97 and cosine.mean() >= 0.99
    bot = QA.load(tmp_path / "index", corpus=CORPUS, embedder=small)
    assert bot.index.manifest.model == "all-MiniLM-L6-v2+int8"  # an fp32 index is stale for it, and back
    answer = bot.answer(QUESTIONS[0])
    assert answer.found and answer.text == "Huawei"
    assert_verifiable(answer, CORPUS)


def test_int8_needs_the_onnx_path(monkeypatch):
    from qa.errors import EmbedderError

    monkeypatch.setenv("QA_ONNX", "0")
    with pytest.raises(EmbedderError, match=r"'all-MiniLM-L6-v2\+int8' needs the ONNX path"):
        load_embedder("all-MiniLM-L6-v2+int8")
