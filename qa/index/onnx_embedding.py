"""A fast query path: the same sentence-transformers model, exported to ONNX, run by onnxruntime.

Importing torch, transformers and sentence-transformers takes seconds; answering
a question needs none of them once the model is exported. The first time a
model is loaded through sentence-transformers it is exported (mean or CLS
pooling and normalization inside the graph), checked against
sentence-transformers' own vectors on a few texts, and cached under
`$QA_CACHE` (default `~/.cache/qa-chatbot`). Later loads read the ONNX file
with `onnxruntime` and `tokenizers` only, one thread. Set `QA_ONNX=0` to
always use sentence-transformers.

The export uses plain (eager) attention, whose pattern onnxruntime's BERT
optimizer fuses: each layer's attention, layer norms and GELU become single
operators (about 130 instead of 660), which embeds a short query about twice as
fast with the same vectors.

A model named `NAME+int8` is the same export with its matrix products
quantized to 8-bit integers (onnxruntime's dynamic quantization, per channel),
made from the export on first use and checked like the export itself. Its
weights use 7 bits (`reduce_range`): a CPU without VNNI (AVX2, AVX-512
without VNNI) multiplies u8 activations by s8 weights in pairs summed into
16 bits with saturation (`vpmaddubsw`), which 8-bit weights overflow
(255 x 127 x 2 > 32767) and 7-bit ones never do (255 x 64 x 2 < 32767), so
every kernel computes the same integer sums. The file's SHA-256, the
onnxruntime version and the quantization are the model's `fingerprint`,
recorded in the index manifest: vectors of another form of the model are
never mixed with its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

_CHECK_TEXTS = [
    "Which company launched Pangu Chat?",
    "Huawei is banking on its industrial chain advantages and computing power to launch its Pangu Chat.",
    "A" * 3000,  # longer than the model's window: truncation must match
]
_TOLERANCE = 1e-4
INT8 = "+int8"
_INT8_MIN_COSINE = 0.97
FORMAT = 2  # 2: int8 weights in 7 bits (reduce_range), the same on every CPU kind
QUANTIZATION = (
    "onnxruntime dynamic: MatMul and Attention weights s8 per channel in 7 bits (reduce_range), activations u8"
)
PREPARING = "Preparing the query model (once, about a minute)…"


class Preparing:
    """What a first-time export is doing, one line a step with the seconds so far.

    Logged as warnings, so `qa serve`, `qa ask`, `qa index` and a Python program that set up no
    logging all show them: the wait is a minute, once.
    """

    def __init__(self, steps: int) -> None:
        self.steps, self.done_steps, self.t0 = steps, 0, time.perf_counter()
        log.warning(PREPARING)

    def step(self, what: str) -> None:
        self.done_steps += 1
        log.warning("  %d/%d %s (%.0f s)", self.done_steps, self.steps, what, time.perf_counter() - self.t0)

    def done(self, folder: Path) -> None:
        log.warning("Query model ready in %.0f s (kept in %s)", time.perf_counter() - self.t0, folder)


def enabled() -> bool:
    if os.environ.get("QA_ONNX", "1") == "0":
        return False
    try:
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError:
        return False
    return True


def cache_dir(name: str, target: str) -> Path:
    """Where the export of model `name` (loaded from `target`, a folder or a hub name) lives; the key
    changes when the model's files do."""
    stamp = ""
    if Path(target).exists():
        stamp = str(max((p.stat().st_mtime_ns for p in Path(target).rglob("*") if p.is_file()), default=0))
    key = hashlib.sha256(f"{FORMAT}|{name}|{target}|{stamp}".encode()).hexdigest()[:16]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[-60:]
    return cache_root() / "onnx" / f"{safe}-{key}"


def cache_root() -> Path:
    """Where models made on this machine are kept: `$QA_CACHE`, default `~/.cache/qa-chatbot`."""
    return Path(os.environ.get("QA_CACHE", Path.home() / ".cache" / "qa-chatbot"))


class OnnxEmbedder:
    """Embeds with an exported model: same vectors as sentence-transformers, without torch.

    `fingerprint`: what its vectors depend on beyond its name, for the index manifest: for an int8
    model its file's SHA-256, the onnxruntime version and the quantization; {} for the full-precision
    export (checked against sentence-transformers to 1e-4 when it was made, whatever runs it).
    """

    def __init__(
        self,
        session,
        tokenizer,
        name: str,
        dim: int,
        batch_size: int = 32,
        model: Path | None = None,
        fingerprint: dict | None = None,
    ):
        self.session, self.tokenizer, self.name, self.dim, self.batch_size = session, tokenizer, name, dim, batch_size
        self.inputs = {i.name for i in session.get_inputs()}
        self.model = model  # the .onnx file, for the bulk session
        self.fingerprint = dict(fingerprint or {})
        self._bulk = None

    @staticmethod
    def _session(path: Path, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def bulk_session(self):
        """A session on every core, for indexing many passages (the query session keeps one thread)."""
        if self._bulk is None:
            self._bulk = self._session(self.model, os.cpu_count() or 1) if self.model else self.session
        return self._bulk

    @classmethod
    def load(cls, folder: Path, name: str, threads: int = 1) -> OnnxEmbedder:
        """The export in `folder`; `name` ending in "+int8" takes its quantized model."""
        base = name.removesuffix(INT8)
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if meta.get("name") != base or meta.get("format") != FORMAT:
            raise ValueError(f"{folder} holds an export of {meta.get('name')!r}, not {base!r}")
        tokenizer, dim = _tokenizer(folder)
        model = folder / ("model-int8.onnx" if name.endswith(INT8) else "model.onnx")
        stamp = fingerprint(model) if name.endswith(INT8) else {}
        return cls(cls._session(model, threads), tokenizer, name, dim, model=model, fingerprint=stamp)

    def _encode(self, texts: list[str], session, progress: bool) -> np.ndarray:
        """Vectors in the order of `texts`; batches of similar length, so little padding is computed."""
        from tqdm.auto import tqdm

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i in tqdm(range(0, len(texts), self.batch_size), desc="Embedding", unit="batch", disable=not progress):
            rows = order[i : i + self.batch_size]
            batch = self.tokenizer.encode_batch([texts[r] for r in rows])
            feed = {
                "input_ids": np.array([e.ids for e in batch], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in batch], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in batch], dtype=np.int64),
            }
            out[rows] = session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0]
        return out  # unit rows: the graph normalizes

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.session, progress=False)

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        session = self.bulk_session() if len(texts) > self.batch_size else self.session
        return self._encode(texts, session, progress=progress)


def fingerprint(model: Path) -> dict:
    """What vectors made with the int8 file `model` depend on: its SHA-256, onnxruntime's version, the quantization.

    The hash is recorded beside the file when it is made (`<model>.json`) and taken from there while
    the file's size and modification time are still the recorded ones; otherwise it is computed again.
    """
    import onnxruntime

    record = model.with_suffix(".json")
    stat = model.stat()
    try:
        known = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict) or [known.get("size"), known.get("mtime_ns")] != [stat.st_size, stat.st_mtime_ns]:
        known = {"sha256": _sha256(model), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        with contextlib.suppress(OSError):  # a read-only cache still answers; the hash is computed each load
            record.write_text(json.dumps(known), encoding="utf-8")
    return {
        "file": model.name,
        "sha256": known["sha256"],
        "onnxruntime": onnxruntime.__version__,
        "quantization": QUANTIZATION,
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def quantize(folder: Path) -> bool:
    """Write `model-int8.onnx` beside an export; False (nothing kept) when it strays from the full model."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    name = json.loads((folder / "meta.json").read_text(encoding="utf-8"))["name"]
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".int8-", suffix=".onnx")
    os.close(fd)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.getLogger().disabled, was = True, logging.getLogger().disabled  # its pre-processing hint
            try:
                quantize_dynamic(
                    str(folder / "model.onnx"),
                    tmp,
                    per_channel=True,
                    reduce_range=True,  # 7-bit weights: no kernel saturates (see the module's docstring)
                    op_types_to_quantize=["MatMul", "Attention"],
                    weight_type=QuantType.QInt8,
                    extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},  # fused operators' outputs
                )
            finally:
                logging.getLogger().disabled = was
        tokenizer, dim = _tokenizer(folder)
        full = OnnxEmbedder(OnnxEmbedder._session(folder / "model.onnx", 1), tokenizer, name, dim)
        small = OnnxEmbedder(OnnxEmbedder._session(Path(tmp), 1), tokenizer, name + INT8, dim)
        cosine = float((full.encode_passages(_CHECK_TEXTS) * small.encode_passages(_CHECK_TEXTS)).sum(1).min())
        if cosine < _INT8_MIN_COSINE:
            log.warning("int8 model of %s strays from it (cosine %.3f); not used", name, cosine)
            return False
        target = folder / "model-int8.onnx"
        target.with_suffix(".json").unlink(missing_ok=True)
        os.replace(tmp, target)
        fingerprint(target)  # records its hash
        log.info("quantized %s to int8 (cosine to the full model >= %.3f)", name, cosine)
        return True
    finally:
        Path(tmp).unlink(missing_ok=True)


def _tokenizer(folder: Path):
    from tokenizers import Tokenizer

    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(meta["max_length"])
    tokenizer.enable_padding(pad_id=meta["pad_id"], pad_token=meta["pad_token"])
    return tokenizer, int(meta["dim"])


def export(st_embedder, folder: Path) -> bool:
    """Export a loaded SentenceTransformerEmbedder to `folder`; False (and nothing written) if unsupported."""
    import torch

    model = st_embedder.model
    modules = list(model)
    kinds = [type(m).__name__ for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or kinds[2:] not in ([], ["Normalize"]):
        log.info("no ONNX export for %s: modules %s", st_embedder.name, kinds)
        return False
    if st_embedder._query_prompt and model.prompts.get(st_embedder._query_prompt):
        log.info("no ONNX export for %s: it uses prompts", st_embedder.name)
        return False
    pooling = getattr(modules[1], "pooling_mode", None)
    if pooling is None and hasattr(modules[1], "get_pooling_mode_str"):  # sentence-transformers < 5
        pooling = modules[1].get_pooling_mode_str()
    if pooling not in ("mean", "cls"):
        log.info("no ONNX export for %s: pooling %s", st_embedder.name, pooling)
        return False
    auto_model, hf_tokenizer = modules[0].auto_model, modules[0].tokenizer
    if not getattr(hf_tokenizer, "is_fast", False):
        return False

    class Pooled(torch.nn.Module):
        def __init__(self, inner) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            if pooling == "cls":
                vector = hidden[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                vector = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(vector, dim=-1)

    sample = hf_tokenizer(["hello world", "a second, longer text"], padding=True, return_tensors="pt")
    if "token_type_ids" not in sample:
        return False
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".export-"))
    attention = getattr(auto_model.config, "_attn_implementation", None)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _set_attention(auto_model, "eager")  # the plain pattern, which onnxruntime fuses (_fuse)
            torch.onnx.export(
                Pooled(auto_model.eval()),
                (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
                str(tmp / "raw.onnx"),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["embedding"],
                dynamic_axes={n: {0: "batch", 1: "tokens"} for n in ("input_ids", "attention_mask", "token_type_ids")}
                | {"embedding": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        _fuse(tmp / "raw.onnx", tmp / "model.onnx", auto_model.config)
        (tmp / "raw.onnx").unlink()
        (tmp / "tokenizer.json").write_text(hf_tokenizer.backend_tokenizer.to_str(), encoding="utf-8")
        meta = {
            "format": FORMAT,
            "name": st_embedder.name,
            "dim": st_embedder.dim,
            "max_length": int(model.max_seq_length),
            "pooling": pooling,
            "pad_id": int(hf_tokenizer.pad_token_id or 0),
            "pad_token": hf_tokenizer.pad_token or "[PAD]",
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        fast = OnnxEmbedder.load(tmp, st_embedder.name)
        diff = float(np.abs(fast.encode_passages(_CHECK_TEXTS) - st_embedder.encode_passages(_CHECK_TEXTS)).max())
        if diff > _TOLERANCE:
            log.warning("ONNX export of %s differs by %.2g; not used", st_embedder.name, diff)
            return False
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
        log.info("exported %s to %s (max difference %.1g)", st_embedder.name, folder, diff)
        return True
    finally:
        if attention:
            _set_attention(auto_model, attention)
        shutil.rmtree(tmp, ignore_errors=True)


def _set_attention(auto_model, kind: str) -> None:
    if hasattr(auto_model, "set_attn_implementation"):
        with contextlib.suppress(Exception):
            auto_model.set_attn_implementation(kind)
            return
    auto_model.config._attn_implementation = kind


def _fuse(raw: Path, out: Path, config) -> None:
    """Write `raw` with each layer's attention, layer norms and GELU fused into single onnxruntime operators
    (onnxruntime.transformers.optimizer, BERT patterns): the same vectors, a query embedded about twice as
    fast, far fewer operators to run. A model whose patterns do not match is written as it is."""
    try:
        from onnxruntime.transformers.optimizer import optimize_model

        logging.getLogger("onnxruntime.transformers").setLevel(logging.ERROR)
        heads, hidden = int(config.num_attention_heads), int(config.hidden_size)
        fused = optimize_model(str(raw), model_type="bert", num_heads=heads, hidden_size=hidden)
        if not fused.get_fused_operator_statistics().get("Attention"):
            raise ValueError("no attention fused")
        fused.save_model_to_file(str(out))
    except Exception as exc:  # an architecture the optimizer does not know: the plain export works too
        log.info("ONNX export left unfused (%s)", exc)
        shutil.copyfile(raw, out)
