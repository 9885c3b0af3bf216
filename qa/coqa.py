"""`qa eval --coqa FILE`: conversations measured on CoQA (Reddy, Chen, Manning 2019).

Every story of the file becomes one document and all are indexed together; each
story's questions are asked in order, with the gold conversation before them
(earlier questions and gold answers, in Gradio's messages format), and once more
alone, without it.

A turn is scored by the kind of its gold answer:
- extractive (a gold answer that is not yes/no/unknown occurs in the story):
  accuracy (a gold answer inside `Answer.text`), token F1, and whether the right
  story is first (the first quote's document);
- "unknown": abstained (not found);
- yes/no: marked as a yes/no question, and its evidence sentence overlaps the gold rationale;
- other (free-form answers not in the story): counted only.

The stories are split by domain: `FIT_DOMAINS` are what the conversation model is
fitted on (`qa.answering.conversation_model`); the others are reported as the honest figures.
"""

from __future__ import annotations

import collections
import json
import random
import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from qa.evaluation import CACHE, contains, f1_score, normalize_answer

FIT_DOMAINS = ("race", "science", "gutenberg", "reddit")  # fitted on; the other three are reported
YES_NO = ("yes", "no")
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Turn:
    """One CoQA question in its conversation: gold answers, the rationale's place in the story, and kind."""

    story: str  # the document's name
    domain: str
    number: int  # 1-based turn of the conversation
    question: str
    answers: tuple[str, ...]
    kind: str  # "extractive", "yes/no", "unknown" or "other"
    rationale: tuple[int, int]  # the main answer's rationale in the story (-1, -1 when none)
    history: tuple[dict, ...] = field(default=())

    @property
    def fitted_on(self) -> bool:
        return self.domain in FIT_DOMAINS


def _kind(main: str, answers: list[str], story: str) -> str:
    said = normalize_answer(main)
    if said in YES_NO:
        return "yes/no"
    if said == UNKNOWN:
        return "unknown"
    if any(contains(story, a) for a in answers):
        return "extractive"
    return "other"


def load(path: str | Path, corpus_dir: Path) -> list[Turn]:
    """Write one document per story into `corpus_dir`; return every turn, in order, with its gold history."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    corpus_dir.mkdir(parents=True, exist_ok=True)
    turns: list[Turn] = []
    for i, story in enumerate(data):
        name = f"{i:03d}_{story['source']}_{re.sub(r'[^A-Za-z0-9]+', '_', story['id'])[:12]}.txt"
        text = story["story"].strip() + "\n"
        doc = corpus_dir / name
        if not doc.exists() or doc.read_text(encoding="utf-8") != text:
            doc.write_text(text, encoding="utf-8")
        extra = story.get("additional_answers") or {}
        history: list[dict] = []
        for n, (q, a) in enumerate(zip(story["questions"], story["answers"], strict=True), 1):
            golds = [a["input_text"]] + [alt[n - 1]["input_text"] for alt in extra.values() if len(alt) >= n]
            usable = sorted({g.strip() for g in golds if normalize_answer(g) not in (*YES_NO, UNKNOWN, "")})
            kind = _kind(a["input_text"], usable, text)
            answers = tuple(g for g in usable if contains(text, g)) if kind == "extractive" else tuple(usable)
            start = a.get("span_start", -1)
            rationale = (start, a.get("span_end", -1)) if start is not None and start >= 0 else (-1, -1)
            question = q["input_text"].strip()
            turns.append(Turn(name, story["source"], n, question, answers, kind, rationale, tuple(history)))
            history += [{"role": "user", "content": question}, {"role": "assistant", "content": a["input_text"]}]
    return turns


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def ask(bot, turn: Turn, history: bool) -> dict:
    """One turn asked with its gold history (or alone), scored by its kind."""
    t0 = time.perf_counter()
    a = bot.answer(turn.question, list(turn.history) if history else None)
    row = {
        "story": turn.story,
        "turn": turn.number,
        "kind": turn.kind,
        "fitted_on": turn.fitted_on,
        "history": history,
        "found": a.found,
        "text": a.text,
        "query": a.query,
        "conf": round(a.confidence, 4),
        "ms": round(1000 * (time.perf_counter() - t0), 2),
        "story_first": bool(a.quotes) and a.quotes[0].source == turn.story,
    }
    if turn.kind == "extractive":
        row["correct"] = a.found and any(contains(a.text, g) for g in turn.answers)
        row["f1"] = max(f1_score(a.text, g) for g in turn.answers) if a.found else 0.0
    if turn.kind == "yes/no":
        row["marked_yes_no"] = getattr(a, "yes_no", False)
        row["evidence"] = (
            a.found
            and a.source == turn.story
            and turn.rationale[0] >= 0
            and _overlaps((a.start, a.end), turn.rationale)
        )
    return row


def _mean(xs) -> float | None:
    xs = list(xs)
    return round(sum(xs) / len(xs), 3) if xs else None


def summarize(rows: list[dict]) -> dict:
    """Figures for one group of rows (one part of the split, with or without history)."""
    ext = [r for r in rows if r["kind"] == "extractive"]
    later = [r for r in ext if r["turn"] > 1]
    first = [r for r in ext if r["turn"] == 1]
    unknown = [r for r in rows if r["kind"] == "unknown"]
    yes_no = [r for r in rows if r["kind"] == "yes/no"]
    return {
        "turns": len(rows),
        "later extractive": len(later),
        "accuracy (later)": _mean(r["correct"] for r in later),
        "f1 (later)": _mean(r["f1"] for r in later),
        "story first (later)": _mean(r["story_first"] for r in later),
        "accuracy (first turns)": _mean(r["correct"] for r in first),
        "unknown abstained": _mean(not r["found"] for r in unknown),
        "unknown turns": len(unknown),
        "yes/no marked": _mean(r["marked_yes_no"] for r in yes_no),
        "yes/no evidence": _mean(r["evidence"] for r in yes_no),
        "p50_ms": round(statistics.median(r["ms"] for r in rows), 1) if rows else None,
    }


def report(rows: list[dict]) -> dict[str, dict]:
    """Summaries by part (fitted on / reported) and with or without history."""
    out = {}
    for part, fitted in (("reported", False), ("fitted", True)):
        for history in (True, False):
            group = [r for r in rows if r["fitted_on"] == fitted and r["history"] == history]
            out[f"{part}, {'with' if history else 'without'} history"] = summarize(group)
    return out


def print_report(title: str, summaries: dict[str, dict]) -> None:
    print(f"\n{title}")
    names = list(summaries)
    print(f"{'':<24}" + "".join(f"{n:>28}" for n in names))
    for key in next(iter(summaries.values())):
        cells = [summaries[n][key] for n in names]
        print(f"{key:<24}" + "".join(f"{'-' if c is None else c:>28}" for c in cells))


def corpus_and_index(path: str | Path, model: str) -> tuple[Path, Path]:
    from qa.answering.fitted import slug
    from qa.settings import DEFAULT_MODEL

    base = CACHE / Path(path).stem
    return base / "corpus", base / ("index" if model == DEFAULT_MODEL else f"index-{slug(model)}")


def stories_of(turns: list[Turn]) -> list[str]:
    return list(dict.fromkeys(t.story for t in turns))


def main(args, settings) -> int:
    from qa.api import PROJECT_ROOT, QA, default_model
    from qa.index.embedding import load_embedder

    embedder = load_embedder(args.model or default_model())
    corpus_dir, index_dir = corpus_and_index(args.coqa, embedder.name)
    turns = load(args.coqa, corpus_dir)
    bot = QA.load(index_dir, corpus=corpus_dir, embedder=embedder, settings=settings, progress=True)
    if getattr(args, "fit_conversation", False):
        from qa.conversation_fit import fit_and_save

        print(json.dumps(fit_and_save(bot, [t for t in turns if t.fitted_on], Path(args.coqa).name), indent=1))
        bot = QA.load(index_dir, corpus=corpus_dir, embedder=embedder, settings=settings)
    stories = stories_of(turns)
    if args.sample and args.sample < len(stories):
        keep = set(random.Random(args.seed).sample(stories, args.sample))
        turns = [t for t in turns if t.story in keep]
    rows = [ask(bot, t, history) for t in turns for history in (True, False)]
    summaries = report(rows)
    counts = collections.Counter(t.kind for t in turns)
    title = (
        f"{args.coqa}: {len(stories_of(turns))} stories, {len(turns)} turns ({dict(counts)}); "
        f"fitted on {', '.join(FIT_DOMAINS)}, reported on the others"
    )
    print_report(title, summaries)
    path = Path(args.report) if args.report else PROJECT_ROOT / "eval" / "reports" / "coqa-latest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"title": title, "summary": summaries, "rows": rows}, indent=1), encoding="utf-8")
    print(f"\nreport: {path}")
    return 0
