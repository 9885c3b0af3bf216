"""The whole pipeline on a big corpus: build (vectors given), load, and warm answers through `QA.answer`.

    .venv/bin/python bench/ann.py --stage data        # once: real sentences and their vectors in bench/.cache/
    .venv/bin/python bench/scale.py --chunks 100000 [--index-type auto|flat|hnsw]

Embedding 400,000 sentences would take this machine most of an hour, so the
sentence vectors are not computed here: each real sentence (SQuADShifts, CoQA
and VitaminC text from the bigbench sdist, see bench/ann.py) keeps its real
MiniLM vector, and copies beyond the real ones get that vector plus Gaussian
noise (sigma 0.02, renormalized): vectors "generated around real ones". The
texts are real sentences, four to a paragraph, a paragraph a chunk, written as
documents of 100 paragraphs into a corpus folder; everything else (chunking,
segments, the FAISS index the size calls for, BM25, loading, answering) is the
product's own code. Questions are 200 held-out SQuADShifts questions, embedded
by the real model. Prints a table and writes bench/results/scale-<chunks>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
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


class GivenVectors:
    """An Embedder whose passage vectors are looked up (real ones) or generated around real ones."""

    def __init__(self, texts: list[str], vectors: np.ndarray, name: str, seed: int = 0) -> None:
        self.index = {t: i for i, t in enumerate(texts)}
        self.vectors = vectors
        self.name, self.dim = name, vectors.shape[1]
        self.seen: set[str] = set()
        self.rng = np.random.default_rng(seed)
        self.generated = 0

    def encode_passages(self, texts, progress: bool = False) -> np.ndarray:
        out = np.empty((len(texts), self.dim), np.float32)
        for n, t in enumerate(texts):
            i = self.index.get(t)
            v = self.vectors[i] if i is not None else self.vectors[self.rng.integers(len(self.vectors))]
            if i is None or t in self.seen:  # a copy (or an unknown split): a vector around a real one
                v = v + self.rng.normal(0, 0.02, self.dim).astype(np.float32)
                v /= np.linalg.norm(v)
                self.generated += 1
            self.seen.add(t)
            out[n] = v
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
        (folder / f"doc{d:05d}.txt").write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return n_docs


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--index-type", default="auto", choices=("auto", "flat", "hnsw"))
    ap.add_argument("--workdir", default=None, help="keep the corpus and index here (default: a temporary folder)")
    args = ap.parse_args()

    from qa.api import QA, build
    from qa.embedding import load_embedder
    from qa.settings import VectorSettings
    from qa.threads import pin_threads

    sentences = (CACHE / "sentences.txt").read_text(encoding="utf-8").splitlines()
    vectors = np.load(CACHE / "sentences.npy")
    questions = (CACHE / "queries.txt").read_text(encoding="utf-8").splitlines()[: args.questions]
    assert len(sentences) == len(vectors), "run bench/ann.py --stage data first"
    work = Path(args.workdir or tempfile.mkdtemp(prefix="qa-scale-"))
    corpus, index = work / "corpus", work / "index"
    n_docs = write_corpus(corpus, sentences, args.chunks)

    real = load_embedder()  # the default model
    given = GivenVectors(sentences, vectors, real.name)
    t0 = time.perf_counter()
    report = build(corpus, index, embedder=given, vectors=VectorSettings(kind=args.index_type))
    build_s = time.perf_counter() - t0
    before = rss_mb()
    t0 = time.perf_counter()
    bot = QA.load(index, corpus=corpus, embedder=real, on_stale="error")
    load_s = time.perf_counter() - t0
    pin_threads(1)
    bot.answer(questions[0])
    lat = []
    for q in questions:
        t = time.perf_counter()
        bot.answer(q)
        lat.append(1000 * (time.perf_counter() - t))
    lat.sort()
    m = report.manifest
    row = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "documents": n_docs,
        "chunks": m.counts["chunks"],
        "sentences": m.counts["sentences"],
        "vectors_generated_around_real": given.generated,
        "vector_index": m.vector_index,
        "build_s_without_embedding": round(build_s, 1),
        "load_s": round(load_s, 1),
        "rss_after_load_mb": round(rss_mb()),
        "rss_before_load_mb": round(before),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "questions": len(lat),
        "p50_ms": round(statistics.median(lat), 2),
        "p95_ms": round(lat[int(0.95 * (len(lat) - 1))], 2),
    }
    for k, v in row.items():
        print(f"{k:<32} {v}")
    out = ROOT / "bench" / "results" / f"scale-{args.chunks}-{m.vector_index['type']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(row, indent=1), encoding="utf-8")
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
