"""A Word file's text, read in bounded memory: the main document part only, inflated as a stream.

`docx.Document()` loads every part of the package, pictures included, so a
1.6 MB file linking a picture of 1.5 GB of zeros cost 3.2 GB and 18 s. Here
nothing is inflated before the zip's directory has been checked: at most
`zip_members` members, none and all together unpacking to more than
`ReadLimits.unpacked_bytes`. Then only three parts are read: the content types,
the package relationships (to find the main document) and the main document,
which is inflated a megabyte at a time (never past its declared size) into an
lxml pull parser that builds python-docx's own element classes. Each paragraph
and table directly in the body is turned into text by python-docx's
`Paragraph` and `Table` as soon as it is complete, then dropped; so memory
holds the text and one paragraph or table (at most `BLOCK_BYTES` of XML).

The text keeps the document's order and structure (`qa.ingest.blocks`): a
paragraph styled "Heading N" or "Title" is a heading; one written as a heading
without the style (all bold, or short without final punctuation) a label; a
"List" style or a numbered paragraph a list item; a table's first row its
column names and each further row a row, cells joined by " | " (a merged cell
once).
"""

from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile

from lxml import etree

from qa.ingest.blocks import CELL_SEPARATOR, HEADER, HEADING, ITEM, LABEL_LEVEL, PARAGRAPH, ROW, Block, TextBuilder
from qa.ingest.limits import Deadline, FormatError, ReadLimits, size_text

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
PACKAGE_PART_BYTES = 2 * 1024 * 1024  # [Content_Types].xml and _rels/.rels: a few KB in real files
DIRECTORY_BYTES = 4 * 1024 * 1024  # the zip's central directory: 46+ bytes a member
BLOCK_BYTES = 32 * 1024 * 1024  # XML inflated without one body paragraph or table completing
PIECE = 1024 * 1024
_BODY, _P, _TBL = f"{{{W}}}body", f"{{{W}}}p", f"{{{W}}}tbl"


def _unreadable(detail: object) -> FormatError:
    return FormatError(f"not a readable Word document ({detail})")


def directory_size(data: bytes) -> int:
    """The size of a zip's central directory as its end record declares it (ZIP64 too); 0 when there is none.

    zipfile makes an object for every member listed there before any can be
    checked, so a directory of a million tiny members must be refused first.
    """
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or end + 22 > len(data):
        return 0
    size = struct.unpack_from("<I", data, end + 12)[0]
    if size == 0xFFFFFFFF and end >= 20 and data[end - 20 : end - 16] == b"PK\x06\x07":
        record = struct.unpack_from("<Q", data, end - 12)[0]
        if data[record : record + 4] == b"PK\x06\x06":
            size = struct.unpack_from("<Q", data, record + 40)[0]
    return size


def _open(data: bytes, limits: ReadLimits) -> zipfile.ZipFile:
    """The zip, after checking its directory and every member's declared size."""
    if directory_size(data) > DIRECTORY_BYTES:
        raise FormatError(f"its zip directory is {size_text(directory_size(data))}, too many parts for a Word file")
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _unreadable(exc) from exc
    members = z.infolist()
    if len(members) > limits.zip_members:
        raise FormatError(f"{len(members):,} parts in its zip, more than the {limits.zip_members:,} read")
    total = sum(m.file_size for m in members)
    if total > limits.unpacked_bytes:
        largest = max(members, key=lambda m: m.file_size)
        raise FormatError(
            f"expands to {size_text(total)} unpacked, more than {limits.expansion} × the "
            f"{size_text(limits.max_bytes)} file limit (QA_MAX_FILE_MB); "
            f"{largest.filename} alone is {size_text(largest.file_size)}"
        )
    return z


def _pieces(z: zipfile.ZipFile, name: str, cap: int, deadline: Deadline):
    """The member inflated a piece at a time; FormatError past `cap` or past its declared size."""
    try:
        info = z.getinfo(name)
    except KeyError:
        raise _unreadable(f"no {name} in it") from None
    if info.file_size > cap:
        raise FormatError(f"{name} expands to {size_text(info.file_size)}, more than the {size_text(cap)} read")
    got = 0
    try:
        with z.open(info) as f:
            while piece := f.read(PIECE):
                got += len(piece)
                if got > min(cap, info.file_size):  # zipfile stops at the declared size; this guards it
                    raise FormatError(f"{name} expands past the {size_text(info.file_size)} it declares")
                deadline.check()
                yield piece
    except (zipfile.BadZipFile, RuntimeError, ValueError, OSError, EOFError) as exc:
        if isinstance(exc, FormatError):
            raise
        raise _unreadable(exc) from exc


def _xml(z: zipfile.ZipFile, name: str, deadline: Deadline) -> etree._Element:
    """A small package part, parsed (no entities resolved, nothing fetched)."""
    data = b"".join(_pieces(z, name, PACKAGE_PART_BYTES, deadline))
    try:
        return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise _unreadable(f"{name}: {exc}") from exc


def main_part(z: zipfile.ZipFile, deadline: Deadline) -> str:
    """The zip member name of the main document, checked to be a Word document (as python-docx checks)."""
    rels = _xml(z, "_rels/.rels", deadline)
    targets = [r.get("Target", "") for r in rels if r.get("Type") == OFFICE_DOCUMENT]
    if not targets:
        raise _unreadable("no main document part")
    name = posixpath.normpath("/" + targets[0]).lstrip("/")
    types = _xml(z, "[Content_Types].xml", deadline)
    ext = name.rsplit(".", 1)[-1].lower()
    kind = ""
    for entry in types:
        if entry.tag.endswith("}Default") and entry.get("Extension", "").lower() == ext and not kind:
            kind = entry.get("ContentType", "")
        if entry.tag.endswith("}Override") and entry.get("PartName", "").lower() == "/" + name.lower():
            kind = entry.get("ContentType", "")
            break
    if kind != WORD_MAIN:
        raise _unreadable(f"its main part is {kind or 'of no known type'}, not a Word document")
    return name


def _parser() -> etree.XMLPullParser:
    from docx.oxml.parser import element_class_lookup  # python-docx's element classes, so its objects read text

    parser = etree.XMLPullParser(events=("end",), remove_blank_text=True, resolve_entities=False, no_network=True)
    parser.set_element_class_lookup(element_class_lookup)
    return parser


_HEADING_STYLE = re.compile(r"^(?:heading\s*(\d)|title)$", re.I)
LABEL_MAX_CHARS = 100


def _label(para, text: str) -> bool:
    """A paragraph written as a heading without a heading style: all bold, or short and without final
    punctuation ("Staff memo"). The chunker reads it as text when nothing follows under it."""
    if not text or len(text) > LABEL_MAX_CHARS:
        return False
    runs = [r for r in para.runs if r.text.strip()]
    if runs and all(r.bold for r in runs):
        return True
    return not text.endswith(tuple(".!?…:;,\"'”’)]。！？")) and len(text.split()) <= 14


class _Body:
    """The body's paragraphs and tables as blocks, written as the parser completes them."""

    def __init__(self, limits: ReadLimits, deadline: Deadline) -> None:
        self.out = TextBuilder()
        self.limits, self.deadline = limits, deadline

    def take(self, el) -> None:
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        self.deadline.check()
        if el.tag == _P:
            para = Paragraph(el, None)
            text = " ".join(para.text.split())
            ppr = el.pPr
            style = (ppr.pStyle.val if ppr is not None and ppr.pStyle is not None else "") or ""
            heading = _HEADING_STYLE.match(style.replace(" ", ""))
            if heading:
                self._add(HEADING, text, level=int(heading.group(1) or 1))
            elif style.lower().startswith("list") or (ppr is not None and ppr.numPr is not None):
                self._add(ITEM, text, tight=True)
            elif _label(para, text):
                self._add(HEADING, text, level=LABEL_LEVEL)
            else:
                self.out.loosen()
                self._add(PARAGRAPH, text)
        elif el.tag == _TBL:
            header = -1
            for row in Table(el, None).rows:
                self.deadline.check()
                cells, seen = [], set()
                for cell in row.cells:
                    if id(cell._tc) not in seen:  # a merged cell comes back once per grid column
                        seen.add(id(cell._tc))
                        cells.append(" ".join(cell.text.split()))
                if any(cells):
                    kind = HEADER if header < 0 else ROW
                    index = self._add(kind, CELL_SEPARATOR.join(cells), of=header, tight=True)
                    header = index if kind == HEADER else header
            self.out.loosen()

    def _add(self, kind: str, text: str, level: int = 0, of: int = -1, tight: bool = False) -> int:
        index = self.out.add(kind, text, level=level, of=of, tight=tight)
        self.limits.check_text(self.out.length)
        return index

    def result(self) -> tuple[str, tuple[Block, ...]]:
        return self.out.result()


def docx_text(data: bytes, limits: ReadLimits, deadline: Deadline) -> tuple[str, tuple[Block, ...]]:
    """The text of a Word file and its blocks: body paragraphs and tables in document order (see above)."""
    with _open(data, limits) as z:
        name = main_part(z, deadline)
        parser, body = _parser(), _Body(limits, deadline)
        pending = 0  # bytes fed since a body paragraph or table last completed
        try:
            for piece in _pieces(z, name, limits.unpacked_bytes, deadline):
                parser.feed(piece)
                pending += len(piece)
                for _, el in parser.read_events():
                    parent = el.getparent()
                    if parent is None or parent.tag != _BODY:
                        continue
                    body.take(el)
                    parent.remove(el)  # done with it: keep one block in memory, not the document
                    pending = 0
                if pending > BLOCK_BYTES:
                    raise FormatError(f"one paragraph or table of it is over {size_text(BLOCK_BYTES)} of XML")
            parser.close()
        except etree.XMLSyntaxError as exc:
            raise _unreadable(exc) from exc
    return body.result()
