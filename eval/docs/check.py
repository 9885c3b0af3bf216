"""Check the documentation question sets against their fetched documents (it never runs the QA system).

For every `eval/docs/<set>/questions.jsonl` of the manifest:
- each line has an id (unique in the set), a question, a known type and a list of answers;
- an answerable question names its `source` (a file of the set) and every answer string
  occurs verbatim in that file's visible text (whitespace runs count as one space);
- an unanswerable question has `answers: []` and no source;
- the set has its minimum of questions per type (see MINIMA).

"Visible text" is what a reader sees: for HTML, the text a browser shows (scripts,
styles and <head> dropped, entities decoded); for Markdown, the file with its inline
markup (backticks, emphasis, link targets) taken out. An answer that is in the visible
text but not in the text the project's current reader stores (`qa.ingest.documents.read_text`)
is reported as a note, not an error: it is something the reader loses.

Usage: .venv/bin/python eval/docs/check.py [SET ...] [--dest DIR]   (fetch first: eval/docs/fetch.py)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DEST = HERE.parent / ".cache" / "docs"
TYPES = ("fact", "paraphrase", "howto", "table", "term", "code", "unanswerable")
FIELDS = {"id", "question", "type", "answers", "source"}
MINIMA = {"all": 40, "paraphrase": 8, "howto": 6, "unanswerable": 6, "table": 5}

_BLOCKS = {
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
    "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}  # fmt: skip
_HIDDEN = {"script", "style", "head", "template", "noscript"}


class _Visible(HTMLParser):
    """The text of an HTML page a browser shows, block elements on lines of their own."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible_html(markup: str) -> str:
    parser = _Visible()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


def _markdown_prose(text: str) -> str:
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]+)\]\[[^\]]*\]", r"\1", text)
    return re.sub(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", r"\2", text)


def visible_markdown(text: str) -> str:
    """Markdown without its inline markup: images and link targets, emphasis marks and backticks.

    Code spans keep their content as written (`__token__` shows as __token__)."""
    parts = re.split(r"(`+)(.+?)\1", text)
    # re.split with two groups yields [prose, ticks, code, prose, ticks, code, ..., prose]
    out = []
    for i in range(0, len(parts), 3):
        out.append(_markdown_prose(parts[i]))
        if i + 2 < len(parts):
            out.append(parts[i + 2])
    return "".join(out)


def visible(path: Path) -> str:
    data = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() in (".html", ".htm"):
        return visible_html(data)
    if path.suffix.lower() == ".md":
        return visible_markdown(data)
    return data


def squash(text: str) -> str:
    """Whitespace runs (non-breaking spaces included) as one space."""
    return re.sub(r"\s+", " ", text.replace("\xa0", " ")).strip()


def _reader():
    try:
        from qa.ingest.documents import read_text
    except ImportError:
        return None
    return read_text


def check_set(
    name: str, spec: dict, corpus: Path, reader, questions: Path | None = None
) -> tuple[list[str], list[str], Counter]:
    """(errors, notes, counts by type) for one set's questions (default: eval/docs/<name>/questions.jsonl)."""
    errors: list[str] = []
    notes: list[str] = []
    counts: Counter = Counter()
    path = questions or HERE / name / "questions.jsonl"
    if not path.exists():
        return [f"{name}: no {path}"], notes, counts
    files = {f["path"] for f in spec["files"]}
    texts: dict[str, str] = {}
    stored: dict[str, str] = {}
    seen: set[str] = set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{name}:{n}"
        try:
            q = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"{where}: not JSON ({exc})")
            continue
        extra = set(q) - FIELDS
        if extra:
            errors.append(f"{where}: unknown field(s) {sorted(extra)}")
        qid, kind, answers = q.get("id"), q.get("type"), q.get("answers")
        where = f"{name}:{n} ({qid})"
        if not isinstance(qid, str) or not qid:
            errors.append(f"{where}: no id")
        elif qid in seen:
            errors.append(f"{where}: id used twice")
        seen.add(qid)
        if not isinstance(q.get("question"), str) or not q["question"].strip():
            errors.append(f"{where}: no question")
        if kind not in TYPES:
            errors.append(f"{where}: type {kind!r} is not one of {', '.join(TYPES)}")
        counts[kind] += 1
        if not isinstance(answers, list) or not all(isinstance(a, str) and a.strip() for a in answers):
            errors.append(f"{where}: answers must be a list of non-empty strings")
            continue
        if len(set(answers)) != len(answers):
            errors.append(f"{where}: an answer is listed twice")
        if kind == "unanswerable":
            if answers:
                errors.append(f"{where}: an unanswerable question has answers")
            if "source" in q:
                errors.append(f"{where}: an unanswerable question names a source")
            continue
        if not answers:
            errors.append(f"{where}: a {kind} question without answers")
            continue
        source = q.get("source")
        if source not in files:
            errors.append(f"{where}: source {source!r} is not a file of the set")
            continue
        if source not in texts:
            texts[source] = squash(visible(corpus / source))
            stored[source] = squash(reader(corpus / source)) if reader else ""
        for answer in answers:
            gold = squash(answer)
            if gold not in texts[source]:
                errors.append(f"{where}: {answer!r} is not in the visible text of {source}")
            elif reader and gold not in stored[source]:
                notes.append(f"{where}: {answer!r} is in {source} but not in the text the current reader stores")
    if "unanswerable" not in counts:
        counts["unanswerable"] = 0
    total = sum(counts.values())
    if total < MINIMA["all"]:
        errors.append(f"{name}: {total} questions, fewer than {MINIMA['all']}")
    for kind, least in MINIMA.items():
        if kind in ("all", "table"):
            continue
        if counts[kind] < least:
            errors.append(f"{name}: {counts[kind]} {kind} questions, fewer than {least}")
    if spec.get("has_tables", True) and counts["table"] < MINIMA["table"]:
        errors.append(f"{name}: {counts['table']} table questions, fewer than {MINIMA['table']}")
    return errors, notes, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="*")
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help="where fetch.py put the sets")
    parser.add_argument("--quiet", action="store_true", help="leave out the notes on what the current reader loses")
    args = parser.parse_args(argv)
    sets = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))["sets"]
    chosen = args.sets or list(sets)
    reader = _reader()
    if reader is None:
        print("note: qa is not importable; the current reader's text is not compared", file=sys.stderr)
    all_errors, grand = 0, Counter()
    print(f"{'set':10} " + " ".join(f"{t[:7]:>7}" for t in TYPES) + "   total")
    for name in chosen:
        corpus = args.dest / name / "corpus"
        if not corpus.is_dir():
            print(f"{name}: not fetched ({corpus}); run eval/docs/fetch.py {name}", file=sys.stderr)
            all_errors += 1
            continue
        errors, notes, counts = check_set(name, sets[name], corpus, reader)
        grand.update(counts)
        flag = "  (held out)" if sets[name].get("held_out") else ""
        print(f"{name:10} " + " ".join(f"{counts[t]:>7}" for t in TYPES) + f"   {sum(counts.values()):>5}{flag}")
        for e in errors:
            print(f"  ERROR {e}")
        if not args.quiet:
            for note in notes:
                print(f"  note  {note}")
        all_errors += len(errors)
    print(f"{'all':10} " + " ".join(f"{grand[t]:>7}" for t in TYPES) + f"   {sum(grand.values()):>5}")
    print("ok" if not all_errors else f"{all_errors} error(s)")
    return 1 if all_errors else 0


if __name__ == "__main__":
    sys.exit(main())
