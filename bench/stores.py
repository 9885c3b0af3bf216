"""The two stores side by side: the embedded FAISS + bm25s folder and Milvus Lite. Not part of the tests.

    .venv/bin/python bench/stores.py [--squad ../shared/data/squad-v1.1-dev-articles-00-23.json] [--questions 200]

For each store, in fresh processes of its own (alternating, `--repeat` each; medians): a build from scratch (embedding
included, the same for both), the build's store writes alone (the segments are
there, only the store is written), loading, then the questions asked through
the Python API after a warm-up (p50 / p95 of `QA.answer`), the time of each
store call on the query path (dense search, BM25, sentence scores, chunks and
texts), and the process's peak memory. Prints a table with the Milvus / FAISS
ratio and writes bench/results/stores.json. Milvus Lite runs in the process
(its gRPC server on a loopback port): its per-call cost is what "overhead" means.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache" / "stores"
CALLS = ("dense", "lexical", "sentence_scores", "chunks_by_id", "document_texts")


def _questions(args) -> tuple[Path, list[str]]:
    from qa.evaluation import DEFAULT_QUESTIONS, load_questions, squad_corpus

    if args.squad:
        corpus = CACHE / "squad-corpus"
        items = squad_corpus(args.squad, corpus)
        questions = [q["question"] for q in items]
    else:
        corpus = ROOT / "corpus"
        questions = [q["question"] for q in load_questions(DEFAULT_QUESTIONS) if not q.get("history")]
    random.Random(0).shuffle(questions)
    return corpus, questions[: args.questions]


def child(args) -> dict:
    """One store: build, load, ask; the figures as a dict."""
    import resource

    from qa.api import QA, build
    from qa.index.embedding import load_embedder
    from qa.index.milvus import MilvusSettings

    corpus, questions = _questions(args)
    index = CACHE / f"{'squad' if args.squad else 'bundled'}-{args.child}"
    shutil.rmtree(index, ignore_errors=True)
    store = MilvusSettings(str(index / "milvus.db")) if args.child == "milvus" else "faiss"
    embedder = load_embedder()
    t0 = time.perf_counter()
    build(corpus, index, embedder=embedder, store=store)
    build_s = time.perf_counter() - t0
    (index / "manifest.json").unlink()  # the segments stay: only the store is written again
    t0 = time.perf_counter()
    build(corpus, index, embedder=embedder, store=store)
    write_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    bot = QA.load(index, embedder=embedder, on_stale="error")
    load_s = time.perf_counter() - t0
    spent = {c: [] for c in CALLS}
    for name in CALLS:  # time every store call on the query path
        real = getattr(bot.store, name)

        def timed(*a, _real=real, _name=name, **k):
            t = time.perf_counter()
            try:
                return _real(*a, **k)
            finally:
                spent[_name].append(time.perf_counter() - t)

        setattr(bot.store, name, timed)
    for q in questions[:3]:
        bot.answer(q)
    for c in CALLS:
        spent[c].clear()
    latencies, answers = [], []
    for q in questions:
        t0 = time.perf_counter()
        a = bot.answer(q)
        latencies.append(time.perf_counter() - t0)
        answers.append([a.text, round(a.confidence, 6)])
    latencies.sort()
    ms = lambda s: round(1000 * s, 1)  # noqa: E731
    return {
        "store": args.child,
        "chunks": bot.store.size,
        "build_s": round(build_s, 1),
        "store_write_s": round(write_s, 2),
        "load_s": round(load_s, 2),
        "p50_ms": ms(statistics.median(latencies)),
        "p95_ms": ms(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]),
        **{f"{c}_ms": ms(statistics.mean(v)) if v else 0.0 for c, v in spent.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "answers": answers,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--squad", default=None, help="a SQuAD v1.1 file: its articles are the corpus")
    ap.add_argument("--questions", type=int, default=200, help="questions asked (default 200)")
    ap.add_argument("--repeat", type=int, default=3, help="fresh processes per store, alternating (medians shown)")
    ap.add_argument("--child", choices=("faiss", "milvus"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return 0
    runs: dict[str, list[dict]] = {"faiss": [], "milvus": []}
    for _ in range(args.repeat):  # alternating, so that a busy moment of the machine hits both
        for store in runs:
            cmd = [sys.executable, __file__, "--child", store, "--questions", str(args.questions)]
            cmd += ["--squad", args.squad] if args.squad else []
            out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ})
            if out.returncode != 0:
                raise SystemExit(f"{store} failed:\n{out.stderr[-3000:]}")
            runs[store].append(json.loads(out.stdout.strip().splitlines()[-1]))
    rows = {
        store: {k: statistics.median(r[k] for r in rs) if k not in ("store", "answers") else rs[0][k] for k in rs[0]}
        for store, rs in runs.items()
    }
    same = sum(a[0] == b[0] for a, b in zip(rows["faiss"]["answers"], rows["milvus"]["answers"], strict=True))
    print(f"\n{'corpus':<18}{'SQuAD ' + Path(args.squad).name if args.squad else 'bundled'}")
    print(f"{'metric':<18}{'faiss':>10}{'milvus':>10}{'ratio':>8}")
    for key in rows["faiss"]:
        if key in ("store", "answers"):
            continue
        a, b = rows["faiss"][key], rows["milvus"][key]
        ratio = f"{b / a:.1f}" if isinstance(a, (int, float)) and a else "-"
        print(f"{key:<18}{a:>10}{b:>10}{ratio:>8}")
    print(f"{'same answers':<18}{same}/{len(rows['faiss']['answers'])}")
    out = ROOT / "bench" / "results" / ("stores-squad.json" if args.squad else "stores.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "same_answers": same}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
