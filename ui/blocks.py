"""A quoted passage as HTML that shows it as what it is: a table as a table, code as code.

A passage is cut into blocks, each of one kind (`KINDS`): a heading, a term and
its definition, a table row (with its column names when the document has them),
code, a list item or a paragraph. When the index knows a chunk's kind it is
passed in (`kind=`); until then the kind of each line is read from the text:
Markdown headings, pipe-table rows (`| a | b |`, Word's `a | b | c`), fenced or
indented code and prompts (`>>> `, `$ `), list items and plain paragraphs;
`inline code` inside a paragraph is shown as code.

Every character shown comes from the passage (or, for a table's column names,
from the document above it) and goes through `escape_html`: numeric entities
for everything Markdown or HTML could read as markup, so nothing in a document
is rendered or fetched. The answer span is wrapped in `<mark>` on exactly the
characters of the extract, whatever block they fall in. The result is one line
(no newline), so it stays a single HTML block inside a Markdown reply.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

HEADING, TERM, DEFINITION, TABLE_ROW, CODE, LIST_ITEM, PARAGRAPH = (
    "heading",
    "term",
    "definition",
    "table_row",
    "code",
    "list_item",
    "paragraph",
)
KINDS = (HEADING, TERM, DEFINITION, TABLE_ROW, CODE, LIST_ITEM, PARAGRAPH)

# Every character that Markdown or HTML could read as markup becomes a numeric entity:
# the same text on screen whether or not Markdown runs inside the HTML block.
_HTML_SPECIAL = re.compile(r"[&<>\"'\\`*_{}\[\]()#|!~$:=+\-]")


def escape_html(text: str) -> str:
    """`text` for the inside of an HTML element: entities only, line breaks as <br>."""
    escaped = _HTML_SPECIAL.sub(lambda m: f"&#{ord(m.group(0))};", text)
    return escaped.replace("\r\n", "\n").replace("\n", "<br>")


_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(?=\S)")
_LIST = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+(?=\S)")
_PROMPT = re.compile(r"^\s*(?:>>>|\.\.\.|\$(?=\s+[a-z./~]))\s")
_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)+\|?\s*$")
_INLINE_CODE = re.compile(r"`([^`\n]+)`")


def is_table_row(line: str) -> bool:
    """A pipe-table row: `| a | b |`, or three cells or more as Word rows are read (`a | b | c`)."""
    s = line.strip()
    if len(s) < 3 or "|" not in s:
        return False
    if s.startswith("|") and s.endswith("|") and s.count("|") >= 2:
        return True
    return s.count(" | ") >= 2


def is_separator(line: str) -> bool:
    """The `|---|---|` line under a Markdown table's header."""
    return bool(_SEPARATOR.match(line))


def cells(line: str, offset: int = 0) -> list[tuple[int, int]]:
    """(start, end) of each cell's text in a table row, offsets from `offset`, outer pipes and spaces dropped."""
    s, e = 0, len(line)
    while s < e and line[s].isspace():
        s += 1
    while e > s and line[e - 1].isspace():
        e -= 1
    if s < e and line[s] == "|":
        s += 1
    if e > s and line[e - 1] == "|" and (e - 1 == s or line[e - 2] != "\\"):
        e -= 1
    out, a = [], s
    for i in range(s, e + 1):
        if i == e or (line[i] == "|" and (i == 0 or line[i - 1] != "\\")):
            lo, hi = a, i
            while lo < hi and line[lo].isspace():
                lo += 1
            while hi > lo and line[hi - 1].isspace():
                hi -= 1
            out.append((offset + lo, offset + hi))
            a = i + 1
    return out


def line_kind(line: str) -> str:
    """The kind of one line of text, read from the text alone."""
    if _HEADING.match(line):
        return HEADING
    if is_table_row(line) or is_separator(line):
        return TABLE_ROW
    if (line.startswith(("    ", "\t")) and line.strip()) or _PROMPT.match(line):
        return CODE
    if _LIST.match(line):
        return LIST_ITEM
    return PARAGRAPH


@dataclass(frozen=True)
class Block:
    """A run of lines of one kind: text[start:end] of the passage. `lines` are (start, end) of each line."""

    kind: str
    lines: tuple[tuple[int, int], ...]

    @property
    def start(self) -> int:
        return self.lines[0][0]

    @property
    def end(self) -> int:
        return self.lines[-1][1]


def _lines(text: str) -> list[tuple[int, int]]:
    out, pos = [], 0
    for raw in text.split("\n"):
        out.append((pos, pos + len(raw)))
        pos += len(raw) + 1
    return out


def blocks(text: str, kind: str | None = None) -> list[Block]:
    """The passage cut into blocks; with `kind` (the chunk's, when the index knows it) all of it is that kind.

    Blank lines end a block. A code fence's lines, fences included, are one CODE block.
    """
    lines = _lines(text)
    if kind is not None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        kept = tuple(ln for ln in lines if text[ln[0] : ln[1]].strip())
        return [Block(kind, kept)] if kept else []
    out: list[Block] = []
    fence: list[tuple[int, int]] | None = None
    for ln in lines:
        line = text[ln[0] : ln[1]]
        if fence is not None:
            fence.append(ln)
            if _FENCE.match(line):
                out.append(Block(CODE, tuple(fence)))
                fence = None
            continue
        if _FENCE.match(line):
            fence = [ln]
            continue
        if not line.strip():
            out.append(Block("", ()))  # a paragraph break
            continue
        k = line_kind(line)
        if k == CODE and line.startswith(("    ", "\t")) and out and out[-1].kind == PARAGRAPH:
            k = PARAGRAPH  # an indented line inside running prose is text (as in CommonMark)
        prev = out[-1] if out else None
        if prev is not None and prev.kind == k and k in (PARAGRAPH, CODE, TABLE_ROW):
            out[-1] = Block(k, (*prev.lines, ln))
        else:
            out.append(Block(k, (ln,)))
    if fence:
        out.append(Block(CODE, tuple(fence)))
    return [b for b in out if b.kind]


Piece = Callable[[int, int], str]


def marker(text: str, span: tuple[int, int] | None) -> Piece:
    """piece(a, b): text[a:b] escaped, the part inside `span` wrapped in <mark>."""

    def piece(a: int, b: int) -> str:
        if b <= a:
            return ""
        if span is None or span[1] <= a or span[0] >= b:
            return escape_html(text[a:b])
        lo, hi = max(a, span[0]), min(b, span[1])
        if not text[lo:hi].strip():
            return escape_html(text[a:b])
        return f"{escape_html(text[a:lo])}<mark>{escape_html(text[lo:hi])}</mark>{escape_html(text[hi:b])}"

    return piece


def _inline(text: str, a: int, b: int, piece: Piece) -> str:
    """text[a:b] with `inline code` as <code> (the backticks are not shown)."""
    out, pos = [], a
    for m in _INLINE_CODE.finditer(text, a, b):
        out.append(piece(pos, m.start()))
        out.append(f"<code>{piece(m.start(1), m.end(1))}</code>")
        pos = m.end()
    out.append(piece(pos, b))
    return "".join(out)


def _strip(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _row(text: str, line: tuple[int, int], piece: Piece, tag: str = "td") -> str:
    spans = cells(text[line[0] : line[1]], line[0])
    return "<tr>" + "".join(f"<{tag}>{_inline(text, a, b, piece)}</{tag}>" for a, b in spans) + "</tr>"


def _table(text: str, block: Block, piece: Piece, columns: list[str] | None) -> str:
    rows = [ln for ln in block.lines if text[ln[0] : ln[1]].strip()]
    head = ""
    sep = next((i for i, ln in enumerate(rows) if is_separator(text[ln[0] : ln[1]])), None)
    if sep == 1:
        head = f"<thead>{_row(text, rows[0], piece, 'th')}</thead>"
        rows = rows[2:]
    elif columns:
        head = "<thead><tr>" + "".join(f'<th class="context">{escape_html(c)}</th>' for c in columns) + "</tr></thead>"
    body = "".join(_row(text, ln, piece) for ln in rows if not is_separator(text[ln[0] : ln[1]]))
    return f'<table class="quoted">{head}<tbody>{body}</tbody></table>'


def _code(text: str, block: Block, piece: Piece) -> str:
    lines = list(block.lines)
    if lines and _FENCE.match(text[lines[0][0] : lines[0][1]]):
        lines = lines[1:]
        if lines and _FENCE.match(text[lines[-1][0] : lines[-1][1]]):
            lines = lines[:-1]
    if not lines:
        return ""
    indent = min(
        (len(text[a:b]) - len(text[a:b].lstrip()) for a, b in lines if text[a:b].strip()),
        default=0,
    )
    body = "<br>".join(piece(a + min(indent, b - a), b) for a, b in lines)
    return f"<pre><code>{body}</code></pre>"


def render_blocks(
    text: str,
    span: tuple[int, int] | None = None,
    kind: str | None = None,
    columns: list[str] | None = None,
) -> str:
    """The passage `text` as HTML (one line), `span` (offsets in `text`) marked.

    `kind` is the chunk's block kind when the index knows it (else read from the
    text); `columns` are the column names of a table row whose header is not in the passage.
    """
    piece = marker(text, span)
    out = []
    for block in blocks(text, kind):
        k = block.kind
        if k == TABLE_ROW:
            out.append(_table(text, block, piece, columns))
        elif k == CODE:
            out.append(_code(text, block, piece))
        elif k == HEADING:
            a, b = block.lines[0]
            m = _HEADING.match(text[a:b])
            a = a + m.end() if m else a
            out.append(f'<p class="heading">{_inline(text, *_strip(text, a, b), piece)}</p>')
        elif k == LIST_ITEM:
            items = "".join(f"<li>{_inline(text, *_strip(text, a, b), piece)}</li>" for a, b in block.lines)
            out.append(f'<ul class="items">{items}</ul>')
        elif k == TERM:
            out.append(f'<p class="term">{"<br>".join(_inline(text, a, b, piece) for a, b in block.lines)}</p>')
        else:  # PARAGRAPH, DEFINITION
            out.append(f"<p>{'<br>'.join(_inline(text, *_strip(text, a, b), piece) for a, b in block.lines)}</p>")
    return "".join(out)


def header_above(doc: str, start: int) -> list[str] | None:
    """The column names of the table a row at `doc[start:]` belongs to, read from the document above it.

    A Markdown table's header is the line above its `|---|` separator; rows read
    from Word (blank lines between them) take the first row of their run, when it
    has as many cells. None when the row is not in a table or its header is not found.
    """
    line_start = doc.rfind("\n", 0, start) + 1
    line_end = doc.find("\n", start)
    first = doc[line_start : line_end if line_end >= 0 else len(doc)]
    if not is_table_row(first):
        return None
    if is_separator(first) and line_start > 0:  # the passage starts under the header
        head = doc[doc.rfind("\n", 0, line_start - 1) + 1 : line_start - 1]
        return [head[a:b] for a, b in cells(head)] if is_table_row(head) else None
    width = len(cells(first))
    pos, run = line_start, []
    for _ in range(200):  # a bounded walk up the table
        if pos == 0:
            break
        prev_end = pos - 1
        prev_start = doc.rfind("\n", 0, prev_end) + 1
        line = doc[prev_start:prev_end]
        if is_separator(line):
            head_end = prev_start - 1
            if head_end < 0:
                return None
            head = doc[doc.rfind("\n", 0, head_end) + 1 : head_end]
            return [head[a:b] for a, b in cells(head)] if is_table_row(head) else None
        if line.strip() and not is_table_row(line):
            break
        if line.strip():
            run.append(line)
        pos = prev_start
    if run and " | " in first and not first.strip().startswith("|"):
        top = run[-1]
        if len(cells(top)) == width and top != first:
            return [top[a:b] for a, b in cells(top)]
    return None
