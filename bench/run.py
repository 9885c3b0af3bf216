"""Speed and memory of the chatbot on this machine, as ratios to the textbook pipeline run alongside. Not a test.

    .venv/bin/python bench/run.py [--repeat 5] [--squad ../shared/data/squad-v1.1-dev-articles-00-23.json]
    .venv/bin/python bench/run.py --only gradio     # one group of rows: cold, warm, gradio or build

Prints the CPU (model, cores, AVX2 / AVX-512 / VNNI / AMX, and which int8 kernel
onnxruntime takes: qa/int8.py), a table and the targets, and writes
bench/results/latest.json (or latest-<group>.json with --only). Everything runs
on a temporary copy of the bundled article (its own corpus and index folders, so
your corpus/ and index/ are neither measured nor touched).

Every row is measured in this run, and so is the textbook pipeline
(bench/peers.py: sentence-transformers `encode` + `faiss.IndexFlatIP`, retrieval
only, torch's default threads) on the same chunks and the same English
questions: each row's `x_textbook` is its time over the textbook's (warm p50 or
cold start), which holds from one CPU to another where absolute times do not.
Cold starts are fresh processes (median of --repeat); warm latency is the median
/ p95 over the bundled questions through the Python API, once as the machine is
and once with a busy-loop process pinned to the last core, and through the
running chat (the app on a free loopback port, one gradio_client asking on
`/chat` after a warm-up).

Targets (issue 15), same run, same questions: warm full answer p50 <= 0.5 x the
textbook's retrieval p50; cold `qa ask` <= 1.0 s and <= 0.25 x the textbook's
cold start.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
QA_BIN = str(Path(PYTHON).with_name("qa"))
QUESTION = "Which company launched Pangu Chat?"
BUNDLED = "china-large-model-industry.txt"
WORK = Path(tempfile.mkdtemp(prefix="qa-bench-"))
CORPUS, INDEX = WORK / "corpus", WORK / "index"
ENV = {**os.environ, "QA_CORPUS": str(CORPUS), "QA_INDEX": str(INDEX)}  # the bundled article alone
TARGET_WARM, TARGET_COLD_S, TARGET_COLD = 0.5, 1.0, 0.25


def _timed(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Seconds, peak RSS (MB) and standard output of one fresh process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env or ENV, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed")
    return elapsed, usage.ru_maxrss / 1024, out


def cold(cmd: list[str], repeat: int, **env_extra) -> dict:
    env = {**ENV, **env_extra}
    runs = [_timed(cmd, env) for _ in range(repeat)]
    return {"median_s": round(statistics.median(r[0] for r in runs), 3), "peak_rss_mb": round(max(r[1] for r in runs))}


BUSY_LOOP = "while True: pass"


def warm_with_busy_core(repeat: int) -> dict:
    """Warm latency while a busy-loop process spins on the last core (another tenant, a build, a test run)."""
    core = max(os.sched_getaffinity(0))
    busy = subprocess.Popen([PYTHON, "-c", BUSY_LOOP], preexec_fn=lambda: os.sched_setaffinity(0, {core}))
    try:
        time.sleep(0.5)
        row = warm(repeat)
    finally:
        busy.kill()
        busy.wait()
    row["busy_core"] = core
    return row


def warm(repeat: int, read_sentences: int | None = None, chinese: bool = False) -> dict:
    """Latency of `answer()` over the bundled questions in English (`chinese`: the Chinese ones, the dictionary
    loaded by the warm-up question); `read_sentences` set: a `QA` with that reader setting."""
    setup = (
        "from qa import answer"
        if read_sentences is None
        else f"from qa import QA\nfrom qa.settings import AnswerSettings\n"
        f"answer = QA.load(settings=AnswerSettings(read_sentences={read_sentences})).answer"
    )
    code = f"""
import json, statistics, time
{setup}
from qa.evaluation import load_questions
qs = [q for q in load_questions({str(ROOT / "eval" / "bundled_questions.jsonl")!r})
      if q['type'].startswith('zh') == {chinese}]
answer(qs[0]['question'])
lat = []
for _ in range({repeat}):
    for q in qs:
        t = time.perf_counter(); answer(q['question'], q.get('history')); lat.append(time.perf_counter() - t)
lat.sort()
print(json.dumps({{"questions": len(lat), "p50_ms": round(1000 * statistics.median(lat), 2),
                  "p95_ms": round(1000 * lat[int(0.95 * len(lat))], 2)}}))
"""
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True, env=ENV).stdout
    return json.loads(out.strip().splitlines()[-1])


FOLLOW_UPS = [  # issue 14's conversations over the bundled article, beside the bundled set's own follow-ups
    ("Who co-founded Minimax?", "Yan Junjie", "And what about Baichuan Smart Company?"),
    ("Which company launched Pangu Chat?", "Huawei", "And Tencent?"),
    ("Who initiated Baichuan Smart Company?", "Wang Xiaochuan", "What was his previous role?"),
]


def warm_follow_ups(repeat: int) -> dict:
    """Warm latency of a follow-up beside the first turn it follows, pair by pair in one process: the bundled
    English follow-ups and FOLLOW_UPS, each first question asked alone, then its follow-up with the history."""
    code = f"""
import json, statistics, time
from qa import answer
from qa.evaluation import load_questions
pairs = [(q['history'], q['question']) for q in load_questions({str(ROOT / "eval" / "bundled_questions.jsonl")!r})
         if q['type'] == 'followup']
pairs += [([{{"role": "user", "content": f}}, {{"role": "assistant", "content": a}}], q) for f, a, q in {FOLLOW_UPS!r}]
answer(pairs[0][0][0]['content']); answer(pairs[0][1], pairs[0][0])
first, follow = [], []
for _ in range({repeat}):
    for history, question in pairs:
        t = time.perf_counter(); answer(history[0]['content']); first.append(time.perf_counter() - t)
        t = time.perf_counter(); answer(question, history); follow.append(time.perf_counter() - t)
p50 = lambda xs: round(1000 * statistics.median(xs), 2)
print(json.dumps({{"pairs": len(pairs), "first_turn_p50_ms": p50(first), "follow_up_p50_ms": p50(follow),
                  "follow_up_over_first": round(statistics.median(follow) / statistics.median(first), 2)}}))
"""
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def warm_gradio(requests: int = 50, warmup: int = 5) -> dict:
    """Warm answer latency through the running chat: one gradio_client, sequential `/chat` requests."""
    from gradio_client import Client

    from qa.evaluation import load_questions

    qs = [q["question"] for q in load_questions(ROOT / "eval" / "bundled_questions.jsonl") if q["type"] != "zh"]
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = subprocess.Popen(
        [PYTHON, "-m", "ui.app", "--port", str(port)],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        t0 = time.perf_counter()
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.perf_counter() - t0 > 120:
                    raise SystemExit("the chat app did not come up") from None
                time.sleep(0.2)
        up_s = time.perf_counter() - t0
        client = Client(url, verbose=False)
        for i in range(warmup):
            client.predict(qs[i % len(qs)], [], api_name="/chat")
        lat, replies = [], 0
        for i in range(requests):
            t = time.perf_counter()
            history = client.predict(qs[i % len(qs)], [], api_name="/chat")
            lat.append(time.perf_counter() - t)
            replies += bool(history) and history[-1]["role"] == "assistant"
    finally:
        server.terminate()
        server.wait(timeout=30)
    lat.sort()
    return {
        "requests": len(lat),
        "replies": replies,
        "p50_ms": round(1000 * statistics.median(lat), 2),
        "p95_ms": round(1000 * lat[int(0.95 * (len(lat) - 1))], 2),
        "server_up_s": round(up_s, 1),
    }


def build(corpus: Path, label: str, **env_extra) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        code = f"""
import json, time
from qa.api import build
from qa.ingest.documents import load_corpus
docs, _ = load_corpus({str(corpus)!r})
t = time.perf_counter(); m = build({str(corpus)!r}, {tmp!r}); s = time.perf_counter() - t
words = sum(len(d.text.split()) for d in docs)
c = getattr(m, "manifest", m).counts  # build() returns a SyncReport (or, before, the Manifest)
print(json.dumps({{"chunks": c["chunks"], "sentences": c["sentences"], "words": words, "seconds": round(s, 2)}}))
"""
        _, rss, out = _timed([PYTHON, "-c", code], {**ENV, **env_extra})
    r = json.loads(out.strip().splitlines()[-1])
    r["chunks_per_s"] = round(r["chunks"] / r["seconds"], 1)
    r["words_per_s"] = round(r["words"] / r["seconds"])
    r["peak_rss_mb"] = round(rss)
    r["corpus"] = label
    return r


def textbook(repeat: int) -> dict:
    """The textbook pipeline in this run (bench/peers.py), on the bundled chunks and the same English questions."""
    from peers import TEXTBOOK_COLD, TEXTBOOK_WARM
    from peers import cold as peer_cold
    from peers import warm as peer_warm

    from qa.evaluation import load_questions
    from qa.index import load_index

    work = tempfile.mkdtemp(prefix="textbook-", dir=WORK)
    questions = load_questions(ROOT / "eval" / "bundled_questions.jsonl")
    Path(work, "chunks.json").write_text(json.dumps([c.text for c in load_index(INDEX).chunks]), "utf-8")
    Path(work, "questions.json").write_text(
        json.dumps([q["question"] for q in questions if not q["type"].startswith("zh")]), "utf-8"
    )
    warm_row = peer_warm(PYTHON, TEXTBOOK_WARM, work, max(1, repeat // 2))
    one_thread = peer_warm(PYTHON, ONE_THREAD + TEXTBOOK_WARM, work, max(1, repeat // 2))
    cold_row = peer_cold([PYTHON, "-c", TEXTBOOK_COLD.format(work=work, question=QUESTION)], repeat)
    return {"warm": warm_row, "warm_1t": one_thread, "cold": {k: v for k, v in cold_row.items() if k != "top1"}}


# The textbook again on one torch thread, as the chatbot runs: on a busy machine torch's default threads fight
# over the cores and its time balloons; this row shows how much of a ratio that is.
ONE_THREAD = "import torch\ntorch.set_num_threads(1)\n"


def with_ratios(rows: dict, peer: dict) -> None:
    """Each row's time over the textbook's: warm p50 over its warm p50, a cold start over its cold start."""
    for row in rows.values():
        if "p50_ms" in row:
            row["x_textbook"] = round(row["p50_ms"] / peer["warm"]["p50_ms"], 2)
            row["x_textbook_1_thread"] = round(row["p50_ms"] / peer["warm_1t"]["p50_ms"], 2)
        elif "median_s" in row:
            row["x_textbook"] = round(row["median_s"] / peer["cold"]["median_s"], 2)


def targets(rows: dict) -> list[str]:
    """The issue's targets, met or not, for the rows this run measured."""
    lines = []
    answer, ask = rows.get("warm answer, bundled corpus"), rows.get("cold qa ask (ONNX query path)")
    if answer:
        x = answer["x_textbook"]
        met = _met(x <= TARGET_WARM)
        lines.append(f"warm full answer p50 {x} x the textbook's retrieval p50 (target <= {TARGET_WARM}): {met}")
        lines.append(f"  (and {answer['x_textbook_1_thread']} x the textbook's on one torch thread)")
    if ask:
        s, x = ask["median_s"], ask["x_textbook"]
        lines.append(f"cold qa ask {s} s (target <= {TARGET_COLD_S} s): {_met(s <= TARGET_COLD_S)}")
        lines.append(f"cold qa ask {x} x the textbook's cold start (target <= {TARGET_COLD}): {_met(x <= TARGET_COLD)}")
    return lines


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> int:
    from peers import cpu_info, describe_cpu

    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--squad", default=None, help="also time building the index of a SQuAD file's articles")
    ap.add_argument("--only", choices=GROUPS, default=None, help="measure one group of rows")
    ap.add_argument("--requests", type=int, default=50, help="requests for the gradio_client row")
    args = ap.parse_args()
    groups = [args.only] if args.only else list(GROUPS)
    cpu = cpu_info()
    print(describe_cpu(cpu), flush=True)
    CORPUS.mkdir(parents=True)
    shutil.copy2(ROOT / "corpus" / BUNDLED, CORPUS / BUNDLED)
    subprocess.run([QA_BIN, "ask", QUESTION], capture_output=True, cwd=ROOT, check=True, env=ENV)  # export, index
    rows: dict[str, dict] = {}
    peer = textbook(args.repeat) if {"cold", "warm", "gradio"} & set(groups) else None
    if peer:
        rows["textbook: sentence-transformers encode + faiss IndexFlatIP, retrieval only, warm"] = peer["warm"]
        rows["textbook, the same on one torch thread"] = peer["warm_1t"]
        rows["textbook: cold start (import, load model and index, one query)"] = peer["cold"]
    if "cold" in groups:
        cold_rows(rows, args.repeat)
    if "warm" in groups:
        rows["warm answer, bundled corpus"] = warm(max(1, args.repeat // 2))
        rows["warm answer, bundled corpus, span reader off (--read-sentences 0)"] = warm(max(1, args.repeat // 2), 0)
        rows["warm answer, bundled corpus, Chinese questions (read twice: as they are and in English)"] = warm(
            max(1, args.repeat // 2), chinese=True
        )
        rows["warm follow-up beside the first turn it follows, bundled corpus"] = warm_follow_ups(args.repeat)
        if len(os.sched_getaffinity(0)) > 1:
            rows["warm answer, bundled corpus, other core busy"] = warm_with_busy_core(max(1, args.repeat // 2))
    if "gradio" in groups:
        rows["warm answer through the chat (gradio_client, /chat), bundled corpus"] = warm_gradio(args.requests)
    if "build" in groups:
        build_rows(rows, args.squad)
    if peer:
        with_ratios(rows, peer)
    report = {
        "cpu": cpu,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "load_avg_1min_at_end": round(os.getloadavg()[0], 2),  # the machine may be shared
        "rows": rows,
        "targets": targets(rows),
    }
    print(f"\n{describe_cpu(cpu)}\n{report['machine']}, {report['date']}, load {report['load_avg_1min_at_end']}")
    width = max(map(len, rows))
    for name, row in rows.items():
        print(f"{name:<{width}}  " + "  ".join(f"{k}={v}" for k, v in row.items() if k != "corpus"))
    for line in report["targets"]:
        print(line)
    out = ROOT / "bench" / "results" / (f"latest-{args.only}.json" if args.only else "latest.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"\nwritten: {out}")
    with contextlib.suppress(OSError):
        shutil.rmtree(WORK)
    return 0


GROUPS = ("cold", "warm", "gradio", "build")


def cold_rows(rows: dict, repeat: int) -> None:
    rows["cold qa ask (ONNX query path)"] = cold([QA_BIN, "ask", QUESTION, "--top-k", "1"], repeat)
    # Without the ONNX path the default is the full-precision model: its own index, in a folder of its own.
    st_index = WORK / "index-full-precision"
    st_env = {**ENV, "QA_ONNX": "0"}
    make = [QA_BIN, "index", "--index", str(st_index), "--corpus", str(CORPUS)]
    subprocess.run(make, env=st_env, check=True, capture_output=True)
    rows["cold qa ask (sentence-transformers, QA_ONNX=0)"] = cold(
        [QA_BIN, "ask", QUESTION, "--top-k", "1", "--index", str(st_index)], repeat, QA_ONNX="0"
    )
    rows["cold python -c answer(...)"] = cold(
        [PYTHON, "-c", f"from qa import answer; print(answer({QUESTION!r}).text)"], repeat
    )


def build_rows(rows: dict, squad: str | None) -> None:
    rows["build, bundled corpus"] = build(CORPUS, "bundled")
    if squad:
        from qa.evaluation import squad_corpus

        corpus = WORK / "squad" / "corpus"
        squad_corpus(squad, corpus)
        rows["build, SQuAD dev 0-23 (1,048 paragraphs)"] = build(corpus, "squad")
        rows["build, SQuAD dev 0-23, full precision (QA_MODEL=all-MiniLM-L6-v2)"] = build(
            corpus, "squad", QA_MODEL="all-MiniLM-L6-v2"
        )


if __name__ == "__main__":
    sys.exit(main())
