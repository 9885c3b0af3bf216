"""Turn answers into chat replies. Pure functions: no Gradio here.

A reply reads at a glance: the extract in bold and its confidence in words
("sure", "likely", "not sure"; the number in small type and on hover), how the
question was read when that differs from how it was asked, the one passage that
holds the answer with the extract highlighted and its citation (which opens the
passage inside its document), and the other passages folded under "2 more
passages". A question the documents don't answer says so, its nearest passages
folded.

A reply is Markdown whose first line is the extract (`qa.answering.conversation.last_turn`
reads it back from the chat history as the previous answer) and whose other
parts are HTML blocks, one line each. Everything taken from the documents or the
question (extracts, passages, file names, headings) goes through `escape`
(Markdown) or `escape_html` (inside HTML blocks), so a document holding
`<script>`, an `<img onerror=…>` or a Markdown image `![x](http://…)` is shown as
literal text and nothing is rendered or fetched. Passages are shown as what they
are (ui/blocks.py: tables as tables, code as code); the opened source shows the
document's own characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

from qa.answers import Answer, Quote
from ui.blocks import escape_html, header_above, render_blocks

NOT_FOUND = "Not found in the documents."
NEAREST = "Nearest"

# Markdown punctuation that can start emphasis, code, links, images, headings,
# tables, strikethrough, math or an escape; '<', '>' and '&' become HTML entities;
# a backslash after "http"/"www" stops GFM autolinks ("http\://", "www\.").
_SPECIAL = re.compile(r"(?i)\b(?:https?|ftp)(?=://)|\bwww(?=\.)|[\\`*_{}\[\]()#|!~$<>&]")
_SPACE = re.compile(r"\s+")


def _escape_one(m: re.Match) -> str:
    s = m.group(0)
    if len(s) > 1:
        return s + "\\"
    return {"<": "&lt;", ">": "&gt;", "&": "&amp;"}.get(s) or "\\" + s


def escape(text: str) -> str:
    """`text` as literal Markdown inline text: no HTML, no links, no emphasis."""
    return _SPECIAL.sub(_escape_one, text)


def highlight_span(quote: Quote) -> tuple[int, int] | None:
    """Where the answer extract lies inside `quote.text`, or None."""
    if quote.highlight is None:
        return None
    start = max(quote.highlight[0] - quote.start, 0)
    end = min(quote.highlight[1] - quote.start, len(quote.text))
    return (start, end) if start < end else None


SURE, LIKELY, NOT_SURE = "sure", "likely", "not sure"
CONFIDENCE_WORDS = ((0.8, SURE), (0.5, LIKELY), (0.0, NOT_SURE))  # the lowest confidence for each word
CONFIDENCE_HELP = "How likely the documents answer the question, 0 to 1: sure from 0.80, likely from 0.50"


def confidence_word(confidence: float) -> str:
    """The confidence in words: "sure", "likely" or "not sure"."""
    return next(word for floor, word in CONFIDENCE_WORDS if confidence >= floor)


def render_passage(quote: Quote, highlight: bool = True, kind: str | None = None, doc: str | None = None) -> str:
    """The quote as one HTML block: its text as what it is (ui.blocks), the answer span (if any) in `<mark>`.

    `kind` is the chunk's block kind when the index knows it (read from the text
    otherwise); with the document's text `doc`, a table row shows its column names.
    """
    span = highlight_span(quote) if highlight else None
    columns = header_above(doc, quote.start) if doc is not None else None
    return f'<blockquote class="passage">{render_blocks(quote.text, span, kind, columns)}</blockquote>'


def citation_text(quote: Quote) -> str:
    """Where a quote is: file, page, paragraph, line, characters, and its section's heading."""
    heading = f" · {quote.heading}" if quote.heading else ""
    return f"{quote.citation()}{heading}"


def render_citation(quote: Quote) -> str:
    return f'<p class="cite">{escape_html(citation_text(quote))}</p>'


CONTEXT_CHARS = 300


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
    """The passage inside its document as HTML: neighbouring text, the quote in bold, the answer marked.

    The document's own characters, as they are: the place to check a quote.
    """
    a, b = _around(doc, quote.start, quote.end, chars)
    body = escape_html(quote.text)
    span = highlight_span(quote)
    if span:
        t = quote.text
        marked = escape_html(t[span[0] : span[1]])
        body = f"{escape_html(t[: span[0]])}<mark>{marked}</mark>{escape_html(t[span[1] :])}"
    before, after = escape_html(doc[a : quote.start]), escape_html(doc[quote.end : b])
    return f"{'… ' if a > 0 else ''}{before}<strong>{body}</strong>{after}{' …' if b < len(doc) else ''}"


def _cited(quote: Quote, highlight: bool, texts: Mapping[str, str] | None) -> str:
    """A passage and its citation; with the document's text, the citation opens the passage in its document."""
    doc = texts.get(quote.source) if texts else None
    passage = render_passage(quote, highlight, doc=doc)  # kind=quote.kind once the index records it (issue 13)
    if doc is None:
        return passage + render_citation(quote)
    shown = quote if highlight else replace(quote, highlight=None)
    summary, source = escape_html(citation_text(quote)), render_source(shown, doc)
    return f'{passage}<details class="source"><summary>{summary}</summary><div>{source}</div></details>'


def _folded(label: str, quotes: Iterable[Quote], highlight: bool, texts) -> str:
    inner = "".join(_cited(q, highlight, texts) for q in quotes)
    return f'<details class="more"><summary>{escape_html(label)}</summary>{inner}</details>'


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _plain(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def read_as(answer: Answer) -> str:
    """How the question was read, as a small line, when that differs from the question as asked ('' if not).

    A Chinese question is read in English (`translation`); a follow-up is read
    with the previous turn (`query`).
    """
    reading = _plain(answer.translation or answer.query)
    if not reading or reading.lower() == _plain(answer.question).lower():
        return ""
    label = "Read in English, word by word, as" if answer.translation else "Read with the previous turn as"
    return f'<p class="read-as">{escape_html(label)}: {escape_html(reading)}</p>'


def render_answer(answer: Answer, texts: Mapping[str, str] | None = None) -> str:
    """The chat reply for an answer (see the module's docstring for what it shows and why).

    With the documents' `texts`, each citation opens to show its passage in the document.
    """
    score = f'<small class="score" title="{CONFIDENCE_HELP}">confidence {answer.confidence:.2f}</small>'
    if answer.found:
        word = confidence_word(answer.confidence)
        badge = f'<span class="confidence {word.replace(" ", "-")}" title="{CONFIDENCE_HELP}">{word}</span>'
        extract = _plain(answer.text)
        parts = [f"**{escape(extract)}**\n{badge} {score}" if extract else f"{score}\n{badge}"]
    else:
        parts = [f"{NOT_FOUND}\n{score}"]
    reading = read_as(answer)
    if reading:
        parts.append(reading)
    quotes = list(answer.quotes)
    if answer.found and quotes:
        body = _cited(quotes[0], True, texts)
        if quotes[1:]:
            body += _folded(_plural(len(quotes) - 1, "more passage"), quotes[1:], True, texts)
        parts.append(f'<div class="passages">{body}</div>')
    elif quotes:
        label = f"{NEAREST} {_plural(len(quotes), 'passage')} (they may not answer it)"
        parts.append(f'<div class="passages">{_folded(label, quotes, False, texts)}</div>')
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
