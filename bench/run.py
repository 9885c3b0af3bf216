"""Speed and memory of the chatbot on this machine. Not part of the tests.

    .venv/bin/python bench/run.py [--repeat 5] [--squad ../shared/data/squad-v1.1-dev-articles-00-23.json]
    .venv/bin/python bench/run.py --only gradio     # one group of rows: cold, warm, gradio or build

Prints a table and writes bench/results/latest.json (or latest-<group>.json with
--only). Every row is measured in this run; cold starts are fresh processes
(median of --repeat), warm latency is the median / p95 over the bundled question
set through the Python API, once as the machine is and once with a busy-loop
process pinned to the last core (the query path runs one ONNX thread, so a second
busy core should barely move it), and through the running chat: the app started
on a free loopback port, one gradio_client asking the bundled questions one after
another on `/chat` (after a warm-up), then stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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


def _timed(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Seconds, peak RSS (MB) and standard output of one fresh process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed")
    return elapsed, usage.ru_maxrss / 1024, out


def cold(cmd: list[str], repeat: int, **env_extra) -> dict:
    env = {**os.environ, **env_extra}
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
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
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
        [PYTHON, "-m", "ui.app", "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
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
        _, rss, out = _timed([PYTHON, "-c", code], {**os.environ, **env_extra})
    r = json.loads(out.strip().splitlines()[-1])
    r["chunks_per_s"] = round(r["chunks"] / r["seconds"], 1)
    r["words_per_s"] = round(r["words"] / r["seconds"])
    r["peak_rss_mb"] = round(rss)
    r["corpus"] = label
    return r


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--squad", default=None, help="also time building the index of a SQuAD file's articles")
    ap.add_argument("--only", choices=GROUPS, default=None, help="measure one group of rows")
    ap.add_argument("--requests", type=int, default=50, help="requests for the gradio_client row")
    args = ap.parse_args()
    groups = [args.only] if args.only else list(GROUPS)
    rows: dict[str, dict] = {}
    subprocess.run([QA_BIN, "ask", QUESTION], capture_output=True, cwd=ROOT, check=True)  # make the ONNX export
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
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "load_avg_1min_at_end": round(os.getloadavg()[0], 2),  # the machine may be shared
        "rows": rows,
    }
    print(f"\n{report['machine']}, {report['date']}")
    width = max(map(len, rows))
    for name, row in rows.items():
        print(f"{name:<{width}}  " + "  ".join(f"{k}={v}" for k, v in row.items() if k != "corpus"))
    out = ROOT / "bench" / "results" / (f"latest-{args.only}.json" if args.only else "latest.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"\nwritten: {out}")
    return 0


GROUPS = ("cold", "warm", "gradio", "build")


def cold_rows(rows: dict, repeat: int) -> None:
    rows["cold qa ask (ONNX query path)"] = cold([QA_BIN, "ask", QUESTION, "--top-k", "1"], repeat)
    # Without the ONNX path the default is the full-precision model: its own index, in a temporary folder
    # (the committed index/ holds the int8 model's vectors and must not be rebuilt by a benchmark).
    st_index = Path(tempfile.mkdtemp()) / "index"
    st_env = {**os.environ, "QA_ONNX": "0"}
    make = [QA_BIN, "index", "--index", str(st_index), "--corpus", str(ROOT / "corpus")]
    subprocess.run(make, env=st_env, check=True, capture_output=True)
    rows["cold qa ask (sentence-transformers, QA_ONNX=0)"] = cold(
        [QA_BIN, "ask", QUESTION, "--top-k", "1", "--index", str(st_index)], repeat, QA_ONNX="0"
    )
    rows["cold python -c answer(...)"] = cold(
        [PYTHON, "-c", f"from qa import answer; print(answer({QUESTION!r}).text)"], repeat
    )


def build_rows(rows: dict, squad: str | None) -> None:
    rows["build, bundled corpus"] = build(ROOT / "corpus", "bundled")
    if squad:
        from qa.evaluation import squad_corpus

        corpus = Path(tempfile.mkdtemp()) / "corpus"
        squad_corpus(squad, corpus)
        rows["build, SQuAD dev 0-23 (1,048 paragraphs)"] = build(corpus, "squad")
        rows["build, SQuAD dev 0-23, full precision (QA_MODEL=all-MiniLM-L6-v2)"] = build(
            corpus, "squad", QA_MODEL="all-MiniLM-L6-v2"
        )


if __name__ == "__main__":
    sys.exit(main())
