"""Latency and memory against corpus size, from the bench results, as one PNG.

    .venv/bin/pip install -e '.[bench]'     # matplotlib
    .venv/bin/python bench/plot.py [--docs]

Reads bench/results/ann.json (bench/ann.py), peers.json (bench/peers.py) and latest.json
(bench/run.py), whichever exist, and draws bench/results/bench.png:
  * left:  search latency p50 (ms, 1 FAISS thread) against the number of vectors: exact
           search (IndexFlatIP) at every measured size, each approximate config at the real
           (~114k) and 1M sizes, the whole question (embed + search) at 1M, and the chatbot's
           whole warm answer on the bundled corpus;
  * right: index bytes and process peak RSS against the number of vectors.
--docs also copies the figure to docs/bench.png (the one the README shows).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def _load(name: str) -> dict | None:
    path = RESULTS / name
    return json.loads(path.read_text("utf-8")) if path.exists() else None


def _family(config: str) -> str:
    return config.split(" (")[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", action="store_true", help="also copy the figure to docs/bench.png")
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ann, peers, latest = _load("ann.json"), _load("peers.json"), _load("latest.json")
    if not (ann or peers or latest):
        raise SystemExit("no results in bench/results: run bench/ann.py, bench/peers.py or bench/run.py first")
    fig, (lat_ax, mem_ax) = plt.subplots(1, 2, figsize=(13, 6.8))
    bundled_n = peers["chunks"] if peers else None
    rec = (ann or {}).get("recommendation", {}).get("large_corpus_default", {})

    # ---- latency
    if ann and "real" in ann:
        exact = sorted((r["n"], r["p50_ms"]) for r in ann["real"]["exact_by_size"])
        flat_scale = [r for r in ann.get("scale", {}).get("rows", []) if _family(r["config"]) == "Flat"]
        exact += [(ann["scale"]["n"], r["p50_ms"]) for r in flat_scale]
        lat_ax.plot(*zip(*exact, strict=True), "o-", color="black", label="exact search (IndexFlatIP)")
        # per family: the fastest setting with recall@10 >= 0.95, at each size
        families: dict[str, list[tuple[int, float, float]]] = {}
        for part in ("real", "scale"):
            for r in ann.get(part, {}).get("rows", []):
                fam = _family(r["config"])
                if fam.startswith("Flat") or r["recall_at_10"] < 0.95:
                    continue
                families.setdefault(fam, []).append((ann[part]["n"], r["p50_ms"], r["recall_at_10"]))
        for fam, pts in families.items():
            best: dict[int, tuple[float, float]] = {}
            for n, ms, rc in pts:
                if n not in best or ms < best[n][0]:
                    best[n] = (ms, rc)
            xs = sorted(best)
            lat_ax.plot(xs, [best[n][0] for n in xs], "s--", label=f"{fam}, fastest with recall@10 >= 0.95")
        if rec:
            lat_ax.plot(
                [ann["scale"]["n"]],
                [rec["encode_search_p50_ms"]],
                "*",
                markersize=14,
                color="tab:red",
                label=f"embed + search, {_family(rec['config'])} {rec['param']}",
            )
    if peers and bundled_n:
        lat_ax.plot(
            [bundled_n],
            [peers["rows"]["project"]["warm"]["p50_ms"]],
            "*",
            markersize=14,
            color="tab:green",
            label="chatbot, whole warm answer (bundled corpus)",
        )
    lat_ax.axhline(30, color="grey", lw=0.8, ls=":")
    lat_ax.set(
        xscale="log",
        yscale="log",
        xlabel="vectors in the index",
        ylabel="p50 latency, ms (1 FAISS thread)",
        title="Search latency against corpus size",
    )
    lat_ax.text(0.01, 33, "30 ms budget", fontsize=7, color="grey", transform=lat_ax.get_yaxis_transform())
    lat_ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    lat_ax.grid(True, which="major", alpha=0.3)

    # ---- memory
    if ann:
        sizes: dict[str, dict[int, float]] = {}
        for part in ("real", "scale"):
            for r in ann.get(part, {}).get("rows", []):
                fam = _family(r["config"])
                sizes.setdefault(fam.replace("Flat (exact)", "Flat"), {})[ann[part]["n"]] = r["index_bytes"] / 2**20
        if "real" in ann:  # an exact index is N x dim x 4 bytes at every size
            per_vector = next(r for r in ann["real"]["rows"] if _family(r["config"]).startswith("Flat"))
            per_vector = per_vector["index_bytes"] / ann["real"]["n"]
            ns = sorted({r["n"] for r in ann["real"]["exact_by_size"]} | set(sizes.get("Flat", {})))
            sizes.setdefault("Flat", {}).update({n: n * per_vector / 2**20 for n in ns})
        for fam, pts in sizes.items():
            xs = sorted(pts)
            mem_ax.plot(xs, [pts[n] for n in xs], "o-", label=f"index size, {fam}")
        rss = [
            (ann["scale"]["n"], r["peak_rss_mb"], _family(r["config"])) for r in ann.get("scale", {}).get("rows", [])
        ]
        seen = set()
        for n, mb, fam in rss:
            if fam not in seen:
                seen.add(fam)
                mem_ax.plot([n], [mb], "^", markersize=9, label=f"process peak RSS at 1M, {fam}")
    if peers and bundled_n:
        mem_ax.plot(
            [bundled_n],
            [peers["rows"]["project"]["cold"]["peak_rss_mb"]],
            "*",
            markersize=14,
            color="tab:green",
            label="chatbot `qa ask` peak RSS (bundled corpus)",
        )
    mem_ax.axhline(4096, color="grey", lw=0.8, ls=":")
    mem_ax.set(
        xscale="log", yscale="log", xlabel="vectors in the index", ylabel="MiB", title="Memory against corpus size"
    )
    mem_ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    mem_ax.grid(True, which="major", alpha=0.3)

    where = (ann or peers or latest).get("machine", "")
    fig.suptitle(f"qa-chatbot bench: {where}", fontsize=10)
    fig.tight_layout()
    out = RESULTS / "bench.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"written: {out}")
    if args.docs:
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(out, ROOT / "docs" / "bench.png")
        print(f"copied to {ROOT / 'docs' / 'bench.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
