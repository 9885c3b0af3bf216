"""The whole pipeline on a big corpus: build (vectors given), load, warm answers through `QA.answer`, ANN recall.

    .venv/bin/python bench/ann.py --stage data        # once: real sentences and their vectors in bench/.cache/
    .venv/bin/python bench/scale.py --chunks 100000 [--index-type auto|flat|hnsw|hnsw-sq8] [--workdir DIR]
    .venv/bin/python bench/scale.py --chunks 1000000 --workdir /tmp/scale-1m   # ~1 h to build on 2 cores

Embedding millions of sentences would take this machine hours, so the
sentence vectors are not computed here: each real sentence (SQuADShifts, CoQA
and VitaminC text from the bigbench sdist, see bench/ann.py) keeps its real
MiniLM vector the first time it is used, and every later copy gets that vector
plus Gaussian noise (sigma 0.02, renormalized): vectors "generated around real
ones". The texts are real sentences, four to a paragraph, a paragraph a chunk,
written as documents of 100 paragraphs into a corpus folder; everything else
(chunking, segments, the FAISS index the size calls for, BM25, the chunk table,
loading, answering) is the product's own code.

The build runs in one child process and the measurements in a fresh one, so
the RSS after load is that of a process that only loaded and answered. With
`--workdir`, an index already built there for the same corpus is reused.
Measured: load time (`QA.load`, with the corpus check), RSS after load and
after the answers, warm p50/p95 of 200 held-out SQuADShifts questions through
`QA.answer` (embedded by the real model), and recall@10 of the index's own
search (as the retriever searches: over SQ8, with the top 40 re-ranked exactly;
and of the FAISS index alone) against exact search over the same vectors (1,000 held-out question
vectors; the exact top 10 is computed from the float32 vectors the segments
keep). Prints a table and writes bench/results/scale-<chunks>-<type>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CACHE = ROOT / "bench" / ".cache"
PER_CHUNK = 4
PER_DOC = 100
K = 10


class GivenVectors:
    """An Embedder whose passage vectors are looked up (real ones) or generated around real ones."""

    def __init__(self, texts: list[str], vectors: np.ndarray, name: str, seed: int = 0) -> None:
        self.index = {t: i for i, t in enumerate(texts)}
        self.vectors = vectors
        self.name, self.dim = name, vectors.shape[1]
        self.used = np.zeros(len(texts), bool)  # real sentences whose real vector was given out once
        self.rng = np.random.default_rng(seed)
        self.generated = 0

    def encode_passages(self, texts, progress: bool = False) -> np.ndarray:
        rows = np.array([self.index.get(t, -1) for t in texts], np.int64)
        unknown = rows < 0  # a split the chunker made differently: around a random real vector
        rows[unknown] = self.rng.integers(len(self.vectors), size=int(unknown.sum()))
        out = self.vectors[rows].astype(np.float32)
        copy = unknown.copy()
        for n, i in enumerate(rows):  # the first use of a real sentence keeps its real vector
            if not copy[n]:
                copy[n] = self.used[i]
                self.used[i] = True
        m = int(copy.sum())
        if m:
            noisy = out[copy] + self.rng.normal(0, 0.02, (m, self.dim)).astype(np.float32)
            out[copy] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
            self.generated += m
        return out

    def encode_queries(self, texts) -> np.ndarray:
        raise NotImplementedError("questions are embedded by the real model")


def write_corpus(folder: Path, sentences: list[str], chunks: int) -> int:
    """Documents of PER_DOC paragraphs of PER_CHUNK real sentences; returns the number of documents."""
    folder.mkdir(parents=True, exist_ok=True)
    n_docs = (chunks + PER_DOC - 1) // PER_DOC
    k = 0
    for d in range(n_docs):
        paragraphs = []
        for _ in range(min(PER_DOC, chunks - d * PER_DOC)):
            paragraphs.append(" ".join(sentences[(k + j) % len(sentences)] for j in range(PER_CHUNK)))
            k += PER_CHUNK
        text = "\n\n".join(paragraphs) + "\n"
        path = folder / f"doc{d:05d}.txt"
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return n_docs


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    """This process's own peak RSS (VmHWM; ru_maxrss would carry over a forked parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stage_build(args, work: Path) -> dict:
    from qa.api import build
    from qa.index.embedding import default_model
    from qa.settings import VectorSettings

    sentences = (CACHE / "sentences.txt").read_text(encoding="utf-8").splitlines()
    vectors = np.load(CACHE / "sentences.npy")
    assert len(sentences) == len(vectors), "run bench/ann.py --stage data first"
    corpus, index = work / "corpus", work / "index"
    t0 = time.perf_counter()
    n_docs = write_corpus(corpus, sentences, args.chunks)
    given = GivenVectors(sentences, vectors, default_model())
    t1 = time.perf_counter()
    report = build(corpus, index, embedder=given, vectors=VectorSettings(kind=args.index_type), progress=True)
    m = report.manifest
    saved = work / f"build-{m.build_id}.json"
    if saved.is_file() and len(report.kept) == m.counts["documents"]:  # nothing new: the build that made it
        return {**json.loads(saved.read_text(encoding="utf-8")), "reused": True}
    row = {
        "documents": n_docs,
        "chunks": m.counts["chunks"],
        "sentences": m.counts["sentences"],
        "vectors_generated_around_real": given.generated,
        "vector_index": m.vector_index,
        "corpus_write_s": round(t1 - t0, 1),
        "build_s_without_embedding": round(time.perf_counter() - t1, 1),
        "build_peak_rss_mb": round(peak_mb()),
        "index_files_mb": {role: round(e["size"] / 2**20, 1) for role, e in m.files.items()},
        "segments_mb": round(sum(s[r]["size"] for s in m.segments.values() for r in ("json", "npy")) / 2**20),
        "reused": False,
    }
    saved.write_text(json.dumps(row), encoding="utf-8")
    return row


def exact_top(index_dir: Path, manifest, xq: np.ndarray, k: int = K) -> np.ndarray:
    """The exact top k sentence rows for each query, from the float32 vectors the segments keep."""
    best_s = np.full((len(xq), k), -np.inf, np.float32)
    best_i = np.full((len(xq), k), -1, np.int64)
    row = 0
    for seg in manifest.segments.values():
        v = np.load(index_dir / seg["npy"]["name"], allow_pickle=False)
        s = xq @ v.T
        ids = np.broadcast_to(np.arange(row, row + len(v)), s.shape)
        all_s, all_i = np.hstack([best_s, s]), np.hstack([best_i, ids])
        top = np.argpartition(-all_s, k - 1, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(all_s, top, 1), np.take_along_axis(all_i, top, 1)
        row += len(v)
    return best_i


def stage_serve(args, work: Path) -> dict:
    import faiss

    from qa.api import QA
    from qa.index import vectors
    from qa.index.embedding import load_embedder
    from qa.threads import pin_threads

    questions = (CACHE / "queries.txt").read_text(encoding="utf-8").splitlines()[: args.questions]
    corpus, index = work / "corpus", work / "index"
    real = load_embedder()  # the default model
    before = rss_mb()
    t0 = time.perf_counter()
    bot = QA.load(index, corpus=corpus, embedder=real, on_stale="error")
    load_s = time.perf_counter() - t0
    after_load = rss_mb()
    pin_threads(1)
    bot.answer(questions[0])
    lat = []
    for q in questions:
        t = time.perf_counter()
        bot.answer(q)
        lat.append(1000 * (time.perf_counter() - t))
    lat.sort()
    after_answers = rss_mb()
    peak = peak_mb()

    xq = np.ascontiguousarray(np.load(CACHE / "queries.npy"), dtype=np.float32)  # 1,000 held-out questions
    faiss.omp_set_num_threads(1)
    search, raw = [], []
    got = np.empty((len(xq), K), np.int64)
    for n, q in enumerate(xq):
        t = time.perf_counter()
        _, ids = vectors.search(bot.index.vectors, bot.index.exact_rows, q, K)  # as the retriever searches
        search.append(1000 * (time.perf_counter() - t))
        got[n] = ids
        raw.append(bot.index.vectors.search(q.reshape(1, -1), K)[1][0])  # the FAISS index alone
    t = time.perf_counter()
    gt = exact_top(index, bot.index.manifest, xq)
    exact_s = time.perf_counter() - t
    recall = float(np.mean([len(set(got[i]) & set(gt[i])) / K for i in range(len(xq))]))
    recall_raw = float(np.mean([len(set(raw[i]) & set(gt[i])) / K for i in range(len(xq))]))
    return {
        "vector_index": bot.index.manifest.vector_index,  # as loaded (search settings may have changed since)
        "load_s": round(load_s, 1),
        "rss_before_load_mb": round(before),
        "rss_after_load_mb": round(after_load),
        "rss_after_answers_mb": round(after_answers),
        "peak_rss_mb": round(peak),
        "questions": len(lat),
        "p50_ms": round(statistics.median(lat), 2),
        "p95_ms": round(lat[int(0.95 * (len(lat) - 1))], 2),
        "recall_at_10_vs_exact": round(recall, 4),
        "recall_at_10_faiss_alone": round(recall_raw, 4),  # without the exact re-ranking (SQ8 only differs)
        "exact_rerank": bot.index.exact_rows is not None,
        "recall_queries": len(xq),
        "search_p50_ms": round(statistics.median(search), 3),
        "exact_ground_truth_s": round(exact_s, 1),
    }


def child(stage: str, args, work: Path) -> dict:
    cmd = [sys.executable, __file__, "--stage", stage, "--chunks", str(args.chunks), "--workdir", str(work)]
    cmd += ["--index-type", args.index_type, "--questions", str(args.questions)]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--index-type", default="auto", choices=("auto", "flat", "hnsw", "hnsw-sq8"))
    ap.add_argument("--workdir", default=None, help="keep the corpus and index here (default: a temporary folder)")
    ap.add_argument("--stage", default="all", choices=("all", "build", "serve"))
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="qa-scale-"))
    if args.stage != "all":
        row = (stage_build if args.stage == "build" else stage_serve)(args, work)
        print(json.dumps(row))
        return 0
    row = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "vectors": "real MiniLM vectors of real sentences; copies: a real vector + N(0, 0.02^2), renormalized",
    }
    row.update(child("build", args, work))
    row.update(child("serve", args, work))
    for k, v in row.items():
        print(f"{k:<32} {v}")
    out = ROOT / "bench" / "results" / f"scale-{args.chunks}-{row['vector_index']['type']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(row, indent=1), encoding="utf-8")
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
