"""int8 models that sum the same on every CPU: the probe of this CPU's kernel, and the lossless u8 form."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from qa import int8
from qa.answering.fitted import MODELS
from qa.answering.reading import Reader


def _flags() -> set[str]:
    text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    return set(next(line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")))


def test_the_probe_says_what_this_cpus_int8_kernel_does():
    """onnxruntime sums u8 x s8 exactly with AVX-512 VNNI (or AVX-VNNI, AMX), in saturating 16-bit pairs without."""
    flags = _flags()
    avx512_vnni = {"avx512_vnni", "avx512bw", "avx512dq", "avx512vl"} <= flags  # as onnxruntime's MLAS asks
    exact = avx512_vnni or "avx_vnni" in flags or "amx_int8" in flags
    assert int8.sums_exactly() is exact
    assert int8._probe() == int8.cache_root() / int8.PROBE and int8._probe().is_file()  # made once, then kept


def _matmul_weights(path: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    model = onnx.load(str(path))
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    return [(inits[n.input[1]], inits[n.input[3]]) for n in model.graph.node if n.op_type == "MatMulInteger"]


def test_where_s8_products_saturate_the_reader_runs_its_u8_form_and_reads_the_same(monkeypatch):
    shipped = MODELS / "reader.onnx"
    assert all(w.dtype == np.int8 and not z.any() for w, z in _matmul_weights(shipped))  # symmetric s8
    monkeypatch.setattr(int8, "sums_exactly", lambda: False)  # as on an AVX2-only CPU
    u8 = int8.same_sums_everywhere(shipped)
    assert u8 != shipped and u8.is_relative_to(int8.cache_root())
    pairs = list(zip(_matmul_weights(shipped), _matmul_weights(u8), strict=True))
    assert len(pairs) == 25
    for (w, _), (v, z) in pairs:
        assert v.dtype == np.uint8 and (z == 128).all()
        np.testing.assert_array_equal(v.astype(np.int16) - 128, w)  # the same integers
    assert int8.same_sums_everywhere(shipped) == u8  # made once
    question = "When did the war end?"
    text = "The war ended in 1945, and the treaty was signed two years later in Paris."
    a, b = Reader.load(shipped), Reader.load(u8)  # on this CPU both sum exactly: the same logits, bit for bit
    for x, y in zip(a.logits(question, [text]), b.logits(question, [text]), strict=True):
        np.testing.assert_array_equal(x, y)


def test_a_model_whose_s8_weights_are_not_symmetric_is_refused():
    model = onnx.load(str(MODELS / "reader.onnx"))
    node = next(n for n in model.graph.node if n.op_type == "MatMulInteger")
    zero = next(i for i in model.graph.initializer if i.name == node.input[3])
    zero.CopyFrom(numpy_helper.from_array(np.ones(numpy_helper.to_array(zero).shape, np.int8), zero.name))
    with pytest.raises(ValueError, match="not symmetric s8"):
        int8.shift_to_u8(model)
