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


def percentile_ms(sorted_seconds: list[float], p: float) -> float | None:
    """The p-th quantile of sorted latencies in seconds, in milliseconds; None for none."""
    if not sorted_seconds:
        return None
    return round(1000 * sorted_seconds[min(len(sorted_seconds) - 1, int(p * len(sorted_seconds)))], 1)


def ask_in_a_loop(
    urls: list[str], questions: list[str], clients: int, seconds: float
) -> tuple[dict[str, list[float]], list[str], float]:
    """`clients` gradio_client users asking `questions` in turn for `seconds`, spread round-robin over `urls`
    as a load balancer would: each URL's latencies (seconds), every error, and the wall time taken."""
    from gradio_client import Client

    latencies: dict[str, list[float]] = {u: [] for u in urls}
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.time() + seconds

    def user(n: int) -> None:
        connected = {u: Client(u, verbose=False) for u in urls}
        i = n
        while time.time() < stop:
            url = urls[i % len(urls)]
            t0 = time.perf_counter()
            try:
                history = connected[url].predict(questions[i % len(questions)], [], api_name="/chat")
                error = None if history and history[-1]["role"] == "assistant" else "no reply"
            except Exception as exc:  # every failure counts
                error = f"{type(exc).__name__}: {exc}"
            with lock:
                (errors.append(error) if error else latencies[url].append(time.perf_counter() - t0))
            i += 1

    started = time.time()
    threads = [threading.Thread(target=user, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, time.time() - started


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--port", type=int, default=7861)
    args = ap.parse_args()
    from qa.evaluation import load_questions

    questions = [q["question"] for q in load_questions(ROOT / "eval" / "bundled_questions.jsonl")]
    url = f"http://127.0.0.1:{args.port}/"
    server = subprocess.Popen(
        [sys.executable, "-m", "ui.app", "--port", str(args.port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(url)
        latencies, errors, elapsed = ask_in_a_loop([url], questions, args.clients, args.seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)
    every = sorted(latencies[url])
    report = {
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "requests": len(every) + len(errors),
        "errors": len(errors),
        "throughput_per_s": round(len(every) / elapsed, 1),
        "p50_ms": round(1000 * statistics.median(every), 1) if every else None,
        "p95_ms": percentile_ms(every, 0.95),
        "max_ms": round(1000 * every[-1], 1) if every else None,
        "first_errors": errors[:3],
    }
    print(json.dumps(report, indent=1))
    out = ROOT / "bench" / "results" / "load.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
