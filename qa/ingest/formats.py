"""Turn a file's bytes into the text the index quotes from, one reader per format.

`.txt` is its bytes decoded as UTF-8, nothing changed. The other formats keep
their structure where they have one: `.md` is the text it renders to
(`qa.ingest.markdown_reader`, markdown-it-py), `.html` the text a browser shows
of the page's content (`qa.ingest.html_reader`, lxml), `.docx` its paragraphs
and tables in document order (python-docx, heading styles kept); `.pdf` is its
text layer, page by page (pypdf). Every reader is deterministic, so the stored
text of a document can be checked against its file at any time by reading the
file again.

A reader returns `Extracted(text, pages, blocks)`; `pages` holds the character
offset where each PDF page starts (empty for the other formats), `blocks` the
kind and place of each piece of the text (`qa.ingest.blocks`; empty for plain
text and PDF, which the chunker reads line by line). A file a reader cannot make
sense of raises `FormatError` with the reason.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from qa.ingest.blocks import (
    CELL_SEPARATOR,
    HEADER,
    HEADING,
    ITEM,
    LABEL_LEVEL,
    PARAGRAPH,
    ROW,
    Block,
    TextBuilder,
)

FORMATS = {".txt": "text", ".md": "markdown", ".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx"}
PAGE_BREAK = "\n\n"


class FormatError(ValueError):
    """The file is not readable as its format says."""


@dataclass(frozen=True)
class Extracted:
    text: str
    pages: tuple[int, ...] = ()
    blocks: tuple[Block, ...] = ()


def format_of(name: str) -> str | None:
    """The format a file name stands for ('text', 'pdf', ...), or None when it is not read."""
    dot = name.rfind(".")
    return FORMATS.get(name[dot:].lower()) if dot >= 0 else None


def _plain(data: bytes) -> Extracted:
    if b"\x00" in data[:8192]:
        raise FormatError("binary file")
    try:
        return Extracted(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text (bad byte at offset {exc.start})") from exc


def _markdown(data: bytes) -> Extracted:
    from qa.ingest.markdown_reader import read_markdown

    text, blocks = read_markdown(_plain(data).text)
    return Extracted(text, (), blocks)


def _html(data: bytes) -> Extracted:
    from qa.ingest.html_reader import read_html

    try:
        markup = data.decode("utf-8")
    except UnicodeDecodeError:
        markup = data.decode("cp1252", errors="replace")
    text, blocks = read_html(re.sub(r"^\ufeff?\s*<\?xml[^>]*>", "", markup))
    return Extracted(text, (), blocks)


def _pdf(data: bytes) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise FormatError("encrypted PDF")
        pages, parts, pos = [], [], 0
        for page in reader.pages:
            text = _tidy(page.extract_text() or "")
            pages.append(pos)
            parts.append(text)
            pos += len(text) + len(PAGE_BREAK)
    except FormatError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise FormatError(f"not a readable PDF ({exc})") from exc
    return Extracted(PAGE_BREAK.join(parts), tuple(pages))


def _docx(data: bytes) -> Extracted:
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise FormatError(f"not a readable Word document ({exc})") from exc
    text, blocks = _docx_blocks(document)
    return Extracted(text, (), blocks)


_DOCX_HEADING = re.compile(r"^(?:heading\s*(\d)|title)$", re.I)
_LABEL_MAX_CHARS = 100


def _docx_label(para, text: str) -> bool:
    """A paragraph written as a heading without a heading style: all bold, or short and without final
    punctuation ("Staff memo"). The chunker reads it as text when nothing follows under it."""
    if not text or len(text) > _LABEL_MAX_CHARS:
        return False
    runs = [r for r in para.runs if r.text.strip()]
    if runs and all(r.bold for r in runs):
        return True
    return not text.endswith(tuple(".!?…:;,\"'”’)]。！？")) and len(text.split()) <= 14


def _docx_blocks(document) -> tuple[str, tuple[Block, ...]]:
    """Paragraphs and tables in document order: "Heading N"/"Title" styles are headings, "List ..." styles
    items, a table's first row its column names."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    out = TextBuilder()
    for element in document.element.body.iterchildren():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para = Paragraph(element, document)
            text = " ".join(para.text.split())
            style = (para.style.name if para.style is not None else "") or ""
            heading = _DOCX_HEADING.match(style.strip())
            if heading:
                out.add(HEADING, text, level=int(heading.group(1) or 1))
            elif _docx_label(para, text):
                out.add(HEADING, text, level=LABEL_LEVEL)
            elif style.lower().startswith("list") or (element.pPr is not None and element.pPr.numPr is not None):
                out.add(ITEM, text, tight=True)
            else:
                out.loosen()
                out.add(PARAGRAPH, text)
        elif tag == "tbl":
            header = -1
            for row in Table(element, document).rows:
                cells, seen = [], set()
                for cell in row.cells:
                    if id(cell._tc) not in seen:  # a merged cell comes back once per grid column
                        seen.add(id(cell._tc))
                        cells.append(" ".join(cell.text.split()))
                if any(cells):
                    if header < 0:
                        header = out.add(HEADER, CELL_SEPARATOR.join(cells), tight=True)
                    else:
                        out.add(ROW, CELL_SEPARATOR.join(cells), of=header, tight=True)
            out.loosen()
    return out.result()


def _tidy(text: str) -> str:
    """Trailing spaces off each line, at most one blank line in a row."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


READERS = {"text": _plain, "markdown": _markdown, "html": _html, "pdf": _pdf, "docx": _docx}


def extract(data: bytes, fmt: str) -> Extracted:
    """The text of a file's bytes in format `fmt` (see FORMATS)."""
    return READERS[fmt](data)
