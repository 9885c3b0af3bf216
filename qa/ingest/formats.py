"""Turn a file's bytes into the text the index quotes from, one reader per format, at a bounded cost.

`.txt` is its bytes decoded as UTF-8, nothing changed. The other formats keep
their structure where they have one: `.md` is the text it renders to
(`qa.ingest.markdown_reader`, markdown-it-py), `.html` the text a browser shows
of the page's content (`qa.ingest.html_reader`, lxml), `.docx` its paragraphs
and tables in document order with their heading styles (python-docx's element
classes; `qa.ingest.docx_text`); `.pdf` is its text layer, page by page (pypdf).
Every reader is deterministic, so the stored text of a document can be checked
against its file at any time by reading the file again.

A hostile file must not cost more than a large honest one, so every reader
works within `ReadLimits`, derived from the file-size limit: no document yields
more text than a plain-text file may hold; a Word file may unpack to at most a
few times the limit (checked before anything is inflated, and again while
inflating); a PDF has at most `pdf_pages` pages; an HTML file has at most
`html_elements` elements, nested less deep than its parser reads; and PDF and
Word reading stops at `seconds`. A file over a limit
raises `FormatError` saying which and by how much.

A reader returns `FileText(text, pages, blocks)`; `pages` holds the character
offset where each PDF page starts (empty for the other formats), `blocks` the
kind and place of each piece of the text (`qa.ingest.blocks`; empty for plain
text and PDF, which the chunker reads line by line). A file a reader cannot make
sense of raises `FormatError` with the reason.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from qa.ingest.blocks import Block
from qa.ingest.limits import Deadline, FormatError, ReadLimits

FORMATS = {".txt": "text", ".md": "markdown", ".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx"}
PAGE_BREAK = "\n\n"


@dataclass(frozen=True)
class FileText:
    text: str
    pages: tuple[int, ...] = ()
    blocks: tuple[Block, ...] = ()


def format_of(name: str) -> str | None:
    """The format a file name stands for ('text', 'pdf', ...), or None when it is not read."""
    dot = name.rfind(".")
    return FORMATS.get(name[dot:].lower()) if dot >= 0 else None


def _plain(data: bytes, limits: ReadLimits, deadline: Deadline) -> FileText:
    if b"\x00" in data[:8192]:
        raise FormatError("binary file")
    limits.check_text(len(data))
    try:
        return FileText(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text (bad byte at offset {exc.start})") from exc


def _markdown(data: bytes, limits: ReadLimits, deadline: Deadline) -> FileText:
    from qa.ingest.markdown_reader import read_markdown

    text, blocks = read_markdown(_plain(data, limits, deadline).text)
    limits.check_text(len(text))
    return FileText(text, (), blocks)


def _html(data: bytes, limits: ReadLimits, deadline: Deadline) -> FileText:
    from qa.ingest.html_layout import check_tree, html_tree
    from qa.ingest.html_reader import read_tree

    tags = data.count(b"<") - data.count(b"</")  # at least as many as the start tags
    if tags > 2 * limits.html_elements:
        raise FormatError(f"about {tags:,} HTML tags, more than the {limits.html_elements:,} elements read")
    try:
        markup = data.decode("utf-8")
    except UnicodeDecodeError:
        markup = data.decode("cp1252", errors="replace")
    tree = html_tree(markup)
    if tree is None:
        return FileText("")
    check_tree(tree, limits)
    text, blocks = read_tree(tree)
    limits.check_text(len(text))
    return FileText(text, (), blocks)


def _pdf(data: bytes, limits: ReadLimits, deadline: Deadline) -> FileText:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise FormatError("encrypted PDF")
        _check_declared_pages(reader, limits)
        if len(reader.pages) > limits.pdf_pages:
            raise FormatError(f"{len(reader.pages):,} pages, more than the {limits.pdf_pages:,} read")
        pages, parts, pos = [], [], 0
        for page in reader.pages:
            deadline.check()
            # the visitor runs before every operator: a page too slow to read stops mid-way
            text = _tidy(page.extract_text(visitor_operand_before=deadline.check) or "")
            pages.append(pos)
            parts.append(text)
            pos += len(text) + len(PAGE_BREAK)
            limits.check_text(pos)
    except FormatError:
        raise
    except PyPdfError as exc:
        if isinstance(exc, PdfReadError):
            raise FormatError(f"not a readable PDF ({exc})") from exc
        raise FormatError(f"a PDF over pypdf's limits ({type(exc).__name__}: {exc})") from exc
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise FormatError(f"not a readable PDF ({exc})") from exc
    return FileText(PAGE_BREAK.join(parts), tuple(pages))


def _check_declared_pages(reader, limits: ReadLimits) -> None:
    """Refuse a PDF whose page tree declares too many pages, before pypdf walks it (50,000 pages: 7.6 s)."""
    try:
        declared = reader.root_object["/Pages"]["/Count"]
    except Exception:  # no usable count: the page list, counted next, decides
        return
    if isinstance(declared, int) and declared > limits.pdf_pages:
        raise FormatError(f"{declared:,} pages, more than the {limits.pdf_pages:,} read")


def _docx(data: bytes, limits: ReadLimits, deadline: Deadline) -> FileText:
    from qa.ingest.docx_text import docx_text

    text, blocks = docx_text(data, limits, deadline)
    return FileText(text, (), blocks)


def _tidy(text: str) -> str:
    """Trailing spaces off each line, at most one blank line in a row."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


READERS = {"text": _plain, "markdown": _markdown, "html": _html, "pdf": _pdf, "docx": _docx}


def read_bytes(data: bytes, fmt: str, limits: ReadLimits | None = None) -> FileText:
    """The text of a file's bytes in format `fmt` (see FORMATS), within `limits` (default: from the environment)."""
    limits = limits or ReadLimits.from_env()
    return READERS[fmt](data, limits, Deadline(limits.seconds))
