"""An HTML page's tree, checked before inscriptis lays it out as text.

inscriptis is not interruptible, so what it may cost is checked first: the
number of elements (its time and memory grow with them: about 0.1 ms and 1 KB
a table cell), how deep they nest (libxml2 stops nesting at 256 and drops what
lies deeper, so such a page would lose text silently) and how big its tables
get. inscriptis aligns a table's columns by padding every cell to the widest of
its column and every row to its tallest cell, so a table's text is the sum of
its column widths times its lines: a 129 KB page with one 100,000-character
cell above 1,000 short rows lays out to 100 MB of spaces. `layout_size` bounds
that from above in one pass over the tree.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml.etree import ParserError
from lxml.html import HtmlElement, document_fromstring

from qa.ingest.formats import FormatError, ReadLimits, size_text

PARSER_DEPTH = 256  # libxml2's nesting limit without XML_PARSE_HUGE: deeper elements are dropped
CELL_SEPARATOR = 2  # inscriptis puts two spaces between cells
_XML_DECLARATION = re.compile(r"^<\?xml [^>]+?\?>")
_BLOCKS = frozenset(
    "address article aside blockquote br dd div dl dt fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 "
    "header hr li main nav ol p pre section table tr ul".split()
)


def html_tree(markup: str) -> HtmlElement | None:
    """The tree inscriptis parses `markup` into (as `inscriptis.get_text` does); None for blank markup."""
    markup = markup.strip()
    if not markup:
        return None
    if markup.startswith("<?xml "):
        markup = _XML_DECLARATION.sub("", markup, count=1)
    try:
        return document_fromstring(markup)
    except ParserError:
        return document_fromstring("<pre>" + markup + "</pre>")


def check_tree(tree: HtmlElement, limits: ReadLimits) -> None:
    """Raise FormatError when the tree has too many elements, nests as deep as the parser stops, or lays out too big."""
    count = depth = deepest = 0
    for event, _ in etree.iterwalk(tree, events=("start", "end")):
        if event == "start":
            count += 1
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    if count > limits.html_elements:
        raise FormatError(f"{count:,} HTML elements, more than the {limits.html_elements:,} read")
    if deepest >= PARSER_DEPTH:
        raise FormatError(f"HTML nested {PARSER_DEPTH} or more elements deep, where the parser stops reading")
    size = layout_size(tree)
    if size > limits.max_bytes:
        raise FormatError(
            f"its tables lay out to about {size_text(size)} of text, over the "
            f"{size_text(limits.max_bytes)} a document may hold (QA_MAX_FILE_MB)"
        )


def layout_size(tree: HtmlElement) -> int:
    """An upper bound on the characters of the tree's text with its tables laid out (margins aside)."""
    return _measure(tree)[0]


def _measure(el) -> tuple[int, int]:
    """(characters, lines) of an element's text, bounded from above. Recursion depth < PARSER_DEPTH."""
    if el.tag == "table":
        return _table(el)
    text = el.text or ""
    chars, lines = len(text), text.count("\n")
    for child in el:
        if isinstance(child.tag, str):
            c, n = _measure(child)
            chars, lines = chars + c, lines + n
        tail = child.tail or ""
        chars, lines = chars + len(tail), lines + tail.count("\n")
    if el.tag in _BLOCKS:
        chars, lines = chars + 2, lines + 2
    return chars, lines


def _table(table) -> tuple[int, int]:
    """A table as inscriptis lays it out: each column as wide as its widest cell, each row as tall as its tallest."""
    rows: list[list[tuple[int, int]]] = []
    loose = 0  # text inside the table but outside its cells
    stack = list(reversed(table))
    while stack:
        el = stack.pop()
        if not isinstance(el.tag, str):
            continue
        if el.tag in ("td", "th", "table"):
            if not rows:
                rows.append([])
            rows[-1].append(_measure(el))
            continue
        if el.tag == "tr":
            rows.append([])
        loose += len(el.text or "") + len(el.tail or "")
        stack.extend(reversed(el))
    widths: list[int] = []
    height = 0
    for row in rows:
        for col, (chars, _) in enumerate(row):
            if col == len(widths):
                widths.append(0)
            widths[col] = max(widths[col], chars + CELL_SEPARATOR)
        height += max([1, *(lines for _, lines in row)])
    width = sum(widths)
    return width * height + height + loose, height + 2
