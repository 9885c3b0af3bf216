"""Read an HTML page into text and blocks, keeping its structure (lxml's HTML parser).

What a browser shows of the page's content, block by block (`qa.ingest.blocks`):
headings h1-h6; definition lists (each `dt` a term, its `dd` the definitions
under it, Sphinx's `dl.py`/`dl.std` entries included, nested lists under their
outer term); tables, a row per line with its cells joined by " | " and the
header row kept as the rows' column names; `pre` as code with its line breaks;
list items; paragraphs. A paragraph that is nothing but bold text (an FAQ's
question, a pseudo-heading) is a label: a heading below h6.

Left out: scripts, styles, forms, hidden elements, navigation (prev/next bars,
menus, sidebars, breadcrumbs, tables of contents, footers) and permalink marks
(Sphinx's "¶" and "[source]" links). When the page marks its main content
(`role="main"`, `<main>`), only that is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from qa.ingest.blocks import (
    CAPTION,
    CELL_SEPARATOR,
    CODE,
    DEFINITION,
    HEADER,
    HEADING,
    ITEM,
    LABEL_LEVEL,
    PARAGRAPH,
    PERMALINK,
    ROW,
    TERM,
    Block,
    TextBuilder,
    clean_code,
    collapse,
)

BLOCK_TAGS = frozenset(
    "address article aside blockquote body caption center dd details dialog div dl dt fieldset figcaption figure "
    "footer h1 h2 h3 h4 h5 h6 header hr li main menu ol p pre section summary table tbody td tfoot th thead tr ul "
    "html".split()
)
DROPPED_TAGS = frozenset(
    "script style noscript template head title nav form button select option textarea iframe svg canvas map "
    "object embed audio video input meta link".split()
)
BOILERPLATE_CLASSES = frozenset(
    "sphinxsidebar sphinxsidebarwrapper related headerlink viewcode-link viewcode-back menu submenu mainmenu "
    "searchmenu searchbox breadcrumb breadcrumbs navbar nav navigation footer toc fancy_toc toctree-wrapper "
    "sidebar skip-link tagline nosearch md-header md-footer md-sidebar md-nav md-search md-tabs".split()
)
BOILERPLATE_ROLES = frozenset(["navigation", "search", "banner", "contentinfo"])
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
LABEL_MAX_CHARS = 200
LAYOUT_CELL_CHARS = 1000  # a table whose cells hold more text than this is read as page layout, not data
_TRAILING_MARKS = re.compile(rf"[\s{PERMALINK}]+$")
_BREAK = "\x00"  # a <br> while inline text is gathered (source line breaks are only spaces)


@dataclass(frozen=True)
class _Context:
    """How blocks found at this place are read: the kind of a paragraph, the term it explains, list tightness."""

    kind: str = PARAGRAPH
    of: int = -1
    tight: bool = False


def _tag(el) -> str:
    tag = el.tag
    return tag.lower() if isinstance(tag, str) else ""


def _dropped(el) -> bool:
    tag = _tag(el)
    if not tag or tag in DROPPED_TAGS:
        return True
    get = el.get
    if get("hidden") is not None or get("aria-hidden") == "true":
        return True
    style = get("style")
    if style and _HIDDEN_STYLE.search(style):
        return True
    if get("role") in BOILERPLATE_ROLES:
        return True
    classes = get("class")
    return bool(classes) and not BOILERPLATE_CLASSES.isdisjoint(classes.split())


def _inline(el, out: list[str]) -> None:
    """Append the text inside `el` (not its tail): line breaks for <br>, block children flattened with spaces."""
    if el.text:
        out.append(el.text)
    for child in el:
        if not _dropped(child):
            tag = _tag(child)
            if tag == "br":
                out.append(_BREAK)
            elif tag in BLOCK_TAGS:
                out.append(" ")
                _inline(child, out)
                out.append(" ")
            else:
                _inline(child, out)
        if child.tail:
            out.append(child.tail)


def _flat(parts: list[str]) -> str:
    """Inline pieces as one block of text: each line's whitespace collapsed, empty lines dropped, marks off."""
    lines = [collapse(line) for line in "".join(parts).split(_BREAK)]
    text = "\n".join(line for line in lines if line)
    return _TRAILING_MARKS.sub("", text)


def _text_of(el) -> str:
    parts: list[str] = []
    _inline(el, parts)
    return _flat(parts)


def _bold_only(el) -> bool:
    """A paragraph whose visible text all sits inside <b>/<strong> (an FAQ question, a pseudo-heading)."""
    bold = "".join(collapse(b.text_content()) for b in el.iter("b", "strong") if not _dropped(b))
    whole = collapse(el.text_content())
    return bool(whole) and len(whole) <= LABEL_MAX_CHARS and bold.replace(" ", "") == whole.replace(" ", "")


class _Reader:
    def __init__(self) -> None:
        self.out = TextBuilder()

    def container(self, el, ctx: _Context) -> None:
        """Read an element that holds blocks: runs of inline content between its block children are paragraphs."""
        run: list[str] = []

        def flush() -> None:
            if run:
                self.out.add(ctx.kind, _flat(run), of=ctx.of, tight=ctx.tight)
                run.clear()

        if el.text:
            run.append(el.text)
        for child in el:
            if not _dropped(child):
                tag = _tag(child)
                if tag in BLOCK_TAGS:
                    flush()
                    self.block(child, tag, ctx)
                elif tag == "br":
                    run.append(_BREAK)
                else:
                    _inline(child, run)
            if child.tail:
                run.append(child.tail)
        flush()

    def block(self, el, tag: str, ctx: _Context) -> None:
        out = self.out
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            out.add(HEADING, _text_of(el), level=int(tag[1]))
        elif tag == "pre":
            out.add(CODE, clean_code(el.text_content()), of=ctx.of)
        elif tag == "p" and ctx.kind in (PARAGRAPH, ITEM) and _bold_only(el):
            out.add(HEADING, _text_of(el), level=LABEL_LEVEL)
        elif tag in ("p", "summary", "address"):
            out.add(ctx.kind, _text_of(el), of=ctx.of, tight=ctx.tight)
        elif tag in ("ul", "ol", "menu"):
            self.listing(el, ctx)
        elif tag == "li":
            self.container(el, replace(ctx, kind=ITEM, tight=True))
        elif tag == "dl":
            self.definitions(el, ctx)
        elif tag in ("dt", "dd"):  # outside a <dl>: read as if inside one
            self.definitions(el.getparent() if el.getparent() is not None else el, ctx)
        elif tag == "table":
            self.table(el, ctx)
        elif tag in ("caption", "figcaption"):
            out.add(CAPTION, _text_of(el))
        elif tag == "hr":
            out.loosen()
        else:  # div, section, blockquote, figure, details, tr/td outside a table, ...
            self.container(el, ctx)

    def listing(self, el, ctx: _Context) -> None:
        item = replace(ctx, kind=ITEM, tight=True)
        for child in el:
            if _dropped(child):
                continue
            tag = _tag(child)
            if tag == "li":
                self.container(child, item)
            elif tag in BLOCK_TAGS:
                self.block(child, tag, item)
            else:
                self.out.add(ITEM, _text_of(child), of=ctx.of, tight=True)
        self.out.loosen()

    def definitions(self, el, ctx: _Context) -> None:
        """A definition list: each run of <dt> is one term block; the <dd> after it is read under that term."""
        term = -1
        last_was_term = False
        for child in el:
            if _dropped(child):
                continue
            tag = _tag(child)
            if tag == "dt":
                text = _text_of(child)
                if last_was_term and term >= 0:
                    self.out.extend_term(term, text)
                else:
                    found = self.out.add(TERM, text, of=ctx.of, tight=True)
                    term = found if found >= 0 else term
                last_was_term = True
            elif tag == "dd":
                self.out.enter_term(term)
                self.container(child, _Context(kind=DEFINITION, of=term, tight=True))
                self.out.leave_term()
                last_was_term = False
            elif tag in BLOCK_TAGS:
                self.block(child, tag, ctx)
        self.out.loosen()

    def table(self, el, ctx: _Context) -> None:
        rows = [r for r in el.iter("tr") if not _dropped(r)]
        if any(t is not el for t in el.iter("table")) or not rows:
            self.container(el, ctx)  # a table holding tables lays out a page
            return
        cells = [[_text_of(c).replace("\n", " ") for c in r if _tag(c) in ("td", "th")] for r in rows]
        if any(len(c) > LAYOUT_CELL_CHARS for row in cells for c in row):
            self.container(el, ctx)
            return
        for caption in el.iter("caption"):
            self.out.add(CAPTION, _text_of(caption))
        header = -1
        for r, row_cells in zip(rows, cells, strict=True):
            if not any(row_cells):
                continue
            text = CELL_SEPARATOR.join(row_cells)
            in_head = r.getparent() is not None and _tag(r.getparent()) == "thead"
            all_th = all(_tag(c) == "th" for c in r if _tag(c) in ("td", "th"))
            if header < 0 and (in_head or all_th):
                header = self.out.add(HEADER, text, tight=True)
            else:
                self.out.add(ROW, text, of=header, tight=True)
        self.out.loosen()


def _main(root):
    """The page's marked main content, when it has one; else its body."""
    for xpath in ('//*[@role="main"]', "//main", "//article"):
        found = root.xpath(xpath)
        if found and collapse(found[0].text_content()):
            return found[0]
    body = root.find("body")
    return body if body is not None else root


def read_tree(root) -> tuple[str, tuple[Block, ...]]:
    """The text of a parsed HTML page (`qa.ingest.html_layout.html_tree`) and its blocks."""
    reader = _Reader()
    reader.container(_main(root), _Context())
    return reader.out.result()


def read_html(markup: str) -> tuple[str, tuple[Block, ...]]:
    """The text of an HTML page and its blocks (see the module's docstring)."""
    from qa.ingest.html_layout import html_tree

    root = html_tree(markup)
    return read_tree(root) if root is not None else ("", ())
