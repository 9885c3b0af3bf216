"""int8 models that compute the same sums on every CPU.

onnxruntime runs a dynamically quantized model by multiplying u8 activations by
the model's int8 weights. With s8 weights, a CPU with VNNI (AVX-512 VNNI,
AVX-VNNI) or AMX sums the products exactly; one without (AVX2 only, AVX-512
without VNNI) first adds them in pairs into 16 bits with saturation
(`vpmaddubsw`), and 255 x 127 x 2 > 32767: the same file computes other numbers
there. u8 weights are widened to 16 bits before they are multiplied, which sums
exactly on every CPU, more slowly where VNNI would have served.

So a model with full-range s8 weights (the shipped span reader: its fp32
weights are not kept, so it cannot be quantized again) runs as it is where a
probe shows this CPU's u8 x s8 products summed exactly, and elsewhere as its u8
form: the same integers shifted by 128, with zero point 128, made once under
`$QA_CACHE`. Both compute identical integer sums: nothing is requantized. (The
query model is quantized with 7-bit weights instead, which no kernel saturates:
qa/index/onnx_embedding.py.)
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from qa.index.onnx_embedding import cache_root

log = logging.getLogger(__name__)

PROBE = "int8-probe-1.onnx"
_ROWS, _DEPTH, _COLS = 8, 64, 8  # the probe's u8 [rows, depth] x s8 [depth, cols] product


@functools.lru_cache(maxsize=1)
def sums_exactly() -> bool:
    """Whether this CPU's u8 x s8 matrix products sum exactly (255 x 127, 64 deep: no 16-bit saturation)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(_probe()), options, providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"a": np.full((_ROWS, _DEPTH), 255, np.uint8)})
    exact = bool((out == 255 * 127 * _DEPTH).all())
    log.info("this CPU's u8 x s8 products %s", "sum exactly" if exact else "saturate in 16 bits: u8 weights are used")
    return exact


def _probe() -> Path:
    """A one-node model, u8 input times constant s8 weights of 127 (made once with `onnx`, then kept)."""
    path = cache_root() / PROBE
    if path.is_file():
        return path
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.full((_DEPTH, _COLS), 127, np.int8), "b")
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "b"], ["y"])],
        "int8_probe",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [_ROWS, _DEPTH])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [_ROWS, _COLS])],
        [weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    _write(path, model.SerializeToString())
    return path


def shift_to_u8(model) -> int:
    """Store the s8 weights of every MatMulInteger of an `onnx.ModelProto` as u8 with zero point 128; how many.

    Lossless: w + 128 with zero point 128 is w. Weights already u8 are left as they are.
    """
    from onnx import numpy_helper

    inits = {i.name: i for i in model.graph.initializer}
    done = 0
    for node in model.graph.node:
        if node.op_type != "MatMulInteger" or len(node.input) < 4 or node.input[1] not in inits:
            continue
        weights, zero = (numpy_helper.to_array(inits[node.input[i]]) for i in (1, 3))
        if weights.dtype == np.uint8:
            continue
        if weights.dtype != np.int8 or zero.dtype != np.int8 or zero.any():
            raise ValueError(f"{node.name}: weights {weights.dtype} with zero point {zero}, not symmetric s8")
        shifted = (weights.astype(np.int16) + 128).astype(np.uint8)
        inits[node.input[1]].CopyFrom(numpy_helper.from_array(shifted, node.input[1]))
        inits[node.input[3]].CopyFrom(numpy_helper.from_array(np.full(zero.shape, 128, np.uint8), node.input[3]))
        done += 1
    return done


def same_sums_everywhere(model: Path) -> Path:
    """The file to run for the int8 `model`: itself where this CPU sums s8 products exactly, else its u8 form."""
    model = Path(model)
    if sums_exactly():
        return model
    stat = model.stat()
    stamp = json.dumps([str(model.resolve()), stat.st_size, stat.st_mtime_ns])
    target = cache_root() / "u8" / f"{model.stem}-{hashlib.sha256(stamp.encode()).hexdigest()[:16]}.onnx"
    if not target.is_file():
        import onnx

        proto = onnx.load(str(model))
        count = shift_to_u8(proto)
        _write(target, proto.SerializeToString())
        log.info("%s: %d weight matrices stored as u8 for this CPU, in %s", model.name, count, target)
    return target


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
