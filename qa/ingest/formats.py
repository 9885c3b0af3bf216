"""Turn a file's bytes into the text the index quotes from, one reader per format.

`.txt` and `.md` are their bytes decoded as UTF-8, nothing changed. The other
formats go through maintained libraries: `.html` through inscriptis (the text
a browser would show, scripts and styles dropped), `.pdf` through pypdf (its
text layer, page by page) and `.docx` through python-docx (paragraphs and table
rows). Every reader is deterministic, so the stored text of a document can be
checked against its file at any time by reading the file again.

A reader returns `Extracted(text, pages)`; `pages` holds the character offset
where each PDF page starts (empty for the other formats). A file a reader
cannot make sense of raises `FormatError` with the reason.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

FORMATS = {".txt": "text", ".md": "markdown", ".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx"}
PAGE_BREAK = "\n\n"


class FormatError(ValueError):
    """The file is not readable as its format says."""


@dataclass(frozen=True)
class Extracted:
    text: str
    pages: tuple[int, ...] = ()


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


def _html(data: bytes) -> Extracted:
    from inscriptis import get_text
    from inscriptis.model.config import ParserConfig

    try:
        markup = data.decode("utf-8")
    except UnicodeDecodeError:
        markup = data.decode("cp1252", errors="replace")
    text = get_text(markup, ParserConfig(display_links=False, display_images=False))
    return Extracted(_tidy(text))


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
    blocks = [p.text.strip() for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            blocks.append(" | ".join(cell.text.strip() for cell in row.cells))
    return Extracted("\n\n".join(b for b in blocks if b))


def _tidy(text: str) -> str:
    """Trailing spaces off each line, at most one blank line in a row."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


READERS = {"text": _plain, "markdown": _plain, "html": _html, "pdf": _pdf, "docx": _docx}


def extract(data: bytes, fmt: str) -> Extracted:
    """The text of a file's bytes in format `fmt` (see FORMATS)."""
    return READERS[fmt](data)
