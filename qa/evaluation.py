"""`qa eval`: answer and retrieval quality on labelled questions.

Two kinds of sets:
- a JSONL question set over a corpus (default: eval/bundled_questions.jsonl over
  the bundled corpus); each line has "question", "type", "answers" (gold
  spans, [] when the documents don't answer) and, for follow-ups, "history";
- a SQuAD v1.1 JSON file: every article becomes one document (paragraphs
  separated by blank lines), all are indexed together, every question is asked
  against the whole set.

Every retriever variant is run on the same questions, side by side. On a
SQuAD set, abstention is measured by asking each question a second time with
its article left out: the documents then no longer answer it. Chinese
questions (types "zh" and "zh-unanswerable", read through `qa/answering/translation.py`)
are reported by type only, outside the headline figures. A type's accuracy
counts a right answer, or for a type without answers, an abstention.
"""

from __future__ import annotations

import collections
import json
import random
import re
import statistics
import string
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from qa.answering.calibration import auc
from qa.answering.fitted import load_calibration, load_ranker, slug
from qa.api import PROJECT_ROOT, QA, default_model
from qa.index.embedding import load_embedder
from qa.settings import RETRIEVERS, AnswerSettings

DEFAULT_QUESTIONS = PROJECT_ROOT / "eval" / "bundled_questions.jsonl"
CACHE = PROJECT_ROOT / "eval" / ".cache"
RECALL_DEPTH = 10


# --- SQuAD's official answer normalization and scores -------------------------------------------
def normalize_answer(s: str) -> str:
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def f1_score(prediction: str, gold: str) -> float:
    p, g = normalize_answer(prediction).split(), normalize_answer(gold).split()
    common = collections.Counter(p) & collections.Counter(g)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def contains(text: str, gold: str) -> bool:
    return bool(normalize_answer(gold)) and normalize_answer(gold) in normalize_answer(text)


# --- question sets ------------------------------------------------------------------------------
def load_questions(path: str | Path) -> list[dict]:
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            item = json.loads(line)
            item.setdefault("id", f"q{n}")
            item.setdefault("type", "fact" if item.get("answers") else "unanswerable")
            out.append(item)
    return out


def squad_corpus(squad_file: str | Path, corpus_dir: Path) -> list[dict]:
    """Write one document per SQuAD article into `corpus_dir`; return its questions with gold places."""
    data = json.loads(Path(squad_file).read_text(encoding="utf-8"))["data"]
    corpus_dir.mkdir(parents=True, exist_ok=True)
    questions = []
    for i, article in enumerate(data):
        name = f"{i:02d}_{re.sub(r'[^A-Za-z0-9_-]+', '_', article['title'])[:60]}.txt"
        parts, offset = [], 0
        for para in article["paragraphs"]:
            context = para["context"].strip()
            span = (offset, offset + len(context))
            parts.append(context)
            offset += len(context) + 2
            for qa in para["qas"]:
                questions.append(
                    {
                        "id": qa["id"],
                        "question": qa["question"],
                        "type": "squad",
                        "answers": sorted({a["text"] for a in qa["answers"]}),
                        "source": name,
                        "paragraph": span,
                    }
                )
        text = "\n\n".join(parts) + "\n"
        path = corpus_dir / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return questions


# --- running -----------------------------------------------------------------------------------
def _rank(bot: QA, item: dict, mode: str, relevant) -> int | None:
    """1-based rank of the first retrieved chunk for which `relevant(chunk)` holds, within RECALL_DEPTH."""
    from qa.answering.conversation import contextualize

    query = contextualize(item["question"], item.get("history")).query
    qvec = bot.embedder.encode_queries([query])[0]
    for hit in bot.retriever.search(query, qvec, RECALL_DEPTH, mode):
        if relevant(hit.chunk):
            return hit.rank + 1
    return None


def _rank_of_gold(bot: QA, item: dict, mode: str) -> int | None:
    """The rank of the first chunk inside the gold paragraph (SQuAD sets)."""
    lo, hi = item["paragraph"]
    return _rank(bot, item, mode, lambda c: c.source == item["source"] and lo <= c.start and c.end <= hi)


def _rank_of_answer(bot: QA, item: dict, mode: str) -> int | None:
    """The rank of the first chunk holding a gold answer (question sets without paragraphs)."""
    return _rank(bot, item, mode, lambda c: any(contains(c.text, g) for g in item["answers"]))


def score_variant(bot: QA, questions: list[dict], mode: str) -> dict:
    variant = QA(
        bot.index,
        bot.embedder,
        replace(bot.settings, retriever=mode),
        bot.calibration,
        bot.reader,
        bot.ranker,
        bot.glossary,
    )
    rows, latencies = [], []
    threshold = variant.settings.threshold
    for item in questions:
        t0 = time.perf_counter()
        # asked with no threshold, so that the extract is known whatever the confidence (the threshold table)
        a = variant.answer(item["question"], item.get("history"), threshold=0.0)
        latencies.append(time.perf_counter() - t0)
        golds = item["answers"]
        found = a.confidence >= threshold
        row = {"id": item["id"], "type": item["type"], "found": found, "text": a.text if found else ""}
        row["conf"] = a.confidence
        if golds:
            row["right_if_found"] = any(contains(a.text, g) for g in golds)
            row["correct"] = found and row["right_if_found"]
            row["hit3"] = any(contains(q.text, g) for q in a.quotes[:3] for g in golds)
            row["f1"] = max(f1_score(a.text, g) for g in golds) if found else 0.0
            row["em"] = max(exact_match(a.text, g) for g in golds) if found else 0.0
            if "paragraph" not in item:
                row["answer_rank"] = _rank_of_answer(variant, item, mode)
        if "paragraph" in item:
            row["rank"] = _rank_of_gold(variant, item, mode)
            # the same question with its article left out: the documents no longer answer it
            choice = variant.choose(item["question"], exclude=lambda c, s=item["source"]: c.source == s)
            row["abstained_without_article"] = choice.confidence < variant.settings.threshold
        rows.append(row)
    return {"rows": rows, "latencies": latencies}


def summarize(result: dict) -> dict:
    rows = [r for r in result["rows"] if not r["type"].startswith("zh")]
    ans = [r for r in rows if "correct" in r]
    una = [r for r in rows if "correct" not in r]
    mean = lambda xs: round(sum(xs) / len(xs), 3) if xs else None  # noqa: E731
    s = {
        "questions": len(rows),
        "answer_accuracy": mean([r["correct"] for r in ans]),
        "hit@3": mean([r["hit3"] for r in ans]),
        "exact_match": mean([r["em"] for r in ans]),
        "f1": mean([r["f1"] for r in ans]),
        "abstention": mean(
            [not r["found"] for r in una] + [r["abstained_without_article"] for r in rows if "rank" in r]
        ),
        "false_abstention": mean([not r["found"] for r in ans]),
    }
    ranked = [r for r in rows if "rank" in r]
    if ranked:
        s["recall@1"] = mean([r["rank"] == 1 for r in ranked])
        s["recall@5"] = mean([r["rank"] is not None and r["rank"] <= 5 for r in ranked])
        s["mrr@10"] = mean([1 / r["rank"] if r["rank"] else 0.0 for r in ranked])
    curve_key = "rank" if ranked else "answer_rank"
    curve_rows = ranked or [r for r in rows if "answer_rank" in r]
    if curve_rows:  # the gold paragraph (SQuAD) or a chunk holding a gold answer within the top k
        s["recall_curve"] = [
            mean([r[curve_key] is not None and r[curve_key] <= k for r in curve_rows])
            for k in range(1, RECALL_DEPTH + 1)
        ]
    lat = sorted(result["latencies"])
    s["p50_ms"] = round(1000 * statistics.median(lat), 1)
    s["p95_ms"] = round(1000 * lat[min(len(lat) - 1, int(0.95 * len(lat)))], 1)
    by_type = collections.defaultdict(list)
    for r in result["rows"]:
        by_type[r["type"]].append(r["correct"] if "correct" in r else not r["found"])
    s["accuracy_by_type"] = {t: mean(v) for t, v in sorted(by_type.items())}
    if una and ans:  # how well the confidence tells a right answer from a wrong or unanswerable one
        scores = [r["conf"] for r in rows if "conf" in r]
        right = [int(r.get("right_if_found", False)) for r in rows if "conf" in r]
        s["confidence_auc"] = round(auc(np.array(scores), np.array(right)), 3)
    return s


def threshold_table(result: dict, thresholds=(0.3, 0.4, 0.5, 0.6, 0.7)) -> list[dict]:
    """Accuracy, false abstention and abstention had the confidence threshold been each of `thresholds`."""
    rows = [r for r in result["rows"] if not r["type"].startswith("zh") and "conf" in r]
    ans = [r for r in rows if "right_if_found" in r]
    una = [r for r in rows if "right_if_found" not in r and "abstained_without_article" not in r]
    out = []
    for t in thresholds:
        out.append(
            {
                "threshold": t,
                "accuracy": round(sum(r["conf"] >= t and r["right_if_found"] for r in ans) / max(1, len(ans)), 3),
                "false_abstention": round(sum(r["conf"] < t for r in ans) / max(1, len(ans)), 3),
                "abstention": round(sum(r["conf"] < t for r in una) / len(una), 3) if una else None,
            }
        )
    return out


def print_table(title: str, summaries: dict[str, dict]) -> None:
    keys = list(
        dict.fromkeys(k for s in summaries.values() for k in s if k not in ("accuracy_by_type", "recall_curve"))
    )
    print(f"\n{title}")
    print(f"{'metric':<18}" + "".join(f"{m:>10}" for m in summaries))
    for k in keys:
        cells = [summaries[m].get(k) for m in summaries]
        print(f"{k:<18}" + "".join(f"{'-' if c is None else c:>10}" for c in cells))
    types = sorted({t for s in summaries.values() for t in s["accuracy_by_type"]})
    for t in types:
        cells = [summaries[m]["accuracy_by_type"].get(t) for m in summaries]
        print(f"{'  acc ' + t:<18}" + "".join(f"{'-' if c is None else c:>10}" for c in cells))


def evaluate(bot: QA, questions: list[dict], title: str) -> dict:
    results = {mode: score_variant(bot, questions, mode) for mode in RETRIEVERS}
    summaries = {mode: summarize(r) for mode, r in results.items()}
    print_table(title, summaries)
    table = threshold_table(results[bot.settings.retriever])
    if table[0]["abstention"] is not None:
        print(f"\nconfidence threshold ({bot.settings.retriever}): accuracy / false abstention / abstention")
        for row in table:
            cells = (row["accuracy"], row["false_abstention"], row["abstention"])
            print(f"  {row['threshold']:.1f}   " + " / ".join(f"{c:.3f}" for c in cells))
    return {
        "title": title,
        "summary": summaries,
        "thresholds": table,
        "rows": {m: r["rows"] for m, r in results.items()},
    }


def plot_recall(reports: list[dict], path: Path) -> Path | None:
    """A PNG of recall@k (k = 1..10) per retriever, one panel per question set; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no plot: matplotlib is not installed (pip install -e '.[eval]')")
        return None
    fig, axes = plt.subplots(1, len(reports), figsize=(6 * len(reports), 4), squeeze=False)
    for ax, report in zip(axes[0], reports, strict=True):
        for mode, summary in report["summary"].items():
            curve = summary.get("recall_curve")
            if curve:
                ax.plot(range(1, len(curve) + 1), curve, marker="o", label=mode)
        ax.set(xlabel="k (chunks retrieved)", ylabel="recall@k", title=report["title"][-60:], ylim=(0, 1.02))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


DOC_SETS = PROJECT_ROOT / "eval" / "docs"
DOCS_WEIGHT = 1.0  # a documentation question counts as this many SQuAD questions when fitting


def doc_groups(names: list[str], embedder, settings: AnswerSettings, held_out_set: str | None = None):
    """Documentation questions to fit on and to check with: (train groups, test groups).

    For each set of `eval/docs` (fetched into eval/.cache/docs by eval/docs/fetch.py): the questions
    generated from its documents' structure and its written questions. Whole documents are held out:
    those at even positions are fitted on, the others checked; `held_out_set` is only checked. A set the
    manifest marks held out (kept out of all fitting) is refused.
    """
    from qa.answering.calibration import Group
    from qa.answering.doc_questions import generate

    manifest = json.loads((DOC_SETS / "manifest.json").read_text(encoding="utf-8"))["sets"]
    train, test = [], []
    for name in dict.fromkeys([*names, *([held_out_set] if held_out_set else [])]):
        if name not in manifest:
            raise SystemExit(f"no documentation set {name!r} in {DOC_SETS / 'manifest.json'}")
        if manifest[name].get("held_out"):
            raise SystemExit(f"{name!r} is held out of all fitting (eval/docs/README.md)")
        cache = CACHE / "docs" / name
        bot = QA.load(cache / "index", corpus=cache / "corpus", embedder=embedder, settings=settings)
        written = [q for q in load_questions(DOC_SETS / name / "questions.jsonl") if not q.get("history")]
        items = generate(bot.index) + written
        documents = sorted({q["source"] for q in items if q.get("source")})
        fitted = set(documents[::2])
        odd = {q["id"] for q in written if not q.get("source")}
        odd = set(sorted(odd)[1::2])
        if name == held_out_set:
            test.append(Group(f"{name} (all documents)", bot, items, DOCS_WEIGHT))
            continue
        keep = [q for q in items if q.get("source") in fitted or (not q.get("source") and q["id"] not in odd)]
        check = [q for q in items if q not in keep]
        train.append(Group(f"{name} (even documents)", bot, keep, DOCS_WEIGHT))
        test.append(Group(f"{name} (odd documents)", bot, check, DOCS_WEIGHT))
    return train, test


def main(args) -> int:
    embedder = load_embedder(args.model or default_model())
    settings = AnswerSettings()
    if getattr(args, "read_sentences", None) is not None:
        settings = replace(settings, read_sentences=args.read_sentences)
    if getattr(args, "translate", None) is not None:
        settings = replace(settings, translate=args.translate)
    reports = []
    rng = random.Random(args.seed)
    milvus = getattr(args, "store", None) == "milvus"
    if args.squad:
        name = Path(args.squad).stem
        corpus_dir = CACHE / name / "corpus"
        questions = squad_corpus(args.squad, corpus_dir)
        # one index per model and store, so that measuring another never rebuilds the default's
        index_dir = CACHE / name / ("index" if embedder.name == default_model() else f"index-{slug(embedder.name)}")
        index_dir = index_dir.with_name(index_dir.name + "-milvus") if milvus else index_dir
    else:
        questions = load_questions(args.questions or DEFAULT_QUESTIONS)
        corpus_dir = Path(args.corpus) if args.corpus else None
        index_dir = CACHE / "bundled" / "index-milvus" if milvus and not args.index else args.index
    if milvus:  # built (or brought up to date) into the Milvus store first
        from qa.api import build, default_corpus
        from qa.manage import chosen_store

        corpus_dir = corpus_dir or default_corpus()
        build(
            corpus_dir,
            index_dir,
            embedder=embedder,
            store=chosen_store(args.store, args.milvus_uri, index_dir),
            progress=True,
        )
    bot = QA.load(index_dir, corpus=corpus_dir, embedder=embedder, settings=settings, progress=bool(args.squad))
    if getattr(args, "fit_calibration", False):
        from qa.answering.calibration import fit_and_save, fit_ranker_and_save

        if not args.squad:
            raise SystemExit("--fit-calibration needs --squad")
        articles = sorted({q["source"] for q in questions})
        train_docs = set(articles[::2])
        train = [q for q in questions if q["source"] in train_docs]
        test = [q for q in questions if q["source"] not in train_docs]
        names = [n for n in (getattr(args, "fit_docs", None) or "").split(",") if n]
        more_train, more_test = doc_groups(names, embedder, settings, getattr(args, "hold_out_docs", None))
        fitted = fit_ranker_and_save(bot, train, test, Path(args.squad).name, contains, None, more_train, more_test)
        print(json.dumps({k: v for k, v in fitted.items() if k.startswith("held_out")}, indent=1))
        bot.ranker = load_ranker(embedder.name)
        for group in (*more_train, *more_test):
            group.bot.ranker = bot.ranker
        report = fit_and_save(bot, train, test, Path(args.squad).name, None, more_train, more_test, contains)
        print(json.dumps(report, indent=1))
        bot.calibration = load_calibration(embedder.name, reader=settings.read_sentences > 0)
    if args.sample and args.sample < len(questions):
        questions = rng.sample(questions, args.sample)
    title = f"{args.squad or args.questions or DEFAULT_QUESTIONS.relative_to(PROJECT_ROOT)}: {len(questions)} questions"
    title += " (Milvus store)" if milvus else ""
    reports.append(evaluate(bot, questions, title))
    report_path = Path(args.report) if args.report else PROJECT_ROOT / "eval" / "reports" / "latest.json"
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(reports, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"\nreport: {report_path}")
    plot = plot_recall(reports, report_path.with_suffix(".png"))
    if plot:
        print(f"plot: {plot}")
    return 0
