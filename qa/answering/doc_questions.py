"""Questions generated from a documentation index's structure, to fit the ranker and the confidence on.

SQuAD's questions reuse their passage's words and ask for names, dates and numbers;
documentation is asked for identifiers, table cells and commands. From the chunks of
an index read with its structure, `generate` writes questions of those shapes, each
with its gold answers and the place it was made from:

- a definition: its term's name, asked by the first sentence of its description
  ("Returns the JSON-encoded content" -> "Which method returns the JSON-encoded content?");
- a table row: a cell, asked by its row's first cell and its column's name
  ("What is the Default style of warning?");
- code introduced by a sentence ("To build only the wheel, run:") -> "How do I build
  only the wheel?", answered by the command;
- a sentence stating a default ("The default page size is 4096") -> "What is the default
  page size?".

They are rough (a template's wording), which is what they are for: many questions of
documentation shapes, with gold answers known, whole documents of which can be held
out when fitting (`qa.answering.calibration`).
"""

from __future__ import annotations

import random
import re

from qa.answering.technical import code_tokens, command_line, is_code, term_name
from qa.ingest.blocks import CELL_SEPARATOR, CODE, DEFINITION, ROW

MAX_PER_DOCUMENT = 40
_VAGUE = re.compile(r"^(?:yes|no|y|n|true|false|x|-+|n/a|:\w+:|✓|✔)$", re.I)  # found in many rows: a chance match
_VERB_3RD = re.compile(r"^([A-Z][a-z]+s)\b")  # "Returns", "Sends", "Constructs"
_NOT_VERBS = frozenset("this its is was has does as thus always alias class status process access".split())
_TO_DO = re.compile(r"^(?:To|In order to) ([^,:]{8,120}?),\s", re.I)
_YOU_CAN = re.compile(r"^You can ([^,:]{8,120}?)(?:\s+(?:with|by|using|via|like so|as follows)\b.*)?:\s*$", re.I)
_DEFAULT = re.compile(r"\b[Tt]he default ([\w -]{3,40}?) (?:is|was|of \S+ is) ([^\s,;]+?)(?:[.,;]?\s|[.,;]?$)")


def _kind_word(term: str, nested: bool) -> str | None:
    """What a term names, as a question would say it; None for a term that names nothing code-like."""
    low = term.lower()
    for word in ("exception", "class", "property", "pragma"):
        if low.startswith(word):
            return "attribute" if word == "property" else word
    if term.startswith("-"):
        return "option"
    if "(" in term:
        return "method" if nested else "function"
    return "attribute" if nested else "setting"


def _predicate(sentence: str, kind: str) -> str | None:
    """The question's words after "Which <kind>" for a description's first sentence, or None."""
    s = sentence.strip().rstrip(".")
    if len(s.split()) < 3 or len(s) > 200:
        return None
    if s.lower().startswith("raised when"):
        return "is r" + s[1:]
    m = _VERB_3RD.match(s)
    if m and m.group(1).lower() not in _NOT_VERBS:
        return s[0].lower() + s[1:]
    return f"is described as “{s}”"


def _term_questions(chunk, text: str) -> list[dict]:
    if chunk.kind != DEFINITION or not chunk.context or chunk.context_start != chunk.start:
        return []
    if len(chunk.sentences) < 2 or chunk.sentence_kinds[:1] != "t":
        return []
    a, b = term_name(text, chunk.context_start, chunk.context_start + len(chunk.context))
    name = text[a:b]
    outer = chunk.path.rsplit("›", 1)[0] if "›" in chunk.path else ""
    kind = _kind_word(chunk.context, nested="(" in outer)
    if not name or kind is None or (not is_code(name) and kind == "setting"):
        return []
    s, e = chunk.sentences[1]
    predicate = _predicate(text[s:e], kind)
    if predicate is None or name.lower() in predicate.lower():
        return []
    return [{"question": f"Which {kind} {predicate}?", "answers": [name], "type": "term"}]


def _row_questions(chunk, text: str, rng: random.Random) -> list[dict]:
    if "r" not in chunk.sentence_kinds or not chunk.context:
        return []
    names = chunk.context.split(CELL_SEPARATOR)
    out = []
    for i, (s, e) in enumerate(chunk.sentences):
        if chunk.sentence_kind(i) != ROW:
            continue
        cells = text[s:e].split(CELL_SEPARATOR)
        if len(cells) != len(names) or len(cells) < 2 or not cells[0].strip():
            continue
        columns = [j for j in range(1, len(cells)) if cells[j].strip() and names[j].strip()]
        if not columns:
            continue
        j = rng.choice(columns)
        key, cell = cells[0].strip(), cells[j].strip()
        if len(cell) > 80 or cell.lower() == key.lower() or not any(c.isalnum() for c in cell) or _VAGUE.match(cell):
            continue
        out.append({"question": f"What is the {names[j].strip()} of {key}?", "answers": [cell], "type": "table"})
    return out


def _howto_questions(chunk, text: str) -> list[dict]:
    out = []
    for i in range(1, len(chunk.sentences)):
        if chunk.sentence_kind(i) != CODE or chunk.sentence_kind(i - 1) == CODE:
            continue
        s, e = chunk.sentences[i - 1]
        intro = text[s:e].strip()
        m = _TO_DO.match(intro) or _YOU_CAN.match(intro)
        if not m:
            continue
        question = f"How do I {m.group(1).strip()}?"
        line = command_line(question, text, *chunk.sentences[i])
        if line is not None and len(text[line[0] : line[1]]) <= 120:
            out.append({"question": question, "answers": [text[line[0] : line[1]]], "type": "howto"})
    return out


def _default_questions(chunk, text: str) -> list[dict]:
    out = []
    for i, (s, e) in enumerate(chunk.sentences):
        if chunk.sentence_kind(i) in (CODE, ROW):
            continue
        m = _DEFAULT.search(text, s, e)
        if m and (code_tokens(text, m.start(2), m.end(2)) or any(c.isdigit() for c in m.group(2))):
            value = m.group(2).strip("\"'“”")
            out.append({"question": f"What is the default {m.group(1)}?", "answers": [value], "type": "default"})
    return out


def generate(index, seed: int = 0, per_document: int = MAX_PER_DOCUMENT) -> list[dict]:
    """Questions over the documents of a loaded index read with their structure (see the module's docstring).

    Each has "question", "answers", "type", "source" and "paragraph" (the chunk it was made from);
    at most `per_document` per document, picked at random (seeded) when there are more.
    """
    rng = random.Random(seed)
    by_doc: dict[str, list[dict]] = {}
    for chunk in index.chunks:
        if not chunk.sentence_kinds:
            continue  # plain text: SQuAD-like prose is what the SQuAD questions already cover
        text = index.texts[chunk.source]
        made = (
            _term_questions(chunk, text)
            + _row_questions(chunk, text, rng)
            + _howto_questions(chunk, text)
            + _default_questions(chunk, text)
        )
        for item in made:
            item.update(source=chunk.source, paragraph=(chunk.start, chunk.end))
            by_doc.setdefault(chunk.source, []).append(item)
    out = []
    for source in sorted(by_doc):
        items = by_doc[source]
        if len(items) > per_document:
            items = rng.sample(items, per_document)
        seen = set()
        for item in items:
            if item["question"] not in seen:
                seen.add(item["question"])
                out.append(item)
    return out
