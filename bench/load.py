"""A bounded load test of the running chat: N concurrent gradio_client users for S seconds, loopback only.

    .venv/bin/python bench/load.py [--clients 20] [--seconds 60] [--port 7861]

Starts the app on 127.0.0.1 in a child process, lets each client ask questions
from the bundled set in a loop until the time is up, then stops everything and
prints requests, errors, throughput and latency percentiles. Not part of the tests.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def wait_until_up(url: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the app did not come up at {url}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--port", type=int, default=7861)
    args = ap.parse_args()
    from gradio_client import Client

    from qa.evaluation import load_questions

    questions = [q["question"] for q in load_questions(ROOT / "eval" / "bundled_questions.jsonl")]
    url = f"http://127.0.0.1:{args.port}/"
    server = subprocess.Popen(
        [sys.executable, "-m", "ui.app", "--port", str(args.port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    try:
        wait_until_up(url)
        stop = time.time() + args.seconds

        def user(n: int) -> None:
            client = Client(url, verbose=False)
            i = n
            while time.time() < stop:
                t0 = time.perf_counter()
                try:
                    history = client.predict(questions[i % len(questions)], [], api_name="/chat")
                    ok = history and history[-1]["role"] == "assistant"
                    error = None if ok else "no reply"
                except Exception as exc:  # every failure counts
                    error = f"{type(exc).__name__}: {exc}"
                with lock:
                    (errors.append(error) if error else latencies.append(time.perf_counter() - t0))
                i += 1

        started = time.time()
        threads = [threading.Thread(target=user, args=(n,)) for n in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.time() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    latencies.sort()
    pick = lambda p: round(1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))], 1)  # noqa: E731
    report = {
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "requests": len(latencies) + len(errors),
        "errors": len(errors),
        "throughput_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(1000 * statistics.median(latencies), 1) if latencies else None,
        "p95_ms": pick(0.95) if latencies else None,
        "max_ms": round(1000 * latencies[-1], 1) if latencies else None,
        "first_errors": errors[:3],
    }
    print(json.dumps(report, indent=1))
    out = ROOT / "bench" / "results" / "load.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
