"""Many servers over one Milvus: two `qa serve` replicas on loopback sharing one `milvus-lite server`.

    .venv/bin/python bench/replicas.py [--clients 8] [--seconds 60] [--replicas 2]

Starts `milvus-lite server --host 127.0.0.1` on a free port, indexes the bundled
corpus into it (`qa index --store milvus --milvus-uri http://127.0.0.1:PORT`),
starts the replicas (`qa serve`, each its own process on its own port, all over
the same index folder), and lets gradio_client users ask the bundled questions
round-robin over the replicas until the time is up, as a load balancer would
spread them. Then stops everything and prints requests, errors, throughput and
latency percentiles, overall and per replica. Bounded, loopback only. Not part of the tests.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from load import ask_in_a_loop, percentile_ms  # noqa: E402  (the same users and percentiles as bench/load.py)

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(port: int, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args[:3]} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--replicas", type=int, default=2)
    args = ap.parse_args()
    from qa.evaluation import load_questions

    questions = [q["question"] for q in load_questions(ROOT / "eval" / "bundled_questions.jsonl")]
    work = Path(tempfile.mkdtemp(prefix="qa-replicas-"))
    procs: list[subprocess.Popen] = []
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    try:
        mport = free_port()
        milvus = subprocess.Popen(
            [str(BIN / "milvus-lite"), "server", "--data-dir", str(work / "milvus"), "--host", "127.0.0.1",
             "--port", str(mport)], **quiet,
        )  # fmt: skip
        procs.append(milvus)
        wait_until_up(mport, milvus)
        index = work / "index"
        uri = f"http://127.0.0.1:{mport}"
        t0 = time.time()
        subprocess.run(
            [str(BIN / "qa"), "index", "--index", str(index), "--corpus", str(ROOT / "corpus"), "--store", "milvus",
             "--milvus-uri", uri], check=True, cwd=ROOT, **quiet,
        )  # fmt: skip
        build_s = time.time() - t0
        ports = [free_port() for _ in range(args.replicas)]
        for port in ports:
            procs.append(
                subprocess.Popen(
                    [str(BIN / "qa"), "serve", "--index", str(index), "--port", str(port)], cwd=ROOT, **quiet
                )
            )
        for port, proc in zip(ports, procs[1:], strict=True):
            wait_until_up(port, proc)
        urls = [f"http://127.0.0.1:{p}/" for p in ports]
        latencies, errors, elapsed = ask_in_a_loop(urls, questions, args.clients, args.seconds)
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)
    every = sorted(x for v in latencies.values() for x in v)
    report = {
        "replicas": args.replicas,
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "index_build_s": round(build_s, 1),
        "requests": len(every) + len(errors),
        "errors": len(errors),
        "throughput_per_s": round(len(every) / elapsed, 2),
        "p50_ms": round(1000 * statistics.median(every), 1) if every else None,
        "p95_ms": percentile_ms(every, 0.95),
        "per_replica": {
            u: {"requests": len(v), "p95_ms": percentile_ms(sorted(v), 0.95)} for u, v in latencies.items()
        },
        "first_errors": errors[:3],
    }
    print(json.dumps(report, indent=1))
    out = ROOT / "bench" / "results" / "replicas.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
