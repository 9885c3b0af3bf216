"""Approximate nearest-neighbour (ANN) search: recall and speed of FAISS indexes on real sentence vectors.

    .venv/bin/python bench/ann.py                      # everything below: ~40 min the first time on 2 cores
                                                       # (embedding ~10-19 min, real ~6 min, 1M ~13 min)
    .venv/bin/python bench/ann.py --stage data         # only fetch + extract + embed (cached)
    .venv/bin/python bench/ann.py --stage real         # configs on the real vectors (~110k)
    .venv/bin/python bench/ann.py --stage scale        # chosen configs at --scale-n (1M) vectors

Data (cached under bench/.cache/, gitignored):
  * the `bigbench` 1.0.0 sdist from PyPI (358 MB, sha256 checked, never installed);
  * English sentences from its SQuADShifts (Wikipedia, NYT, Reddit, Amazon reviews, SQuAD dev)
    contexts, CoQA stories and VitaminC evidence/claims -> sentences.txt (>= 100k, deduplicated);
  * the SQuADShifts *questions* -> queries.txt; 1000 of them (seed 0) are the held-out queries;
  * vectors from the project's own embedder (all-MiniLM-L6-v2, ONNX path, normalized, dim 384)
    -> sentences.npy / queries.npy.

Stage "real": ground truth is exact inner-product search (IndexFlatIP), k=10. For each
approximate index (HNSW M=32; IVF-Flat, IVF-SQ8 and IVF-PQ with nlist = 4*sqrt(N)) it reports
recall@10 against the exact top 10, p50/p95 latency of single-query searches with FAISS pinned
to 1 thread, index size (bytes of the serialized index) and build time (all cores). Exact search
latency is also measured on subsets (10k .. N) to place the exact/ANN threshold.

Stage "scale": 1M vectors = all real vectors + synthetic ones "around real ones" (a random real
vector + N(0, sigma^2) per dimension, renormalized; sigma 0.02 -> cosine ~0.93 to its source).
Generated in chunks from a fixed seed, so nothing holds more than the index itself. Ground truth
is an exact streamed search. Each config is built in a fresh child process, which reports
recall@10, p50/p95 latency (1 thread), its RSS after the build and its peak RSS.

Prints tables and writes bench/results/ann.json (merged across stages).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import platform
import re
import subprocess
import sys
import tarfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
RESULTS = ROOT / "bench" / "results" / "ann.json"
SDIST = CACHE / "bigbench-1.0.0.tar.gz"
SDIST_URL = (
    "https://files.pythonhosted.org/packages/95/f8/c019b3579df548a04cac12342cfcb878e50ddf6cfcd7fddba8cfc721c157/"
    "bigbench-1.0.0.tar.gz"
)
SDIST_SHA256 = "1bb398a5512c6d798cdebe0dfa0ac03f67f6033fa6b39c6ef71df978c7cbc5c2"
TASKS = "bigbench-1.0.0/bigbench/benchmark_tasks/"
SQUAD_SHIFTS = ["squaddev_v1.1", "new_wiki_v1.0", "nyt_v1.0", "reddit_v1.0", "amazon_reviews_v1.0"]
N_QUERIES = 1000
K = 10
SIGMA = 0.02
CHUNK = 100_000
SEED = 0


# ----------------------------------------------------------------------------------------- data


def fetch_sdist() -> Path:
    """The bigbench sdist, downloaded once from PyPI's file host and checked against its sha256."""
    if not SDIST.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        print(f"downloading {SDIST_URL} (358 MB) ...", flush=True)
        tmp = SDIST.with_suffix(".part")
        with urllib.request.urlopen(SDIST_URL, timeout=300) as r, open(tmp, "wb") as f:
            while block := r.read(1 << 20):
                f.write(block)
        tmp.rename(SDIST)
    h = hashlib.sha256()
    with open(SDIST, "rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
    if h.hexdigest() != SDIST_SHA256:
        raise SystemExit(f"{SDIST} has sha256 {h.hexdigest()}, expected {SDIST_SHA256}; delete it and rerun")
    return SDIST


_ENGLISH = re.compile(r"\b(the|a|an|of|and|to|in|is|was|for|on|with|that|it|i)\b", re.I)


def _keep(sentence: str) -> bool:
    n = len(sentence.split())
    if not 6 <= n <= 80:
        return False
    ascii_share = sum(c.isascii() for c in sentence) / len(sentence)
    return ascii_share > 0.97 and bool(_ENGLISH.search(sentence))


def extract() -> tuple[list[str], list[str]]:
    """(sentences, questions) from the sdist, cached as text files, one per line."""
    s_path, q_path = CACHE / "sentences.txt", CACHE / "queries.txt"
    if s_path.exists() and q_path.exists():
        return s_path.read_text("utf-8").split("\n"), q_path.read_text("utf-8").split("\n")
    from qa.ingest.chunking import split_sentences

    wanted = [f"squad_shifts/{name}.json" for name in SQUAD_SHIFTS] + [
        "coqa_conversational_question_answering/coqa.test.json",
        "vitaminc_fact_verification/task.json",
    ]
    raw: dict[str, dict] = {}
    with tarfile.open(fetch_sdist()) as tar:  # one pass over the gzip stream
        for member in tar:
            name = member.name.removeprefix(TASKS)
            if name in wanted:
                raw[name] = json.load(io.TextIOWrapper(tar.extractfile(member), "utf-8"))

    def load(name: str) -> dict:
        return raw[name]

    passages: list[str] = []
    claims: list[str] = []
    questions: list[str] = []
    for name in SQUAD_SHIFTS:
        for article in load(f"squad_shifts/{name}.json")["data"]:
            for p in article["paragraphs"]:
                passages.append(p["context"])
                questions.extend(q["question"].strip() for q in p["qas"])
    for story in load("coqa_conversational_question_answering/coqa.test.json")["data"]:
        passages.append(story["story"])
    for ex in load("vitaminc_fact_verification/task.json")["examples"]:
        evidence, _, claim = ex["input"].partition("\nClaim:")
        passages.append(evidence.split(":", 1)[-1])
        claims.append(claim.strip())

    seen: set[str] = set()
    sentences: list[str] = []

    def add(s: str) -> None:
        s = " ".join(s.split())
        key = s.lower()
        if key not in seen and _keep(s):
            seen.add(key)
            sentences.append(s)

    for text in passages:
        for a, b in split_sentences(text):
            add(text[a:b])
    for c in claims:
        add(c)
    qseen: set[str] = set()
    queries = []
    for q in questions:
        q = " ".join(q.split())
        if len(q.split()) >= 3 and q.lower() not in qseen and q.lower() not in seen:
            qseen.add(q.lower())
            queries.append(q)
    rng = np.random.default_rng(SEED)
    queries = [queries[i] for i in rng.permutation(len(queries))]
    s_path.write_text("\n".join(sentences), "utf-8")
    q_path.write_text("\n".join(queries), "utf-8")
    return sentences, queries


def vectors() -> tuple[np.ndarray, np.ndarray, dict]:
    """(base vectors, held-out query vectors, data description), embedded once and cached as .npy."""
    sentences, queries = extract()
    queries = queries[:N_QUERIES]
    b_path, q_path = CACHE / "sentences.npy", CACHE / "queries.npy"
    if not b_path.exists() or not q_path.exists():
        from qa.index.embedding import load_embedder

        emb = load_embedder("all-MiniLM-L6-v2")
        t = time.perf_counter()
        xq = emb.encode_queries(queries)
        np.save(q_path, xq.astype(np.float32))
        print(f"embedding {len(sentences)} sentences with {type(emb).__name__} ...", flush=True)
        xb = np.concatenate(
            [emb.encode_passages(sentences[i : i + 8192]) for i in range(0, len(sentences), 8192)]
        ).astype(np.float32)
        np.save(b_path, xb)
        print(f"embedded in {time.perf_counter() - t:.0f} s", flush=True)
    xb, xq = np.load(b_path), np.load(q_path)
    assert len(xb) == len(sentences) and len(xq) == len(queries), "stale cache: delete bench/.cache/*.npy"
    info = {
        "source": "bigbench 1.0.0 sdist (PyPI): SQuADShifts contexts + CoQA stories + VitaminC evidence/claims",
        "base_sentences": len(xb),
        "queries": f"{len(xq)} SQuADShifts questions (held out; not in the base set)",
        "model": "all-MiniLM-L6-v2 (project ONNX embedder), normalized, dim 384",
        "example_sentences": sentences[:2],
        "example_queries": queries[:2],
    }
    return xb, xq, info


# ------------------------------------------------------------------------------------- measuring


def _faiss():
    import faiss

    return faiss


def _threads(n: int) -> None:
    _faiss().omp_set_num_threads(n)


def _pct(lat: list[float], p: float) -> float:
    s = sorted(lat)
    return round(1000 * s[min(len(s) - 1, int(p * len(s)))], 3)


def timed_search(index, xq: np.ndarray, k: int = K) -> tuple[np.ndarray, float, float]:
    """Single-query searches on 1 FAISS thread: (ids, p50 ms, p95 ms)."""
    _threads(1)
    for i in range(min(20, len(xq))):  # warm-up
        index.search(xq[i : i + 1], k)
    ids = np.empty((len(xq), k), dtype=np.int64)
    lat = []
    for i in range(len(xq)):
        t = time.perf_counter()
        _, found = index.search(xq[i : i + 1], k)
        lat.append(time.perf_counter() - t)
        ids[i] = found[0]
    return ids, _pct(lat, 0.5), _pct(lat, 0.95)


def recall(ids: np.ndarray, gt: np.ndarray) -> float:
    k = gt.shape[1]
    return round(float(np.mean([len(set(a[:k]) & set(b)) / k for a, b in zip(ids, gt, strict=True)])), 4)


def index_bytes(index) -> int:
    path = CACHE / f"size-{os.getpid()}.faiss"
    _faiss().write_index(index, str(path))
    try:
        return path.stat().st_size
    finally:
        path.unlink()


def nlist_for(n: int) -> int:
    return round(4 * math.sqrt(n))


def factory(name: str, d: int, n: int):
    """An empty index for config `name` at corpus size n (inner product on normalized vectors = cosine)."""
    faiss = _faiss()
    nlist = nlist_for(n)
    spec = {
        "Flat": "Flat",
        "HNSW32": "HNSW32,Flat",
        "HNSW32-efC40": "HNSW32,Flat",
        "HNSW32-SQ8": "HNSW32,SQ8",  # qa/index/build.py's hnsw-sq8 (auto above 1M sentence vectors)
        "IVF-Flat": f"IVF{nlist},Flat",
        "IVF-SQ8": f"IVF{nlist},SQ8",
        "IVF-PQ48": f"IVF{nlist},PQ48",
        "IVF-PQ48+refine": f"IVF{nlist},PQ48,RFlat",
    }[name]
    index = faiss.index_factory(d, spec, faiss.METRIC_INNER_PRODUCT)
    if name in ("HNSW32", "HNSW32-SQ8"):
        faiss.downcast_index(index).hnsw.efConstruction = 64  # HNSW32-efC40 keeps the FAISS default
    return index, spec


PARAM = {"HNSW32": "efSearch", "HNSW32-efC40": "efSearch", "HNSW32-SQ8": "efSearch"}  # everything else: nprobe


def set_param(index, name: str, value: int) -> None:
    ps = _faiss().ParameterSpace()
    if name == "IVF-PQ48+refine":
        ps.set_index_parameter(index, "k_factor_rf", 4)
    ps.set_index_parameter(index, PARAM.get(name, "nprobe"), value)


def exact_gt(xb: np.ndarray, xq: np.ndarray, k: int = K) -> np.ndarray:
    faiss = _faiss()
    _threads(os.cpu_count() or 1)
    index = faiss.IndexFlatIP(xb.shape[1])
    index.add(xb)
    return index.search(xq, k)[1]


def rss_mb() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MB, from /proc."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return round(int(fields["VmRSS"].split()[0]) / 1024), round(int(fields["VmHWM"].split()[0]) / 1024)


# ------------------------------------------------------------------------------------ stage real

REAL_CONFIGS = {
    "HNSW32": [16, 32, 64, 128, 256],
    "HNSW32-efC40": [64, 128, 256],  # efConstruction 40 (FAISS default), as qa/index/build.py builds it
    "HNSW32-SQ8": [64, 128, 256, 512],
    "IVF-Flat": [1, 4, 16, 32, 64, 128, 256],
    "IVF-SQ8": [1, 4, 16, 32, 64, 128, 256],
    "IVF-PQ48": [32, 128, 256],
    "IVF-PQ48+refine": [32, 128, 256],
}


def _configs(table: dict, names: list[str], xb: np.ndarray, xq: np.ndarray, gt: np.ndarray) -> list[dict]:
    n, d = xb.shape
    rows = []
    for name in names:
        values = table[name]
        index, spec = factory(name, d, n)
        _threads(os.cpu_count() or 1)
        t = time.perf_counter()
        index.train(xb)
        index.add(xb)
        build = round(time.perf_counter() - t, 1)
        size = index_bytes(index)
        for v in values:
            set_param(index, name, v)
            ids, p50, p95 = timed_search(index, xq)
            rows.append(
                dict(
                    config=f"{name} ({spec})",
                    param=f"{PARAM.get(name, 'nprobe')}={v}",
                    recall_at_10=recall(ids, gt),
                    p50_ms=p50,
                    p95_ms=p95,
                    index_bytes=size,
                    build_s=build,
                )
            )
            print(_row(rows[-1]), flush=True)
        del index
    return rows


def stage_real(xb: np.ndarray, xq: np.ndarray, only: list[str] | None = None) -> dict:
    """All configs; with `only`, just those (rows to merge into an earlier report)."""
    n, d = xb.shape
    gt = exact_gt(xb, xq)
    rows = []
    if only:
        return {"rows": _configs(REAL_CONFIGS, only, xb, xq, gt)}
    flat = _faiss().IndexFlatIP(d)
    flat.add(xb)
    ids, p50, p95 = timed_search(flat, xq)
    rows.append(
        dict(
            config="Flat (exact)",
            param="-",
            recall_at_10=recall(ids, gt),
            p50_ms=p50,
            p95_ms=p95,
            index_bytes=index_bytes(flat),
            build_s=0.0,
        )
    )
    print(_row(rows[-1]), flush=True)
    del flat
    rows += _configs(REAL_CONFIGS, list(REAL_CONFIGS), xb, xq, gt)
    exact_by_size = []
    for m in sorted({100, 1_000, 10_000, 30_000, 60_000, n}):
        if m > n:
            continue
        flat = _faiss().IndexFlatIP(d)
        flat.add(xb[:m])
        _, p50, p95 = timed_search(flat, xq[:300])
        exact_by_size.append({"n": m, "p50_ms": p50, "p95_ms": p95})
        print(f"exact search, {m} vectors: p50 {p50} ms, p95 {p95} ms", flush=True)
    return {
        "n": n,
        "nlist": nlist_for(n),
        "rows": rows,
        "exact_by_size": exact_by_size,
        "query_encode": encode_latency(),
    }


def encode_latency(n: int = 200) -> dict:
    """Latency of embedding one question with the project's embedder (the other half of a search)."""
    from qa.index.embedding import load_embedder

    emb = load_embedder("all-MiniLM-L6-v2")
    queries = (CACHE / "queries.txt").read_text("utf-8").split("\n")[:n]
    emb.encode_queries(queries[:5])
    lat = []
    for q in queries:
        t = time.perf_counter()
        emb.encode_queries([q])
        lat.append(time.perf_counter() - t)
    return {"embedder": type(emb).__name__, "p50_ms": _pct(lat, 0.5), "p95_ms": _pct(lat, 0.95)}


def _row(r: dict) -> str:
    return (
        f"{r['config']:<34} {r['param']:<12} recall@10 {r['recall_at_10']:<6} p50 {r['p50_ms']:>8} ms  "
        f"p95 {r['p95_ms']:>8} ms  {r['index_bytes'] / 2**20:>8.1f} MiB  build {r['build_s']} s"
    )


# ----------------------------------------------------------------------------------- stage scale

SCALE_CONFIGS = {
    "Flat": [0],
    "IVF-Flat": [64, 128, 256, 512],
    "IVF-SQ8": [64, 128, 256, 512],
    "HNSW32": [64, 128, 256],
    "HNSW32-SQ8": [128, 256, 512],
    "HNSW32-efC40": [128, 256],
}
DEFAULT_SCALE = ["Flat", "IVF-Flat", "IVF-SQ8", "HNSW32"]


def scale_chunks(xb: np.ndarray, n: int):
    """The n-vector corpus, in chunks: the real vectors, then synthetic ones around random real ones."""
    yield np.ascontiguousarray(xb[:n], dtype=np.float32)
    d = xb.shape[1]
    for j, start in enumerate(range(len(xb), n, CHUNK)):
        size = min(CHUNK, n - start)
        rng = np.random.default_rng([SEED, j])
        x = xb[rng.integers(0, len(xb), size)]
        x += rng.standard_normal((size, d), dtype=np.float32) * SIGMA
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        yield x


def scale_gt(xb: np.ndarray, xq: np.ndarray, n: int) -> np.ndarray:
    path = CACHE / f"gt-{n}-{len(xb)}-{SIGMA}.npy"
    if path.exists():
        return np.load(path)
    faiss = _faiss()
    _threads(os.cpu_count() or 1)
    best_d = np.full((len(xq), K), -np.inf, dtype=np.float32)
    best_i = np.full((len(xq), K), -1, dtype=np.int64)
    offset = 0
    for x in scale_chunks(xb, n):
        dist, ids = faiss.knn(xq, x, K, metric=faiss.METRIC_INNER_PRODUCT)
        all_d = np.concatenate([best_d, dist], axis=1)
        all_i = np.concatenate([best_i, ids + offset], axis=1)
        order = np.argsort(-all_d, axis=1, kind="stable")[:, :K]
        best_d, best_i = np.take_along_axis(all_d, order, 1), np.take_along_axis(all_i, order, 1)
        offset += len(x)
    np.save(path, best_i)
    return best_i


def scale_centroids(xb: np.ndarray, n: int) -> Path:
    """k-means centroids (nlist of them) of the first two chunks, computed once for every IVF config."""
    nlist = nlist_for(n)
    path = CACHE / f"centroids-{n}-{len(xb)}-{SIGMA}-{nlist}.npy"
    if not path.exists():
        faiss = _faiss()
        _threads(os.cpu_count() or 1)
        it = scale_chunks(xb, n)
        sample = np.concatenate([next(it), next(it)])
        t = time.perf_counter()
        km = faiss.Kmeans(xb.shape[1], nlist, niter=20, seed=SEED, max_points_per_centroid=10_000)
        km.train(sample)
        np.save(path, km.centroids)
        seconds = round(time.perf_counter() - t, 1)
        path.with_suffix(".json").write_text(json.dumps({"kmeans_s": seconds, "sample": len(sample)}))
        print(f"k-means, {nlist} centroids of {len(sample)} vectors: {seconds} s", flush=True)
    return path


def child(name: str, n: int, values: list[int]) -> dict:
    """Build one config at n vectors in this (fresh) process; measure recall, latency, RSS."""
    xb = np.load(CACHE / "sentences.npy")
    xq = np.load(CACHE / "queries.npy")
    gt = np.load(CACHE / f"gt-{n}-{len(xb)}-{SIGMA}.npy")
    d = xb.shape[1]
    index, spec = factory(name, d, n)
    _threads(os.cpu_count() or 1)
    t = time.perf_counter()
    if not index.is_trained:
        ivf = _faiss().extract_index_ivf(index)
        ivf.quantizer.add(np.load(scale_centroids(xb, n)))  # shared k-means: train() skips the quantizer
        it = scale_chunks(xb, n)
        index.train(np.concatenate([next(it), next(it)]))
    for x in scale_chunks(xb, n):
        index.add(x)
        del x
    build = round(time.perf_counter() - t, 1)
    del xb
    size = index_bytes(index)
    from qa.index.embedding import load_embedder

    emb = load_embedder("all-MiniLM-L6-v2")
    texts = (CACHE / "queries.txt").read_text("utf-8").split("\n")[: len(xq)]
    rss_built, _ = rss_mb()
    rows = []
    nq = 200 if name == "Flat" else len(xq)
    for v in values:
        if name != "Flat":
            set_param(index, name, v)
        ids, p50, p95 = timed_search(index, xq[:nq])
        # the whole search: embed the question, then search (FAISS on 1 thread)
        lat = []
        for q in texts[:200]:
            t = time.perf_counter()
            index.search(emb.encode_queries([q]), K)
            lat.append(time.perf_counter() - t)
        rows.append(
            dict(
                config=f"{name} ({spec})",
                param="-" if name == "Flat" else f"{PARAM.get(name, 'nprobe')}={v}",
                recall_at_10=recall(ids, gt[:nq]),
                p50_ms=p50,
                p95_ms=p95,
                encode_search_p50_ms=_pct(lat, 0.5),
                encode_search_p95_ms=_pct(lat, 0.95),
                index_bytes=size,
                build_s=build,
                rss_mb=rss_built,
            )
        )
    _, peak = rss_mb()
    for r in rows:
        r["peak_rss_mb"] = peak
    return {"rows": rows}


def stage_scale(xb: np.ndarray, xq: np.ndarray, n: int, configs: list[str]) -> dict:
    t = time.perf_counter()
    scale_gt(xb, xq, n)
    print(f"exact ground truth at {n} vectors: {time.perf_counter() - t:.0f} s", flush=True)
    kmeans = None
    if any(name.startswith("IVF") for name in configs):
        kmeans = json.loads(scale_centroids(xb, n).with_suffix(".json").read_text())
    rows = []
    for name in configs:
        values = ",".join(map(str, SCALE_CONFIGS[name]))
        cmd = [sys.executable, __file__, "--child", name, "--scale-n", str(n), "--values", values]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            print(f"{name} at {n}: child failed", flush=True)
            continue
        for r in json.loads(out.strip().splitlines()[-1])["rows"]:
            r["peak_rss_mb_os"] = round(usage.ru_maxrss / 1024)
            rows.append(r)
            print(
                _row(r) + f"  +encode p50 {r['encode_search_p50_ms']} ms  RSS {r['rss_mb']} MB "
                f"(peak {r['peak_rss_mb']} MB)",
                flush=True,
            )
    return {
        "n": n,
        "nlist": nlist_for(n),
        "vectors": f"{len(xb)} real + {n - len(xb)} synthetic: a random real vector + N(0, {SIGMA}^2) per dimension, "
        "renormalized (cosine ~0.93 to its source)",
        "rows": rows,
        "ivf_kmeans": kmeans
        and {
            **kmeans,
            "note": "the IVF configs share one k-means (20 iterations, all cores), not included in their build_s",
        },
    }


# ------------------------------------------------------------------------------------------ main


def recommend(report: dict, exact_budget_ms: float = 10.0) -> dict:
    """The default for large corpora and the size below which exact search is used."""
    out: dict = {}
    real = report.get("real")
    if real:
        largest = max(real["exact_by_size"], key=lambda r: r["n"])
        ms_per_vector = largest["p50_ms"] / largest["n"]
        raw = exact_budget_ms / ms_per_vector
        step = 10 ** (len(str(int(raw))) - 1)
        out["exact_below_n"] = int(raw // step * step)
        out["exact_rule"] = (
            f"exact IndexFlatIP while its 1-thread p50 stays <= {exact_budget_ms} ms "
            f"({1000 * ms_per_vector:.3f} us per vector here, linear in N)"
        )
    scale = report.get("scale")
    if scale:
        ok = [
            r
            for r in scale["rows"]
            if not r["config"].startswith("Flat")
            and r["recall_at_10"] >= 0.95
            and r["encode_search_p50_ms"] <= 30
            and r["peak_rss_mb"] <= 4096
        ]
        if ok:
            best = min(ok, key=lambda r: (r["index_bytes"], r["p50_ms"]))
            out["large_corpus_default"] = {
                k: best[k]
                for k in (
                    "config",
                    "param",
                    "recall_at_10",
                    "p50_ms",
                    "p95_ms",
                    "encode_search_p50_ms",
                    "index_bytes",
                    "peak_rss_mb",
                )
            }
            out["large_corpus_rule"] = (
                f"smallest index at {scale['n']} vectors with recall@10 >= 0.95, "
                "encode+search p50 <= 30 ms and peak RSS <= 4 GB"
            )
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", choices=["data", "real", "scale", "all"], default="all")
    ap.add_argument("--scale-n", type=int, default=1_000_000)
    ap.add_argument("--scale-configs", default=",".join(DEFAULT_SCALE), help="comma-separated")
    ap.add_argument("--real-configs", help="only these (comma-separated), merged into the existing ann.json")
    ap.add_argument("--merge", action="store_true", help="scale: keep the existing rows of other configs")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--values", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.scale_n, [int(v) for v in args.values.split(",")])))
        return 0
    xb, xq, info = vectors()
    print(f"{info['base_sentences']} base sentences, {len(xq)} queries", flush=True)
    report = json.loads(RESULTS.read_text("utf-8")) if RESULTS.exists() else {}
    report.update(
        {
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"faiss {_faiss().__version__}",
            "date": time.strftime("%Y-%m-%d"),
            "data": info,
            "k": K,
        }
    )
    if args.stage in ("real", "all"):
        load = os.getloadavg()[0]
        if args.real_configs:
            only = args.real_configs.split(",")
            fresh = stage_real(xb, xq, only)["rows"]
            keep = [r for r in report["real"]["rows"] if r["config"].split(" (")[0] not in only]
            report["real"]["rows"] = keep + fresh
        else:
            report["real"] = stage_real(xb, xq)
        report["real"]["load_avg_1min_before_after"] = [round(load, 2), round(os.getloadavg()[0], 2)]
    if args.stage in ("scale", "all"):
        load = os.getloadavg()[0]
        names = args.scale_configs.split(",")
        scale = stage_scale(xb, xq, args.scale_n, names)
        if args.merge and report.get("scale", {}).get("n") == args.scale_n:
            keep = [r for r in report["scale"]["rows"] if r["config"].split(" (")[0] not in names]
            scale["rows"] = keep + scale["rows"]
            scale["ivf_kmeans"] = scale["ivf_kmeans"] or report["scale"].get("ivf_kmeans")
        report["scale"] = scale
        report["scale"]["load_avg_1min_before_after"] = [round(load, 2), round(os.getloadavg()[0], 2)]
    report["recommendation"] = recommend(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1), encoding="utf-8")
    for part in ("real", "scale"):
        if part in report:
            print(f"\n{part}: {report[part]['n']} vectors, nlist {report[part]['nlist']}")
            for r in report[part]["rows"]:
                extra = (
                    f"  encode+search p50 {r['encode_search_p50_ms']} ms  peak RSS {r['peak_rss_mb']} MB"
                    if "encode_search_p50_ms" in r
                    else ""
                )
                print(_row(r) + extra)
    print("\nrecommendation:", json.dumps(report["recommendation"], indent=1))
    print(f"written: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
