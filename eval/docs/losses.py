"""Where answers are lost, stage by stage, on the documentation question sets (never on the held-out one).

For each answerable question, in the order the pipeline runs:
  retrieved  a chunk holding a gold answer (in its text, or its term for a "which function" question) is
             among the chunks read (hybrid, and dense or BM25 alone: what the embedder and BM25 each find);
  candidate  a sentence holding it is among the candidate sentences the ranker orders;
  first      the ranker (after the reader) puts such a sentence first;
  extract    the extract holds it (the reader's span, the typed span or the structure's answer);
  confident  ... and the confidence reaches the threshold (the answer is given).
Each column is the share of questions still right after that stage, so the drop from one column to the
next is what that stage loses.

    .venv/bin/python eval/docs/losses.py [SET ...] [--types howto,paraphrase]
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

STAGES = ("retrieved", "dense", "bm25", "candidate", "first", "extract", "confident")


def losses(bot, item: dict, contains) -> dict:
    from qa.answering.conversation import Reading
    from qa.answering.extraction import candidates, extract, scored_candidates
    from qa.answering.technical import IDENT, ask

    golds = item["answers"]
    reading = Reading.as_asked(item["question"])
    ident = ask(reading.focus).kind == IDENT

    def holds(text: str, context: str = "") -> bool:
        return any(contains(text, g) or (ident and context and contains(context, g)) for g in golds)

    qvec = bot.embedder.encode_queries([reading.query])[0]
    k = bot.settings.candidates
    got = {}
    for mode in ("hybrid", "dense", "bm25"):
        hits = bot.retriever.retrieve(reading.query, qvec, k, mode).hits
        got["retrieved" if mode == "hybrid" else mode] = any(holds(h.chunk.text, h.chunk.context) for h in hits)
    found = bot.retriever.retrieve(reading.query, qvec, k, bot.settings.retriever)
    texts = found.texts
    scored = scored_candidates(reading, candidates(reading.query, found), texts, bot.ranker)
    got["candidate"] = any(
        holds(texts[s.candidate.hit.chunk.source][s.candidate.start : s.candidate.end], s.candidate.hit.chunk.context)
        for s in scored
    )
    ex = extract(reading, found, bot.reader, bot.settings.read_sentences, bot.ranker)
    if ex is None:
        return {**got, "first": False, "extract": False, "confident": False}
    best = ex.candidate
    got["first"] = holds(texts[best.hit.chunk.source][best.start : best.end], best.hit.chunk.context)
    got["extract"] = holds(texts[best.hit.chunk.source][ex.start : ex.end])
    got["confident"] = got["extract"] and bot.calibration.confidence(ex.features) >= bot.settings.threshold
    return got


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sets", nargs="*", default=["sqlite", "requests", "hatch"])
    ap.add_argument("--types", default="", help="only these question types (comma-separated)")
    args = ap.parse_args()
    from qa.api import QA
    from qa.evaluation import contains, load_questions

    manifest = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))["sets"]
    types = {t for t in args.types.split(",") if t}
    total: dict[str, list[dict]] = collections.defaultdict(list)
    print(f"{'set':<10} {'type':<12} {'n':>3} " + " ".join(f"{s:>9}" for s in STAGES))
    for name in args.sets:
        if manifest[name].get("held_out"):
            raise SystemExit(f"{name} is held out: measure it with qa eval only, at the start and at the end")
        cache = ROOT / "eval" / ".cache" / "docs" / name
        bot = QA.load(cache / "index", corpus=cache / "corpus")
        by_type: dict[str, list[dict]] = collections.defaultdict(list)
        for item in load_questions(HERE / name / "questions.jsonl"):
            if item["answers"] and (not types or item["type"] in types):
                row = losses(bot, item, contains)
                by_type[item["type"]].append(row)
                total[item["type"]].append(row)
        for t, rows in sorted(by_type.items()):
            cells = " ".join(f"{sum(r[s] for r in rows) / len(rows):>9.2f}" for s in STAGES)
            print(f"{name:<10} {t:<12} {len(rows):>3} {cells}")
    for t, rows in sorted(total.items()):
        cells = " ".join(f"{sum(r[s] for r in rows) / len(rows):>9.2f}" for s in STAGES)
        print(f"{'all':<10} {t:<12} {len(rows):>3} {cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
