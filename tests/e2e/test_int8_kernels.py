"""The int8 models compute the same on the other kind of int8 kernel: onnxruntime's AVX2 path, emulated.

onnxruntime picks its int8 kernel from the CPU it finds: with VNNI the u8 x s8 products sum exactly,
on AVX2 alone they are added in pairs into 16 bits with saturation. `qemu-x86_64 -cpu Haswell` (Debian's
qemu-user; `scripts/setup.sh --test` installs it) runs this same Python on an emulated CPU with AVX2 and
without AVX-512 or VNNI, whatever CPU runs the tests, so both paths are taken in one run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from qa.answering.fitted import MODELS, default_reader
from qa.evaluation import DEFAULT_QUESTIONS, load_questions
from qa.index import load_index
from qa.index.embedding import load_embedder

pytestmark = pytest.mark.e2e

QEMU = ["qemu-x86_64", "-cpu", "Haswell"]
WORKER = """
import json, sys
from qa import int8
from qa.index.embedding import load_embedder
from qa.answering.fitted import MODELS, default_reader
texts, pairs = json.load(sys.stdin)
spans = [default_reader().read(q, [t])[0] for q, t in pairs]
print(json.dumps({"exact": int8.sums_exactly(), "vectors": load_embedder().encode_passages(texts).tolist(),
                  "reader": str(int8.same_sums_everywhere(MODELS / "reader.onnx")),
                  "spans": [[s.start, s.end, s.score] for s in spans]}))
"""


@pytest.fixture(scope="module")
def inputs(bundled) -> tuple[list[str], list[tuple[str, str]]]:
    """The bundled article's sentences, and (question, the sentence holding its answer) for its fact questions."""
    index = load_index(bundled[1])
    sentences = [index.texts[c.source][s:e] for c in index.chunks for s, e in c.sentences]
    pairs = []
    for q in load_questions(DEFAULT_QUESTIONS):
        held = [s for s in sentences if q["answers"] and q["answers"][0] in s]
        if q["type"] == "fact" and held:
            pairs.append((q["question"], held[0]))
    return sentences, pairs[:12]


@pytest.fixture(scope="module")
def emulated(inputs) -> dict:
    assert shutil.which(QEMU[0]), "qemu-user is needed: apt-get install -y qemu-user (scripts/setup.sh --test does it)"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [*QEMU, sys.executable, "-c", WORKER],
        input=json.dumps(inputs),
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_emulated_cpu_takes_the_saturating_kernel(emulated):
    assert emulated["exact"] is False  # 255 x 127 summed in pairs saturates: this is the AVX2 path


def test_the_query_model_gives_the_same_vectors_on_both_kernels(inputs, emulated):
    texts, _ = inputs
    here = load_embedder().encode_passages(texts)
    there = np.array(emulated["vectors"], dtype=np.float32)
    rows = np.abs(here - there).max(1)
    cosine = (here * there).sum(1)
    # The integer sums are the same on both; the float kernels around them (GELU, softmax, layer norm) are
    # not bit for bit, and a last-bit difference moves an activation range or rounds a value to the next u8
    # step. Measured (the article's 45 sentences, batched as here): a row's largest difference has median
    # 0.0004, the largest 0.0155, every cosine >= 0.9958. The 8-bit weights made before: median 0.020, largest
    # 0.030, cosine down to 0.986 (on 445 SQuAD texts: 0.051 and 0.972).
    assert np.median(rows) < 0.005, np.sort(rows)[-10:]
    assert rows.max() < 0.025
    assert cosine.min() > 0.993


def test_the_reader_gives_the_same_spans_on_both_kernels(inputs, emulated):
    _, pairs = inputs
    assert len(pairs) >= 10
    assert emulated["reader"] != str(MODELS / "reader.onnx")  # its u8 form: the shipped s8 would saturate there
    here = [default_reader().read(q, [t])[0] for q, t in pairs]
    there = emulated["spans"]
    same = [(s.start, s.end) == (a, b) for s, (a, b, _) in zip(here, there, strict=True)]
    scores = np.array([s.score for s in here]), np.array([c for _, _, c in there])
    # Measured on 112 SQuAD question/sentence pairs: with the u8 form 110 spans the same, scores within 0.33
    # and every answer/no-answer decision kept (the float kernels' last bits, as for the query model); the
    # shipped s8 file run as it is there: 91 the same, scores off by up to 2.1, two decisions flipped.
    assert sum(same) >= len(same) - 1, same
    assert np.abs(scores[0] - scores[1]).max() < 0.5
    assert ((scores[0] > 0) == (scores[1] > 0)).all()
