"""Read Markdown into the text it renders to, and its blocks (markdown-it-py, CommonMark with tables).

The stored text is what a reader of the rendered page sees, not the source:
headings without their `#`, inline code without its backticks (and without
MkDocs' `#!python` highlighting prefix), links as their words, emphasis marks
gone. Blocks (`qa.ingest.blocks`): headings with their level, pipe tables a row
per line with their header row, fenced and indented code with its line breaks,
list items, paragraphs; a paragraph that is all bold is a label (a heading
below h6).

MkDocs Material's containers are read too: an admonition (`!!! tip "Title"`,
`??? note`) and a content tab (`=== "pip"`) give a label line with their title,
followed by their indented content. Raw HTML blocks are read as their text.
"""

from __future__ import annotations

import re

from qa.ingest.blocks import (
    CELL_SEPARATOR,
    CODE,
    HEADER,
    HEADING,
    ITEM,
    LABEL_LEVEL,
    PARAGRAPH,
    ROW,
    Block,
    TextBuilder,
    clean_code,
    collapse,
)

_CONTAINER = re.compile(r"^(\s*)(?:(!!!|\?\?\?\+?)\s+([\w-]+)(?:\s+\"([^\"]*)\")?|(===)\+?\s+\"([^\"]*)\")\s*$")
_HILITE = re.compile(r"^#!\w+\s+")  # `#!python import os`: MkDocs' inline highlighting prefix
_BREAK = "\x00"
_HTML_BREAK = re.compile(r"^<br\s*/?>$|^</?(?:li|p|div|tr)\b", re.I)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def unfold_containers(source: str) -> str:
    """MkDocs admonitions and content tabs as a bold label line followed by their content, dedented."""
    out: list[str] = []
    stack: list[int] = []  # the indent of each open container's first line
    for line in source.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line.strip():
            while stack and _indent(line) <= stack[-1]:
                stack.pop()
        depth = 4 * len(stack)
        body = line[depth:] if line[:depth].strip() == "" else line.lstrip()
        m = _CONTAINER.match(body)
        if m:
            title = m.group(4) if m.group(2) else m.group(6)
            if title is None:
                title = m.group(3).replace("-", " ").capitalize()
            if title.strip():
                out.extend([m.group(1) + "**" + title.strip().replace("*", "") + "**", ""])
            stack.append(_indent(line))
            continue
        out.append(body)
    return "\n".join(out)


def _inline_text(token, cell: bool = False) -> str:
    """The rendered text of an inline token: code without backticks, links as their words, no emphasis."""
    parts: list[str] = []
    for child in token.children or ():
        kind = child.type
        if kind == "text":
            parts.append(child.content)
        elif kind == "code_inline":
            parts.append(_HILITE.sub("", child.content))
        elif kind == "softbreak":
            parts.append(" ")
        elif kind == "hardbreak" or (kind == "html_inline" and _HTML_BREAK.match(child.content.strip())):
            parts.append(" " if cell else _BREAK)
        elif kind == "image":
            continue
    lines = [collapse(line) for line in "".join(parts).split(_BREAK)]
    return "\n".join(line for line in lines if line)


def _bold_only(token) -> bool:
    depth, bold, other = 0, False, False
    for child in token.children or ():
        if child.type == "strong_open":
            depth += 1
        elif child.type == "strong_close":
            depth -= 1
        elif child.type in ("text", "code_inline") and child.content.strip():
            if depth > 0:
                bold = True
            else:
                other = True
    return bold and not other


def _html_text(markup: str) -> str:
    from qa.ingest.html_reader import read_html

    text, _ = read_html(markup)
    return collapse(text)


def read_markdown(source: str) -> tuple[str, tuple[Block, ...]]:
    """The rendered text of a Markdown document and its blocks (see the module's docstring)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    tokens = md.parse(unfold_containers(source))
    out = TextBuilder()
    lists = 0  # open lists
    heading_level = 0
    header = -1
    row: list[str] | None = None
    in_head = False
    for i, tok in enumerate(tokens):
        kind = tok.type
        if kind == "heading_open":
            heading_level = int(tok.tag[1])
        elif kind in ("bullet_list_open", "ordered_list_open"):
            lists += 1
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists -= 1
            out.loosen()
        elif kind == "table_open":
            header = -1
        elif kind == "table_close":
            out.loosen()
        elif kind == "thead_open":
            in_head = True
        elif kind == "thead_close":
            in_head = False
        elif kind == "tr_open":
            row = []
        elif kind in ("th_open", "td_open"):
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if row is not None:
                row.append(_inline_text(nxt, cell=True) if nxt is not None and nxt.type == "inline" else "")
        elif kind == "tr_close" and row is not None:
            if any(row):
                text = CELL_SEPARATOR.join(row)
                if in_head and header < 0:
                    header = out.add(HEADER, text, tight=True)
                else:
                    out.add(ROW, text, of=header, tight=True)
            row = None
        elif kind == "inline" and row is None:
            text = _inline_text(tok)
            if heading_level:
                out.add(HEADING, text, level=heading_level)
                heading_level = 0
            elif lists:
                out.add(ITEM, text, tight=True)
            elif _bold_only(tok):
                out.add(HEADING, text, level=LABEL_LEVEL)
            else:
                out.add(PARAGRAPH, text)
        elif kind in ("fence", "code_block"):
            out.add(CODE, clean_code(tok.content))
        elif kind == "html_block":
            out.add(ITEM if lists else PARAGRAPH, _html_text(tok.content), tight=bool(lists))
        elif kind == "hr":
            out.loosen()
    return out.result()
