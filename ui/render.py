"""Turn answers into chat replies. Pure functions: no Gradio here.

A reply is Markdown with a little inline HTML (`<mark>`, `<br>`, and a
`<details>` per citation that opens the passage in its document). Everything
taken from the documents or the question (extracts, passages, file names,
headings) goes through `escape` (Markdown) or `escape_html` (inside HTML
blocks), so a document holding `<script>`, an `<img onerror=…>` or a Markdown
image `![x](http://…)` is shown as literal text and nothing is rendered or
fetched.

The first line of a reply starts with the plain answer text: the follow-up
logic (`qa.answering.conversation.last_turn`) reads it back from the chat history as the
previous answer.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

from qa.answers import Answer, Quote
from qa.errors import QAError
from qa.text import STOPWORDS

NOT_FOUND = "Not found in the documents."
NEAREST = "Nearest passages (they may not answer it):"

# Markdown punctuation that can start emphasis, code, links, images, headings,
# tables, strikethrough, math or an escape; '<', '>' and '&' become HTML entities;
# a backslash after "http"/"www" stops GFM autolinks ("http\://", "www\.").
_SPECIAL = re.compile(r"(?i)\b(?:https?|ftp)(?=://)|\bwww(?=\.)|[\\`*_{}\[\]()#|!~$<>&]")
_LIST_START = re.compile(r"^(\d+)([.)])")  # "1. ", "2) " open an ordered list
_BLOCK_START = re.compile(r"^([-+=])")  # bullet list or setext heading underline
_SPACE = re.compile(r"\s+")


def _escape_one(m: re.Match) -> str:
    s = m.group(0)
    if len(s) > 1:
        return s + "\\"
    return html.escape(s, quote=False) if s in "<>&" else "\\" + s


def escape(text: str) -> str:
    """`text` as literal Markdown inline text: no HTML, no links, no emphasis."""
    return _SPECIAL.sub(_escape_one, text)


def _line(rendered: str) -> str:
    """Keep an escaped line from opening a list or heading at the start of a block."""
    rendered = _LIST_START.sub(r"\1\\\2", rendered)
    return _BLOCK_START.sub(r"\\\1", rendered)


def highlight_span(quote: Quote) -> tuple[int, int] | None:
    """Where the answer extract lies inside `quote.text`, or None."""
    if quote.highlight is None:
        return None
    start = max(quote.highlight[0] - quote.start, 0)
    end = min(quote.highlight[1] - quote.start, len(quote.text))
    return (start, end) if start < end else None


def render_passage(quote: Quote, highlight: bool = True) -> str:
    """The quote's text as a Markdown blockquote, the answer span (if any) in `<mark>`."""
    span = highlight_span(quote) if highlight else None
    lines, offset = [], 0
    for raw in quote.text.split("\n"):
        lead = len(raw) - len(raw.lstrip())
        start, end = offset + lead, offset + len(raw)
        offset = end + 1
        text = raw[lead:].rstrip()
        if not text:
            lines.append(">")
            continue
        a, b = (max(span[0] - start, 0), min(span[1] - start, len(text))) if span else (0, 0)
        marked = f"{escape(text[:a])}<mark>{escape(text[a:b])}</mark>{escape(text[b:])}"
        body = marked if a < b else escape(text)
        lines.append("> " + _line(body))
    return "\n".join(lines)


def render_citation(quote: Quote) -> str:
    heading = f" · {escape(quote.heading)}" if quote.heading else ""
    return f"— {escape(quote.citation())}{heading}"


# Every character that Markdown or HTML could read as markup becomes a numeric entity:
# the same text on screen whether or not Markdown runs inside the HTML block.
_HTML_SPECIAL = re.compile(r"[&<>\"'\\`*_{}\[\]()#|!~$:=+\-]")
CONTEXT_CHARS = 300


def escape_html(text: str) -> str:
    """`text` for the inside of an HTML element: entities only, line breaks as <br>."""
    escaped = _HTML_SPECIAL.sub(lambda m: f"&#{ord(m.group(0))};", text)
    return escaped.replace("\r\n", "\n").replace("\n", "<br>")


def _around(doc: str, start: int, end: int, chars: int) -> tuple[int, int]:
    """A window of `doc` around [start, end): about `chars` more on each side, cut at whitespace."""
    a, b = max(start - chars, 0), min(end + chars, len(doc))
    if a > 0:
        space = doc.find(" ", a, start)
        a = space + 1 if space >= 0 else a
    if b < len(doc):
        space = doc.rfind(" ", end, b)
        b = space if space >= 0 else b
    return a, b


def render_source(quote: Quote, doc: str, chars: int = CONTEXT_CHARS) -> str:
    """The passage inside its document as HTML: neighbouring text, the quote in bold, the answer marked."""
    a, b = _around(doc, quote.start, quote.end, chars)
    body = escape_html(quote.text)
    span = highlight_span(quote)
    if span:
        t = quote.text
        marked = escape_html(t[span[0] : span[1]])
        body = f"{escape_html(t[: span[0]])}<mark>{marked}</mark>{escape_html(t[span[1] :])}"
    before, after = escape_html(doc[a : quote.start]), escape_html(doc[quote.end : b])
    return f"{'… ' if a > 0 else ''}{before}<strong>{body}</strong>{after}{' …' if b < len(doc) else ''}"


def _details(quote: Quote, doc: str) -> str:
    """A citation that opens to show the passage in its document (one HTML block, no blank line)."""
    summary = escape_html(f"Open in {quote.source}" + (f", page {quote.page}" if quote.page else ""))
    return f'<details class="source"><summary>{summary}</summary><div>{render_source(quote, doc)}</div></details>'


def _quotes(quotes: Iterable[Quote], highlight: bool, texts: Mapping[str, str] | None) -> list[str]:
    out = []
    for q in quotes:
        part = f"{render_passage(q, highlight)}\n\n{render_citation(q)}"
        if texts and q.source in texts:
            part += "\n\n" + _details(q if highlight else replace(q, highlight=None), texts[q.source])
        out.append(part)
    return out


def render_answer(answer: Answer, texts: Mapping[str, str] | None = None) -> str:
    """The chat reply for an answer: extract and confidence, then the quotes with citations.

    With the documents' `texts`, each citation opens to show its passage in the document.
    """
    confidence = f"confidence {answer.confidence:.2f}"
    if answer.found:
        extract = _SPACE.sub(" ", answer.text).strip()
        first = f"**{escape(extract)}** ({confidence})" if extract else f"({confidence})"
        parts = [first, *_quotes(answer.quotes, True, texts)]
    else:
        parts = [f"{NOT_FOUND} ({confidence})"]
        if answer.quotes:
            parts += [NEAREST, *_quotes(answer.quotes, False, texts)]
    if answer.translation:
        parts.insert(1, f"_Read in English, word by word, as: {escape(answer.translation)}_")
    return "\n\n".join(parts)


SOURCE_COLUMNS = ["Document", "Status", "Format", "Chunks", "Indexed at / reason"]


def source_rows(rows: Iterable[dict]) -> list[list]:
    """The sources panel: one row per file the index knows (Manifest.sources())."""
    return [
        [r["path"], r["status"], r["format"], r["chunks"], r["indexed_at"] if r["status"] == "indexed" else r["reason"]]
        for r in rows
    ]


UPLOAD_COLUMNS = ["File", "Result", "Detail"]


def upload_rows(added: Iterable, report=None) -> list[list[str]]:
    """What became of each uploaded file: added/replaced (as which name, indexed or skipped) or refused (why)."""
    skipped = {s.path: s.reason for s in report.skipped} if report else {}
    out = []
    for a in added:
        if a.status == "refused":
            out.append([a.name, "refused", a.reason])
        elif a.path in skipped:
            out.append([a.name, "skipped", skipped[a.path]])
        else:
            detail = f"as {a.path}" if a.path != a.name else ""
            out.append([a.name, "indexed" if a.status == "added" else "replaced", detail])
    return out


def render_error(exc: BaseException) -> str:
    """A user-facing error message (QAError messages are written for users)."""
    message = str(exc).strip() or type(exc).__name__
    return "⚠️ " + escape(message)


_NAME = r"[A-Z][\w’'-]*[a-z][\w’'-]*"  # a capitalized word with a lowercase letter: "Pangu", "SenseTime"
_ACRONYM = r"[A-Z]{2,}\b"  # "AI", "LLM" inside a name
_ENTITY = re.compile(rf"\b(?:{_NAME}(?:\s+(?:{_NAME}|{_ACRONYM})){{1,3}}|[A-Z][a-z]+[A-Z][\w-]*)\b")


def _entities(text: str) -> list[str]:
    """Name-like runs: CamelCase words ("SenseTime") and 2-4 capitalized words ("Pangu Chat")."""
    found = []
    for m in _ENTITY.finditer(text):
        if text[max(m.start() - 4, 0) : m.start()].endswith(("of ", "and ")):
            continue  # the tail of a longer name: "... of Scientific and Technological Information"
        name = m.group(0)
        first, _, rest = name.partition(" ")
        if first.lower() in STOPWORDS:  # "The United States", "In April": not part of the name
            name = rest if " " in rest or re.search(r"[a-z][A-Z]", rest) else ""
        if name and name not in found:
            found.append(name)
    return found


_TAKES_THE = re.compile(
    r"\b(?:States|Kingdom|Union|Nations|Republic|Government|Administration|Department|Ministry|Institute|"
    r"Plan|Center|Centre|Commission|Council)$"
)


def _what_is(name: str) -> str:
    the = "the " if _TAKES_THE.search(name) else ""
    return f"What is {the}{name}?"


def _candidates(chunks: Iterable) -> list[tuple[str, str]]:
    """(question, what it asks about): names taken in turn from each section (rarest first), then headings."""
    chunks = list(chunks)
    corpus = "\n".join(c.text for c in chunks)
    sections: dict[str, list[str]] = {}
    for chunk in chunks:
        sections.setdefault(chunk.heading, []).extend(_entities(chunk.text))
    per_section, seen = [], set()
    for names in sections.values():
        fresh = [e for e in dict.fromkeys(names) if e.lower() not in seen]
        seen.update(e.lower() for e in fresh)
        per_section.append(sorted(fresh, key=lambda e: corpus.count(e) > 1))
    width = max(map(len, per_section), default=0)
    ordered = [(_what_is(names[i]), names[i]) for i in range(width) for names in per_section if i < len(names)]
    return ordered + [(f"What does the document say about {h}?", "") for h in sections if h]


def candidate_questions(chunks: Iterable) -> list[str]:
    """Questions about the corpus the chunks come from, best candidates first (not yet checked)."""
    return [question for question, _ in _candidates(chunks)]


EXAMPLE_CHUNKS = 300  # chunks read for example questions, spread over the corpus (a big one is never read whole)


def spread(chunks, k: int = EXAMPLE_CHUNKS) -> list:
    """At most `k` of `chunks`, evenly spaced from the first (all of them when there are no more)."""
    n = len(chunks)
    return [chunks[i * n // k] for i in range(k)] if n > k else list(chunks)


def example_questions(bot, n: int = 4, min_confidence: float = 0.8, max_tries: int = 40) -> list[str]:
    """Up to `n` questions about the indexed corpus that `bot` answers (found=True), checked by asking.

    Preferred: answers found with `min_confidence` whose sentence names what the
    question asks about; then any other found answers, in candidate order. Names
    are taken from at most EXAMPLE_CHUNKS chunks spread over the corpus, so that a
    chat over a million chunks starts as fast as one over a few.
    """
    good: list[str] = []
    other: list[str] = []
    for question, name in _candidates(spread(bot.index.chunks))[:max_tries]:
        try:
            answer = bot.answer(question)
        except QAError:  # a candidate the bot refuses is no example; a bug is not hidden here
            continue
        if not answer.found:
            continue
        on_topic = name.lower() in (answer.sentence or answer.text).lower()
        (good if on_topic and answer.confidence >= min_confidence else other).append(question)
        if len(good) == n:
            break
    return (good + other)[:n]
