"""Hostile documents cost no more than honest ones: zip bombs in Word files, PDF and HTML bombs.

Each bomb is built here, small on disk (tests/bombs.py). The Word bombs are
read in a child process, so that its peak memory (VmHWM) is the reading's
alone: once the way `qa add` and the chat take a file (refused before it is
copied), once the way `qa index` reads the corpus.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from qa.ingest.documents import scan_corpus
from qa.ingest.formats import FormatError, ReadLimits, read_bytes
from tests import bombs
from tests.conftest import write_corpus

ROOT = Path(__file__).resolve().parents[2]
GB = 1024**3

CHILD = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {root!r})
    from qa.ingest.documents import scan_corpus
    from qa.ingest.uploads import add_files
    if {mode!r} == "add":
        (a,) = add_files({corpus!r}, [{file!r}])
        got = {{"status": a.status, "reason": a.reason, "path": a.path}}
    else:
        docs, skipped = scan_corpus({corpus!r})
        got = {{"docs": [[d.path, d.text] for d in docs], "skipped": [[s.path, s.reason] for s in skipped]}}
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forked parent (pytest, maybe large)
    got["peak"] = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) * 1024
    print(json.dumps(got))
    """
)


def read_in_child(tmp_path: Path, name: str, data: bytes, mode: str) -> dict:
    """Offer the file to an empty corpus ("add") or read a corpus holding it ("index"), in a child process."""
    corpus = tmp_path / "corpus"
    corpus.mkdir(parents=True)
    if mode == "add":
        file = tmp_path / name
        file.write_bytes(data)
    else:
        file = corpus / name
        file.write_bytes(data)
    code = CHILD.format(root=str(ROOT), mode=mode, corpus=str(corpus), file=str(file))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    got["corpus"] = sorted(p.name for p in corpus.iterdir())
    return got


@pytest.mark.parametrize("mode", ["add", "index"])
def test_a_word_file_linking_a_1_5_gb_picture_is_refused_in_bounded_memory(tmp_path, mode):
    data = bombs.docx_picture_bomb(1536)
    assert len(data) < 2 * 1024 * 1024, "small on disk"
    got = read_in_child(tmp_path, "report.docx", data, mode)
    reason = got["reason"] if mode == "add" else dict(got["skipped"]).get("report.docx", "")
    assert "expands to 1.5 GB" in reason and "word/media/image1.png alone is 1.5 GB" in reason, got
    if mode == "add":
        assert got["status"] == "refused" and got["corpus"] == [], "a refused upload is never copied"
    else:
        assert got["docs"] == []
    assert got["peak"] < GB, f"reading it took {got['peak'] / GB:.2f} GB"


def test_a_word_file_whose_text_is_1_gb_of_spaces_is_refused_in_bounded_memory(tmp_path):
    got = read_in_child(tmp_path, "spaces.docx", bombs.docx_text_bomb(1024), "add")
    assert got["status"] == "refused" and "word/document.xml alone is 1.0 GB" in got["reason"], got
    assert got["corpus"] == []
    assert got["peak"] < GB, f"reading it took {got['peak'] / GB:.2f} GB"


def test_parts_that_lie_about_their_size_are_never_inflated_past_it(tmp_path):
    """A 1 KB declared size over 1.5 GB of zeros: the picture is not read at all, the text part stops at 1 KB."""
    got = read_in_child(tmp_path, "picture.docx", bombs.docx_picture_bomb(1536, lie=True), "index")
    assert got["docs"] == [["picture.docx", "The annual report is short."]], "pictures are never read"
    assert got["peak"] < GB, f"reading it took {got['peak'] / GB:.2f} GB"
    got = read_in_child(tmp_path / "b", "text.docx", bombs.docx_text_bomb(1024, lie=True), "index")
    assert [path for path, _ in got["skipped"]] == ["text.docx"] and "not a readable Word document" in str(got)
    assert got["peak"] < GB, f"reading it took {got['peak'] / GB:.2f} GB"


def test_a_word_file_within_the_limits_unpacked_is_read():
    """The limit is on what a file unpacks to, not on how well it compresses: 3.5 KB unpacking to 900 KB reads."""
    data = bombs.docx_many_paragraphs(20_000)
    assert len(data) < 4096
    assert read_bytes(data, "docx", ReadLimits(max_bytes=512 * 1024)).text.count("Row of text.") == 20_000


def test_a_word_file_over_the_limits_says_which_and_by_how_much():
    data = bombs.docx_many_paragraphs(20_000)  # 900 KB of XML, 280 KB of text
    with pytest.raises(FormatError, match=r"expands to 880 KB unpacked, more than 2 × the 256 KB file limit"):
        read_bytes(data, "docx", ReadLimits(max_bytes=256 * 1024, expansion=2))
    with pytest.raises(FormatError, match=r"its text is over 256 KB, the most a document may hold"):
        read_bytes(data, "docx", ReadLimits(max_bytes=256 * 1024))
    with pytest.raises(FormatError, match=r"reading it took more than 0\.01 s \(QA_MAX_READ_SECONDS\)"):
        read_bytes(data, "docx", ReadLimits(max_bytes=50 * 1024 * 1024, seconds=0.01))


def test_a_word_file_of_thousands_of_parts_is_refused_before_they_are_listed():
    parts = [bombs.member(f"word/media/p{i}.bin", b"") for i in range(20_000)]
    data = bombs.zip_archive([bombs.member("[Content_Types].xml", b"<Types/>"), *parts])
    with pytest.raises(FormatError, match="20,001 parts in its zip, more than the 10,000 read"):
        read_bytes(data, "docx")
    many = bombs.zip_archive([bombs.member(f"{i:x}", b"") for i in range(100_000)])  # a 4 MB+ directory
    with pytest.raises(FormatError, match="zip directory is"):
        read_bytes(many, "docx")


def test_billion_laughs_in_a_word_file_is_refused_quickly():
    with pytest.raises(FormatError, match="not a readable Word document"):
        read_bytes(bombs.docx_billion_laughs(), "docx")


def test_a_pdf_of_more_pages_than_read_is_refused_by_its_count(tmp_path):
    stream = bombs._zlib_repeated(b"BT /F1 12 Tf 72 720 Td (Page text.) Tj ET\n", 1)
    root = write_corpus(tmp_path / "c", {"pages.pdf": bombs.pdf_pages([0] * 10_001, [stream]), "ok.txt": "Fine."})
    docs, skipped = scan_corpus(root)
    assert [d.path for d in docs] == ["ok.txt"]
    assert [(s.path, s.reason) for s in skipped] == [("pages.pdf", "10,001 pages, more than the 10,000 read")]


def test_a_pdf_too_slow_to_read_stops_at_the_time_limit():
    """Pages sharing one content stream of 1 MB of text operators: 5 s a page here, 7 KB on disk."""
    data = bombs.pdf_shared_stream(20, 1)
    with pytest.raises(FormatError, match=r"reading it took more than 0\.5 s \(QA_MAX_READ_SECONDS\)"):
        read_bytes(data, "pdf", ReadLimits(max_bytes=50 * 1024 * 1024, seconds=0.5))


def test_a_pdf_stream_bomb_is_refused_at_pypdfs_limit():
    with pytest.raises(FormatError, match="LimitReachedError"):
        read_bytes(bombs.pdf_stream_bomb(1024), "pdf")


def test_an_html_table_that_would_lay_out_to_100_mb_padded_is_read_at_its_own_size():
    """One 100,000-character cell over 1,000 short rows: padded to its widest cell (as the text reader used
    before the structure reader laid tables out) that was 100 MB of spaces; the structure reader writes a
    row's cells one after another."""
    html = "<table><tr><td>" + "x" * 100_000 + "</td><td>b</td></tr>" + "<tr><td>a</td><td>b</td></tr>" * 1000
    got = read_bytes((html + "</table>").encode(), "html")
    assert len(got.text) < len(html), "never more text than the page"
    assert got.text.split().count("b") == 1001, "every cell read (a cell this long: a layout table, cell by cell)"


def test_an_html_page_of_more_elements_than_read_is_refused():
    with pytest.raises(FormatError, match=r"about 250,50\d HTML tags, more than the 100,000 elements read"):
        read_bytes(bombs.html_table(500, 500), "html")  # 250,000 cells, 2.5 MB: refused before parsing
    with pytest.raises(FormatError, match=r"160,40\d HTML elements, more than the 100,000 read"):
        read_bytes(bombs.html_table(400, 400), "html")
    with pytest.raises(FormatError, match=r"100,00\d HTML elements, more than the 100,000 read"):
        read_bytes(b"<p>" + b"<b>x</b>" * 100_000 + b"</p>", "html")


def test_html_nested_deeper_than_the_parser_reads_is_refused_not_read_as_empty():
    with pytest.raises(FormatError, match="HTML nested 256 or more elements deep"):
        read_bytes(bombs.html_deep(100_000), "html")
    assert "The deep sentence." in read_bytes(bombs.html_deep(200), "html").text
