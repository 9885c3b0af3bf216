"""The `qa` command: index a corpus, ask a question, serve the chat, evaluate."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time

from qa.errors import QAError

log = logging.getLogger("qa")


def _paths(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", default=None, help="index folder (default: index/, or $QA_INDEX)")
    p.add_argument("--corpus", default=None, help="corpus folder (default: corpus/, or $QA_CORPUS)")
    p.add_argument("--model", default=None, help="sentence-transformers model name or path")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="qa", description="Extractive question answering over your documents.")
    ap.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="bring the index up to date with the corpus folder (new and changed files only)")
    _paths(p)
    p.add_argument("--max-chars", type=int, default=None, help="largest chunk, in characters (default 1000)")
    p.add_argument("--overlap", type=int, default=None, help="sentences shared by neighbouring chunks (default 1)")
    p.add_argument("--full", action="store_true", help="embed every document again, not only new and changed ones")
    p.add_argument(
        "--index-type",
        choices=("auto", "flat", "hnsw", "hnsw-sq8"),
        default=None,
        help=(
            "FAISS index: auto (exact up to 200,000 sentences, HNSW up to 1,000,000, HNSW over 8-bit vectors above;"
            " default, or $QA_INDEX_TYPE), flat, hnsw, hnsw-sq8"
        ),
    )
    _store(p)
    p.add_argument(
        "--ray",
        nargs="?",
        const="auto",
        default=None,
        metavar="ADDRESS",
        help="read, chunk and embed in a Ray actor pool: `auto` (a local Ray, or the cluster RAY_ADDRESS names)"
        " or a cluster's address (needs the ray extra)",
    )

    p = sub.add_parser("add", help="copy files into the corpus and index them")
    p.add_argument("files", nargs="+", metavar="FILE")
    _paths(p)
    p.add_argument("--replace", action="store_true", help="replace a document of the same name (default: keep both)")

    p = sub.add_parser("remove", help="take documents out of the corpus and the index (kept in <index>/removed/)")
    p.add_argument("names", nargs="+", metavar="NAME", help="document path relative to the corpus folder")
    _paths(p)

    p = sub.add_parser("removed", help="list the removed documents that `qa restore` can bring back")
    _paths(p)
    p.add_argument("--json", action="store_true", help="print them as JSON")

    p = sub.add_parser("restore", help="put removed documents back into the corpus and index them")
    p.add_argument(
        "names", nargs="+", metavar="NAME", help="a name `qa removed` lists, or a document's path (its latest version)"
    )
    _paths(p)

    p = sub.add_parser("sources", help="list the documents in the index")
    _paths(p)
    p.add_argument("--json", action="store_true", help="print them as JSON")

    p = sub.add_parser("ask", help="answer one question")
    p.add_argument("question")
    _paths(p)
    p.add_argument("--top-k", type=int, default=3, help="how many quotes to show")
    p.add_argument("--threshold", type=float, default=None, help="confidence needed to answer (0-1)")
    p.add_argument("--retriever", choices=("hybrid", "dense", "bm25"), default="hybrid")
    _reader(p)
    p.add_argument("--json", action="store_true", help="print the Answer as JSON")

    p = sub.add_parser("serve", help="open the chat in the browser (Gradio)")
    _paths(p)
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1: this machine only; another one exposes the chat: set QA_AUTH)",
    )
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    _reader(p)

    p = sub.add_parser("eval", help="measure answers and retrieval on labelled questions")
    p.add_argument("--questions", default=None, help="JSONL question set (default: eval/bundled_questions.jsonl)")
    p.add_argument("--squad", default=None, help="a SQuAD v1.1 JSON file: index all its articles and ask its questions")
    p.add_argument(
        "--coqa", default=None, help="a CoQA JSON file: index all its stories and ask its conversations in order"
    )
    p.add_argument(
        "--fit-conversation",
        action="store_true",
        help="with --coqa: refit the conversation model (qa/models/conversation-*.json) on its fitted part first",
    )
    p.add_argument("--sample", type=int, default=None, help="ask at most N questions (--coqa: N stories)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--report", default=None, help="write the JSON report here")
    p.add_argument(
        "--fit-calibration",
        action="store_true",
        help="with --squad: refit the sentence ranker and the confidence model for this model and reader "
        "setting (qa/models/ranker-*.json, confidence-*.json) before measuring",
    )
    p.add_argument(
        "--fit-docs",
        default=None,
        metavar="SETS",
        help="with --fit-calibration: also fit on these documentation sets of eval/docs (comma-separated, "
        "e.g. sqlite,requests,hatch): questions generated from their structure and their written ones, "
        "the documents at even positions (the others are checked)",
    )
    p.add_argument(
        "--hold-out-docs",
        default=None,
        metavar="SET",
        help="with --fit-docs: a documentation set only checked on, never fitted (fit on two, check the third)",
    )
    _reader(p)
    _paths(p)
    _store(p)
    return ap


def _store(p) -> None:
    p.add_argument(
        "--store",
        choices=("faiss", "milvus"),
        default=None,
        help="where the index keeps its chunks: faiss (in the index folder; the default) or milvus"
        " (default: the store the index already uses)",
    )
    p.add_argument(
        "--milvus-uri",
        default=None,
        metavar="URI",
        help="with --store milvus: a *.db file (Milvus Lite; default <index>/milvus.db) or http(s)://host:port;"
        " the token comes from $QA_MILVUS_TOKEN",
    )


def _reader(p) -> None:
    p.add_argument(
        "--read-sentences",
        type=int,
        default=None,
        metavar="N",
        help="best sentences the span reader reads (default 2; 0: no reader, rules only)",
    )
    p.add_argument(
        "--no-translate",
        dest="translate",
        action="store_false",
        default=None,
        help="read a Chinese question only as it is, not also as English word by word (CC-CEDICT)",
    )


def _settings(args):
    from qa.settings import AnswerSettings, ChunkSettings

    answer_kwargs = {}
    if getattr(args, "threshold", None) is not None:
        answer_kwargs["threshold"] = args.threshold
    if getattr(args, "retriever", None):
        answer_kwargs["retriever"] = args.retriever
    if getattr(args, "read_sentences", None) is not None:
        answer_kwargs["read_sentences"] = args.read_sentences
    if getattr(args, "translate", None) is not None:
        answer_kwargs["translate"] = args.translate
    chunk_kwargs = {}
    if getattr(args, "max_chars", None) is not None:
        chunk_kwargs["max_chars"] = args.max_chars
    if getattr(args, "overlap", None) is not None:
        chunk_kwargs["overlap_sentences"] = args.overlap
    answer = AnswerSettings(**answer_kwargs)
    if getattr(args, "top_k", None) is not None:
        answer = answer.with_top_k(args.top_k)
    return answer, ChunkSettings(**chunk_kwargs)


def report_sync(report, index, seconds: float) -> None:
    from qa.api import describe_changes

    for s in report.skipped:
        print(f"skipped {s.path}: {s.reason}", file=sys.stderr)
    changes = describe_changes(report)
    m = report.manifest
    c = m.counts
    print(
        f"indexed {c['documents']} documents, {c['chunks']} chunks, {c['sentences']} sentences "
        f"with {m.model} into {index} in {seconds:.1f}s"
        + (f" ({changes}; {len(report.kept)} unchanged)" if changes else " (no change)")
    )


def cmd_index(args) -> int:
    from qa.api import build, resolve_paths
    from qa.manage import chosen_store

    _, chunking = _settings(args)
    corpus, index = resolve_paths(args.corpus, args.index)
    t0 = time.perf_counter()
    from qa.settings import VectorSettings

    vectors = VectorSettings(kind=args.index_type) if args.index_type else None
    store = chosen_store(args.store, args.milvus_uri, index)
    if args.ray:
        from qa.index.ray_build import ray_build

        report = ray_build(
            corpus, index, args.ray, model=args.model, chunking=chunking, full=args.full, store=store, vectors=vectors
        )
    else:
        report = build(
            corpus, index, model=args.model, chunking=chunking, progress=True, full=args.full, vectors=vectors,
            store=store,
        )  # fmt: skip
    report_sync(report, index, time.perf_counter() - t0)
    return 0


def cmd_add(args) -> int:
    from qa.api import add, resolve_paths

    corpus, index = resolve_paths(args.corpus, args.index)
    t0 = time.perf_counter()
    added, report = add(args.files, corpus, index, replace=args.replace, model=args.model, progress=True)
    for a in added:
        if a.status == "refused":
            print(f"refused {a.name}: {a.reason}", file=sys.stderr)
        else:
            print(f"{a.status} {a.name} as {a.path}")
    if report is not None:
        report_sync(report, index, time.perf_counter() - t0)
    return 0 if report is not None else 1


def cmd_remove(args) -> int:
    from qa.api import remove, resolve_paths

    corpus, index = resolve_paths(args.corpus, args.index)
    t0 = time.perf_counter()
    kept, report = remove(args.names, corpus, index, model=args.model)
    for entry in kept:
        print(f"removed {entry.path} (kept as {entry.name}; `qa restore {entry.name}` brings it back)")
    report_sync(report, index, time.perf_counter() - t0)
    return 0


def cmd_removed(args) -> int:
    from qa.api import removed, resolve_paths

    _, index = resolve_paths(args.corpus, args.index)
    entries = removed(index)
    if args.json:
        print(json.dumps([e.to_dict() for e in entries], ensure_ascii=False, indent=2))
        return 0
    for e in entries:
        print(f"{e.name}  ({e.path}; {e.size:,} bytes; removed {e.removed_at or 'by an earlier version'})")
    if not entries:
        print(f"nothing removed is kept in {index}", file=sys.stderr)
    return 0


def cmd_restore(args) -> int:
    from qa.api import resolve_paths, restore

    corpus, index = resolve_paths(args.corpus, args.index)
    t0 = time.perf_counter()
    done, report = restore(args.names, corpus, index, model=args.model)
    for back in done:
        print(f"restored {back.original}" + (f" as {back.path}" if back.path != back.original else ""))
    report_sync(report, index, time.perf_counter() - t0)
    return 0


def cmd_sources(args) -> int:
    from qa.api import resolve_paths
    from qa.index import read_manifest

    _, index = resolve_paths(args.corpus, args.index)
    rows = read_manifest(index).sources()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for r in rows:
        detail = f"{r['chunks']} chunks, indexed {r['indexed_at']}" if r["status"] == "indexed" else r["reason"]
        print(f"{r['status']:8} {r['path']}  ({r['format']}; {detail})")
    return 0


def format_answer(a) -> str:
    lines = []
    if a.found:
        lines.append(f"{a.text}")
        lines.append(f"  (confidence {a.confidence:.2f}; {a.source}, characters {a.start}-{a.end})")
        if a.sentence and a.sentence != a.text:
            lines.append(f"  in: “{a.sentence}”")
    else:
        lines.append(f"Not found in the documents (confidence {a.confidence:.2f}).")
        if a.quotes:
            lines.append("Nearest passages, which may not answer it:")
    if a.translation:
        lines.insert(1, f"  (read in English, word by word, as: {a.translation})")
    for i, q in enumerate(a.quotes, 1):
        lines.append("")
        lines.append(f"[{i}] {q.citation()}")
        lines.append(f"    “{q.text}”")
    return "\n".join(lines)


def cmd_ask(args) -> int:
    from qa.api import QA, check_question

    settings, chunking = _settings(args)
    check_question(args.question, settings.max_question_chars)
    bot = QA.load(args.index, corpus=args.corpus, model=args.model, chunking=chunking, settings=settings)
    a = bot.answer(args.question)
    print(json.dumps(a.to_dict(), ensure_ascii=False, indent=2) if args.json else format_answer(a))
    return 0


def cmd_serve(args) -> int:
    from ui.serve import serve

    settings, _ = _settings(args)
    serve(args.index, args.corpus, args.model, host=args.host, port=args.port, settings=settings)
    return 0


def cmd_eval(args) -> int:
    if args.coqa:
        from qa.coqa import main as run_coqa

        return run_coqa(args, _settings(args)[0])
    from qa.evaluation import main as run_eval

    return run_eval(args)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="qa: %(message)s")
    try:
        commands = {
            "index": cmd_index,
            "add": cmd_add,
            "remove": cmd_remove,
            "removed": cmd_removed,
            "restore": cmd_restore,
            "sources": cmd_sources,
            "ask": cmd_ask,
            "serve": cmd_serve,
            "eval": cmd_eval,
        }
        return commands[args.command](args)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and friends
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
