"""The ONNX query path gives the same vectors and answers as sentence-transformers (real model)."""

import numpy as np
import pytest

from qa.api import QA
from qa.index import load_index, onnx_embedding, read_manifest
from qa.index.embedding import SentenceTransformerEmbedder, export_folder, fingerprint, load_embedder
from tests.conftest import assert_verifiable

pytestmark = pytest.mark.e2e

# How far the int8 vectors may be from sentence-transformers' full-precision ones (batched as an index build
# embeds). Measured on both kinds of int8 kernel (AMD EPYC with AVX-512 VNNI, and onnxruntime's AVX2 path under
# `qemu-x86_64 -cpu Haswell`), the same on both: largest difference 0.0366 on the bundled sentences and
# QUESTIONS, 0.0373 on 445 SQuAD texts, every cosine >= 0.9817. The 8-bit weights made before, on the AVX2
# path: 0.052, cosine down to 0.965. That both kinds give the same vectors is tests/e2e/test_int8_kernels.py.
INT8_TOLERANCE, INT8_MIN_COSINE = 0.045, 0.975
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
    assert (export_folder("all-MiniLM-L6-v2") / "model.onnx").is_file()


def _sentences(index_dir) -> list[str]:
    index = load_index(index_dir)
    return [index.texts[c.source][s:e] for c in index.chunks for s, e in c.sentences]


def test_same_vectors_as_sentence_transformers(exported, bundled):
    st, fast = exported
    texts = _sentences(bundled[1]) + QUESTIONS
    assert np.abs(st.encode_passages(texts) - fast.encode_passages(texts)).max() < 1e-4
    assert np.abs(st.encode_queries(QUESTIONS) - fast.encode_queries(QUESTIONS)).max() < 1e-4
    # the default model, the int8 form of the export: close to full precision on every kind of CPU
    default = load_embedder()
    assert default.name == read_manifest(bundled[1]).model == "all-MiniLM-L6-v2+int8"
    small, full = default.encode_passages(texts), st.encode_passages(texts)
    assert np.abs(small - full).max() < INT8_TOLERANCE and (small * full).sum(1).min() > INT8_MIN_COSINE
    assert np.abs(default.encode_queries(QUESTIONS) - st.encode_queries(QUESTIONS)).max() < INT8_TOLERANCE


def test_the_int8_weights_use_7_bits_so_no_cpu_saturates_them(exported):
    """u8 x s8 products summed in pairs into 16 bits (AVX2, AVX-512 without VNNI) stay exact: 255*64*2 < 32767."""
    import onnx
    from onnx import numpy_helper

    default = load_embedder()
    model = onnx.load(str(default.model))
    inits = {i.name: i for i in model.graph.initializer}
    kinds = ("MatMulInteger", "QAttention")
    weights = [numpy_helper.to_array(inits[n.input[1]]) for n in model.graph.node if n.op_type in kinds]
    # 6 layers: attention (query, key and value fused), its output, two feed-forward products
    assert len(weights) == 24
    assert all(w.dtype == np.int8 and int(w.min()) >= -64 and int(w.max()) <= 64 for w in weights)
    assert max(int(abs(w).max()) for w in weights) == 64  # and the 7 bits are used


def test_the_int8_models_fingerprint_is_its_file(exported):
    default = load_embedder()
    stamp = fingerprint(default)
    assert stamp["file"] == "model-int8.onnx" and stamp["quantization"] == onnx_embedding.QUANTIZATION
    assert stamp["sha256"] == onnx_embedding._sha256(default.model)
    assert stamp["onnxruntime"] == __import__("onnxruntime").__version__
    assert fingerprint(exported[1]) == {} == fingerprint(exported[0])  # full precision: the name says it all


def test_same_answers_as_sentence_transformers(exported, bundled, tmp_path):
    st, fast = exported
    corpus = bundled[0]
    slow_bot = QA.load(tmp_path / "index", corpus=corpus, embedder=st)  # a full-precision index
    fast_bot = QA.load(tmp_path / "index", corpus=corpus, embedder=fast, on_stale="error")
    for question in QUESTIONS:
        a, b = slow_bot.answer(question), fast_bot.answer(question)
        assert (a.found, a.text, a.start, a.end) == (b.found, b.text, b.start, b.end)
        assert a.confidence == pytest.approx(b.confidence, abs=1e-3)
        assert_verifiable(b, corpus)


def test_a_damaged_export_falls_back_and_is_made_again(exported, caplog):
    folder = export_folder("all-MiniLM-L6-v2")
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


def test_the_int8_model_is_made_from_the_export_checked_and_close(exported, bundled, tmp_path, caplog, monkeypatch):
    import shutil

    _, full = exported
    corpus = bundled[0]
    export = export_folder("all-MiniLM-L6-v2")
    monkeypatch.setenv("QA_CACHE", str(tmp_path / "cache"))  # a cache with the export alone
    shutil.copytree(export, export_folder("all-MiniLM-L6-v2"), ignore=shutil.ignore_patterns("model-int8.*"))
    with caplog.at_level("WARNING", logger="qa.index.onnx_embedding"):
        small = load_embedder("all-MiniLM-L6-v2+int8")  # quantized on first use, in the same cache folder
    assert onnx_embedding.PREPARING in caplog.text and "1/1 quantizing it to 8 bits" in caplog.text
    assert "Query model ready in" in caplog.text
    assert isinstance(small, onnx_embedding.OnnxEmbedder)
    assert (small.name, small.dim) == ("all-MiniLM-L6-v2+int8", 384)
    assert (export_folder("all-MiniLM-L6-v2") / "model-int8.onnx").is_file()
    texts = QUESTIONS + [c.text for c in load_index(bundled[1]).chunks]
    cosine = (small.encode_passages(texts) * full.encode_passages(texts)).sum(1)
    assert cosine.min() >= 0.97 and cosine.mean() >= 0.99
    bot = QA.load(tmp_path / "index", corpus=corpus, embedder=small)
    assert bot.index.manifest.model == "all-MiniLM-L6-v2+int8"  # an fp32 index is stale for it, and back
    assert bot.index.manifest.model_fingerprint == fingerprint(small)
    answer = bot.answer(QUESTIONS[0])
    assert answer.found and answer.text == "Huawei"
    assert_verifiable(answer, corpus)


def test_int8_needs_the_onnx_path(monkeypatch):
    from qa.errors import EmbedderError

    monkeypatch.setenv("QA_ONNX", "0")
    with pytest.raises(EmbedderError, match=r"'all-MiniLM-L6-v2\+int8' needs the ONNX path"):
        load_embedder("all-MiniLM-L6-v2+int8")
