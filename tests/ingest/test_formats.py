"""Reading PDF, Word and HTML files: real files made here by their own libraries."""

from __future__ import annotations

import pytest

from qa.ingest.documents import list_corpus, page_at, read_document, read_text, scan_corpus
from qa.ingest.formats import FormatError, format_of, read_bytes
from tests.conftest import make_docx, make_pdf, write_corpus


def test_format_of_names():
    assert [format_of(n) for n in ("a.txt", "b.MD", "c.html", "d.HTM", "e.pdf", "f.Docx", "g.csv", "noext")] == [
        "text",
        "markdown",
        "html",
        "html",
        "pdf",
        "docx",
        None,
        None,
    ]


def test_pdf_text_keeps_pages_and_their_offsets(tmp_path):
    data = make_pdf(["Acme was founded in 1901 by Jane Doe.", "The second page says the plant moved to Lyon."])
    got = read_bytes(data, "pdf")
    assert "founded in 1901" in got.text and "moved to Lyon" in got.text
    assert len(got.pages) == 2 and got.pages[0] == 0
    second = got.text.index("The second page")
    assert page_at(got.pages, second) == 2
    assert page_at(got.pages, got.text.index("Acme")) == 1


def test_docx_text_is_its_paragraphs_and_tables(tmp_path):
    data = make_docx(
        ["Quarterly report", "Revenue grew by 12 percent in the third quarter.", "Costs fell."],
        table=[["Region", "Sales"], ["North", "40"]],
    )
    got = read_bytes(data, "docx")
    assert got.text.split("\n\n") == [
        "Quarterly report",
        "Revenue grew by 12 percent in the third quarter.",
        "Costs fell.",
        "Region | Sales\nNorth | 40",
    ]
    assert got.pages == ()
    kinds = [(b.kind, got.text[b.start : b.end]) for b in got.blocks]
    assert kinds == [
        ("heading", "Quarterly report"),  # no heading style, but written as one: a label above the text
        ("paragraph", "Revenue grew by 12 percent in the third quarter."),
        ("paragraph", "Costs fell."),
        ("header", "Region | Sales"),
        ("table_row", "North | 40"),
    ]


def test_html_text_drops_scripts_styles_and_markup():
    html = (
        "<html><head><title>T</title><style>p{color:red}</style><script>alert('x')</script></head>"
        "<body><h1>Plant history</h1><p>The plant opened in <b>1950</b>.</p><p>It closed in 1999.</p></body></html>"
    )
    text = read_bytes(html.encode(), "html").text
    assert "The plant opened in 1950." in text and "It closed in 1999." in text
    assert "alert" not in text and "color" not in text and "<" not in text


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "not a readable PDF"),
        ("broken.docx", b"PK\x03\x04 not a zip", "not a readable Word document"),
        ("renamed.docx", b"plain text with a docx name", "not a readable Word document"),
    ],
)
def test_damaged_files_are_skipped_with_the_reason(tmp_path, name, data, reason):
    root = write_corpus(tmp_path / "c", {"good.txt": "A good document.", name: data})
    docs, skipped = scan_corpus(root)
    assert [d.path for d in docs] == ["good.txt"]
    assert [s.path for s in skipped] == [name]
    assert reason in skipped[0].reason
    assert skipped[0].sha256, "a file read and rejected keeps its hash, so the index knows it was seen"


def test_a_pdf_without_a_text_layer_is_skipped_as_such(tmp_path):
    root = write_corpus(tmp_path / "c", {"good.txt": "ok.", "scan.pdf": make_pdf([""])})
    _, skipped = scan_corpus(root)
    assert [(s.path, "no text layer" in s.reason) for s in skipped] == [("scan.pdf", True)]


def test_every_format_is_listed_read_and_read_back_the_same(tmp_path):
    root = write_corpus(
        tmp_path / "c",
        {
            "a.txt": "Plain text.",
            "b.md": "# Title\n\nMarkdown text.",
            "c.html": "<p>Web page text.</p>",
            "d.pdf": make_pdf(["PDF text."]),
            "e.docx": make_docx(["Word text."]),
        },
    )
    listed, skipped = list_corpus(root)
    assert skipped == []
    assert [(s.path, s.format) for s in listed] == [
        ("a.txt", "text"),
        ("b.md", "markdown"),
        ("c.html", "html"),
        ("d.pdf", "pdf"),
        ("e.docx", "docx"),
    ]
    for source in listed:
        doc = read_document(root, source)
        assert doc.format == source.format and doc.sha256 == source.sha256
        assert read_text(root / source.path) == doc.text, "reading the file again gives the same text"
    assert read_document(root, listed[3]).pages == (0,)


def test_a_file_that_vanishes_after_listing_is_skipped_by_name(tmp_path):
    root = write_corpus(tmp_path / "c", {"a.txt": "Here.", "b.txt": "Soon gone."})
    listed, _ = list_corpus(root)
    (root / "b.txt").unlink()
    got = read_document(root, listed[1])
    assert got.path == "b.txt" and "could not be read" in got.reason


def test_format_error_is_a_value_error():
    with pytest.raises(FormatError, match="binary"):
        read_bytes(b"\x00\x01\x02", "text")


def test_the_bounded_word_reader_gives_python_docx_s_own_text():
    """Runs, tabs, breaks, hyperlinks, merged and nested table cells: the same text as docx.Document() reads."""
    import io

    import docx
    from docx.enum.text import WD_BREAK
    from docx.oxml import parse_xml

    d = docx.Document()
    d.add_heading("Annual report", 0)
    p = d.add_paragraph("Revenue\tgrew ")
    p.add_run("12 percent").bold = True
    p.add_run().add_break(WD_BREAK.LINE)
    p.add_run("in the third quarter.")
    d.add_paragraph("")
    link = (
        '<w:hyperlink xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" w:anchor="x">'
        "<w:r><w:t>the linked words</w:t></w:r></w:hyperlink>"
    )
    d.add_paragraph("See ")._p.append(parse_xml(link))
    t = d.add_table(rows=4, cols=3)
    for r in range(4):
        for c in range(3):
            t.cell(r, c).text = f"r{r}c{c}"
    t.cell(0, 0).merge(t.cell(0, 1))
    t.cell(1, 2).merge(t.cell(3, 2))
    t.cell(2, 0).add_paragraph("second line")
    inner = t.cell(3, 0).add_table(rows=1, cols=2)
    inner.cell(0, 0).text, inner.cell(0, 1).text = "inner a", "inner b"
    d.add_paragraph("After the table.")
    buf = io.BytesIO()
    d.save(buf)
    data = buf.getvalue()

    whole = docx.Document(io.BytesIO(data))
    blocks = []  # python-docx's own text of each paragraph and table, in document order
    for item in whole.iter_inner_content():
        if isinstance(item, docx.table.Table):
            rows = []
            for row in item.rows:
                cells = list({id(c._tc): " ".join(c.text.split()) for c in row.cells}.values())  # merged: once
                rows.append(" | ".join(cells))
            blocks.append("\n".join(rows))
        elif item.text.strip():
            blocks.append(" ".join(item.text.split()))
    assert read_bytes(data, "docx").text == "\n\n".join(blocks)
    assert "See the linked words" in blocks[2] and "r1c2 r2c2 r3c2" in blocks[3]
    kinds = [b.kind for b in read_bytes(data, "docx").blocks]
    # "See the linked words": short, without final punctuation: written as a heading (a label) for what follows
    assert kinds[:4] == ["heading", "paragraph", "heading", "header"] and kinds[-1] == "paragraph"


def test_read_limits_check_their_settings(monkeypatch):
    from qa.errors import ConfigError
    from qa.ingest.formats import ReadLimits

    with pytest.raises(ConfigError, match="expansion must be a positive integer, got 0"):
        ReadLimits(max_bytes=1, expansion=0)
    monkeypatch.setenv("QA_MAX_READ_SECONDS", "soon")
    with pytest.raises(ConfigError, match="QA_MAX_READ_SECONDS must be a number of seconds, got 'soon'"):
        ReadLimits.from_env()
    monkeypatch.setenv("QA_MAX_READ_SECONDS", "-1")
    with pytest.raises(ConfigError, match=r"read time limit must be a positive number of seconds, got -1\.0"):
        ReadLimits.from_env()
