"""Hostile documents, small on disk: zip bombs in Word files, PDF stream bombs, deep and wide HTML.

Each builder returns the file's bytes. The zip writer is our own, so that a
member's declared size can lie; a run of repeated bytes is deflated once and
its compressed block repeated, so a 1.5 GB member costs a few milliseconds
and about 1.5 MB.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

MB = 1024 * 1024
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
IMAGE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"


@dataclass(frozen=True)
class Member:
    """One zip member: its raw deflate stream (or stored bytes), CRC and true size; `declared` may lie."""

    name: str
    raw: bytes
    crc: int
    size: int
    deflated: bool = True
    declared: int | None = None


def member(name: str, data: bytes) -> Member:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return Member(name, c.compress(data) + c.flush(), zlib.crc32(data), len(data))


def repeated(name: str, chunk: bytes, count: int, prefix: bytes = b"", suffix: bytes = b"", **kw) -> Member:
    """A member holding prefix + chunk * count + suffix, deflated without ever holding it whole."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    first = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    assert again == c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH), "the repeated block must be stable"
    raw = head + first + again * (count - 1) + c.compress(suffix) + c.flush()
    crc = zlib.crc32(prefix)
    for _ in range(count):
        crc = zlib.crc32(chunk, crc)
    return Member(name, raw, zlib.crc32(suffix, crc), len(prefix) + len(chunk) * count + len(suffix), **kw)


def zip_archive(members: list[Member]) -> bytes:
    """A zip file of these members, each with the sizes it declares (in both headers)."""
    out, central = bytearray(), bytearray()
    for m in members:
        name = m.name.encode()
        size = m.size if m.declared is None else m.declared
        method = 8 if m.deflated else 0
        fields = (20, 0, method, 0, 0x21, m.crc, len(m.raw), size, len(name), 0)
        offset = len(out)
        out += struct.pack("<I5H3I2H", 0x04034B50, *fields) + name + m.raw
        central += struct.pack("<I6H3I5H2I", 0x02014B50, 20, *fields, 0, 0, 0, 0, offset) + name
    count = min(len(members), 0xFFFF)  # readers walk the directory by its size, not this count
    end = struct.pack("<I4H2IH", 0x06054B50, 0, 0, count, count, len(central), len(out), 0)
    return bytes(out + central + end)


def _docx_parts(paragraphs: list[str]) -> dict[str, bytes]:
    import io
    import zipfile

    from tests.conftest import make_docx

    with zipfile.ZipFile(io.BytesIO(make_docx(paragraphs))) as z:
        return {name: z.read(name) for name in z.namelist()}


def docx_with(paragraphs: list[str], *, replace: dict[str, Member] | None = None, extra: list[Member] = ()) -> bytes:
    """A real python-docx file with `paragraphs`, some members replaced and others added (linked as images)."""
    parts = _docx_parts(paragraphs)
    replace = replace or {}
    if extra:
        rels = parts["word/_rels/document.xml.rels"].decode()
        links = "".join(
            f'<Relationship Id="rIdBomb{i}" Type="{IMAGE_REL}" Target="{m.name.removeprefix("word/")}"/>'
            for i, m in enumerate(extra)
        )
        parts["word/_rels/document.xml.rels"] = rels.replace("</Relationships>", links + "</Relationships>").encode()
        types = parts["[Content_Types].xml"].decode()
        if 'Extension="png"' not in types:
            types = types.replace("<Default ", '<Default Extension="png" ContentType="image/png"/><Default ', 1)
        parts["[Content_Types].xml"] = types.encode()
    members = [replace.get(name) or member(name, data) for name, data in parts.items()]
    return zip_archive(members + list(extra))


def docx_picture_bomb(mb: int = 1536, *, lie: bool = False) -> bytes:
    """A Word file linking a picture of `mb` MB of zeros (declaring 1 KB when `lie`)."""
    bomb = repeated("word/media/image1.png", bytes(MB), mb, declared=1024 if lie else None)
    return docx_with(["The annual report is short."], extra=[bomb])


def docx_text_bomb(mb: int = 1024, *, lie: bool = False) -> bytes:
    """A Word file whose document.xml holds one paragraph of `mb` MB of spaces."""
    head = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="{W}"><w:body>'
    head += '<w:p><w:r><w:t xml:space="preserve">'
    tail = b"</w:t></w:r></w:p></w:body></w:document>"
    doc = repeated("word/document.xml", b" " * MB, mb, head.encode(), tail, declared=1024 if lie else None)
    return docx_with(["placeholder"], replace={"word/document.xml": doc})


def minimal_docx(document: Member) -> bytes:
    """The smallest Word package around a main document member: content types, relationships, document."""
    types = (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName='
        '"/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.'
        'document.main+xml"/></Types>'
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'
    )
    return zip_archive([member("[Content_Types].xml", types.encode()), member("_rels/.rels", rels.encode()), document])


def docx_many_paragraphs(count: int, text: str = "Row of text.") -> bytes:
    """A minimal Word file whose body is exactly `count` copies of one short paragraph."""
    head = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="{W}"><w:body>'
    para = f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>".encode()
    per = max(1, min(count, MB // len(para)))
    tail = para * (count - per * (count // per)) + b"</w:body></w:document>"
    return minimal_docx(repeated("word/document.xml", para * per, count // per, head.encode(), tail))


def docx_billion_laughs() -> bytes:
    """A Word file whose document.xml defines nested entities (10^9 'lol's if expanded)."""
    ents = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE w:document [{ents}]>'
        f'<w:document xmlns:w="{W}"><w:body><w:p><w:r><w:t>Laughs: &lol9;</w:t></w:r></w:p>'
        "<w:p><w:r><w:t>The plain paragraph survives.</w:t></w:r></w:p></w:body></w:document>"
    )
    return docx_with(["placeholder"], replace={"word/document.xml": member("word/document.xml", xml.encode())})


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF of these objects (1-based numbers), catalog 1, with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _zlib_repeated(chunk: bytes, count: int, prefix: bytes = b"") -> bytes:
    m = repeated("x", chunk, count, prefix)
    adler = zlib.adler32(prefix)
    for _ in range(count):
        adler = zlib.adler32(chunk, adler)
    return b"\x78\xda" + m.raw + struct.pack(">I", adler)


def pdf_pages(page_streams: list[int], streams: list[bytes]) -> bytes:
    """A PDF whose page i draws content stream `page_streams[i]` of `streams` (FlateDecode-d bytes)."""
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    n_pages = len(page_streams)
    first_stream = 4 + n_pages
    kids = b" ".join(b"%d 0 R" % (4 + i) for i in range(n_pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n_pages), font]
    for s in page_streams:
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents %d 0 R >>" % (first_stream + s)
        )
    for data in streams:
        objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream")
    return _pdf(objects)


def pdf_stream_bomb(mb: int = 1024) -> bytes:
    """One page whose content stream inflates to `mb` MB of spaces after a line of text."""
    text = b"BT /F1 12 Tf 72 720 Td (The plant opened in 1950.) Tj ET\n"
    return pdf_pages([0], [_zlib_repeated(b" " * MB, mb, text)])


def pdf_shared_stream(pages: int, stream_mb: int = 1) -> bytes:
    """`pages` pages that all draw one content stream of `stream_mb` MB of text operators."""
    op = b"BT /F1 12 Tf 72 720 Td (All pages share this line of text.) Tj ET\n"
    return pdf_pages([0] * pages, [_zlib_repeated(op * (MB // len(op)), stream_mb)])


def html_deep(depth: int) -> bytes:
    """`depth` nested elements around one sentence."""
    return b"<html><body>" + b"<div>" * depth + b"<p>The deep sentence.</p>" + b"</div>" * depth + b"</body></html>"


def html_table(rows: int, cols: int) -> bytes:
    """A table of rows x cols one-letter cells."""
    row = b"<tr>" + b"<td>x</td>" * cols + b"</tr>"
    return b"<html><body><p>A wide table follows.</p><table>" + row * rows + b"</table></body></html>"


def html_nested_tables(depth: int) -> bytes:
    """Tables nested `depth` deep, each cell holding the next table."""
    inner = b"<table><tr><td>a</td><td>" * depth + b"core" + b"</td></tr></table>" * depth
    return b"<html><body>" + inner + b"</body></html>"
