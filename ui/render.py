"""Turn answers into chat replies. Pure functions: no Gradio here.

A reply is Markdown with a little inline HTML (`<mark>`, `<br>`). Everything
taken from the documents or the question (extracts, passages, file names,
headings) goes through `escape`, so a document holding `<script>`, an
`<img onerror=…>` or a Markdown image `![x](http://…)` is shown as literal text
and nothing is rendered or fetched.

The first line of a reply starts with the plain answer text: the follow-up
logic (`qa.conversation.last_turn`) reads it back from the chat history as the
previous answer.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

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


def _quotes(quotes: Iterable[Quote], highlight: bool) -> list[str]:
    return [f"{render_passage(q, highlight)}\n\n{render_citation(q)}" for q in quotes]


def render_answer(answer: Answer) -> str:
    """The chat reply for an answer: extract and confidence, then the quotes with citations."""
    confidence = f"confidence {answer.confidence:.2f}"
    if answer.found:
        extract = _SPACE.sub(" ", answer.text).strip()
        first = f"**{escape(extract)}** ({confidence})" if extract else f"({confidence})"
        parts = [first, *_quotes(answer.quotes, highlight=True)]
    else:
        parts = [f"{NOT_FOUND} ({confidence})"]
        if answer.quotes:
            parts += [NEAREST, *_quotes(answer.quotes, highlight=False)]
    return "\n\n".join(parts)


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


def example_questions(bot, n: int = 4, min_confidence: float = 0.8, max_tries: int = 40) -> list[str]:
    """Up to `n` questions about the indexed corpus that `bot` answers (found=True), checked by asking.

    Preferred: answers found with `min_confidence` whose sentence names what the
    question asks about; then any other found answers, in candidate order.
    """
    good: list[str] = []
    other: list[str] = []
    for question, name in _candidates(bot.index.chunks)[:max_tries]:
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
