"""Short documents count: a one-line note is indexed and found; a file with nothing to answer from says so."""

from __future__ import annotations

import json

from qa import api, cli
from qa.ingest.documents import no_text_reason, scan_corpus
from tests.conftest import FakeEmbedder, write_corpus
from tests.test_cli import fake_model  # noqa: F401  (the fixture: `qa` commands with a FakeEmbedder)

SYMBOLS = "----\n* * *\n====\n"
NOTHING = "no answerable text: not one letter or digit in it"


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_one_line_note_is_added_indexed_and_found(tmp_path, fake_model, capsys):  # noqa: F811
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    note = write_corpus(tmp_path / "src", {"wifi.txt": "The wifi password is hunter2\n"}) / "wifi.txt"
    code, out, _ = run(capsys, "add", note, "--corpus", corpus, "--index", index)
    assert code == 0 and "added wifi.txt as wifi.txt" in out and "1 chunks" in out
    code, out, _ = run(capsys, "sources", "--corpus", corpus, "--index", index, "--json")
    assert [(r["path"], r["status"], r["chunks"]) for r in json.loads(out)] == [("wifi.txt", "indexed", 1)]
    code, out, _ = run(capsys, "ask", "What is the wifi password?", "--corpus", corpus, "--index", index, "--json")
    got = json.loads(out)
    assert got["found"] and got["source"] == "wifi.txt" and "hunter2" in got["text"]


def test_a_file_with_no_letter_or_digit_is_refused_on_add_and_skipped_on_index_saying_why(
    tmp_path,
    fake_model,  # noqa: F811
    capsys,
):
    corpus, index = write_corpus(tmp_path / "corpus", {"note.txt": "A real note."}), tmp_path / "index"
    rule = write_corpus(tmp_path / "src", {"rule.txt": SYMBOLS}) / "rule.txt"
    code, out, err = run(capsys, "add", rule, "--corpus", corpus, "--index", index)
    assert code == 1 and f"refused rule.txt: {NOTHING}" in err and not (corpus / "rule.txt").exists()

    (corpus / "rule.md").write_text(SYMBOLS)  # put there by hand: `qa index` and `qa sources` name it
    code, out, err = run(capsys, "index", "--corpus", corpus, "--index", index)
    assert code == 0 and f"skipped rule.md: {NOTHING}" in err and "indexed 1 documents" in out
    code, out, _ = run(capsys, "sources", "--corpus", corpus, "--index", index)
    assert f"skipped  rule.md  (; {NOTHING})" in out


def test_the_chat_upload_table_says_why_nothing_was_indexed(tmp_path):
    from ui.render import upload_rows

    corpus = write_corpus(tmp_path / "corpus", {"note.txt": "A real note."})
    src = write_corpus(tmp_path / "src", {"rule.txt": SYMBOLS, "wifi.txt": "The wifi password is hunter2"})
    added, report = api.add([src / "rule.txt", src / "wifi.txt"], corpus, tmp_path / "index", embedder=FakeEmbedder())
    assert upload_rows(added, report) == [["rule.txt", "refused", NOTHING], ["wifi.txt", "indexed", ""]]


def test_no_text_reason():
    assert no_text_reason("The wifi password is hunter2", "text") == ""
    assert no_text_reason("42", "text") == "" and no_text_reason("北京", "text") == ""
    assert no_text_reason(" \n\t", "text") == "empty"
    assert no_text_reason("", "pdf") == "no text layer (a scanned PDF?)"
    assert no_text_reason(SYMBOLS, "markdown") == NOTHING
    assert no_text_reason("\ufeff--- … •", "text") == NOTHING


def test_every_document_with_a_letter_or_digit_yields_chunks(tmp_path):
    """Headings only, a title, a list, a number: each is indexed, none silently gives 0 chunks."""
    from qa.api import build

    files = {
        "title.txt": "Quarterly Planning Meeting",
        "list.md": "# Groceries\n- Milk\n- Eggs\n",
        "headings.md": "# Part one\n## Chapter one\n### Section one\n",
        "number.txt": "4711\n",
        "symbols.txt": SYMBOLS,
    }
    root = write_corpus(tmp_path / "corpus", files)
    _, skipped = scan_corpus(root)
    assert [(s.path, s.reason) for s in skipped] == [("symbols.txt", NOTHING)]
    report = build(root, tmp_path / "index", embedder=FakeEmbedder())
    rows = {r["path"]: (r["status"], r["chunks"]) for r in report.manifest.sources()}
    assert rows == {
        "headings.md": ("indexed", 1),
        "list.md": ("indexed", 1),
        "number.txt": ("indexed", 1),
        "symbols.txt": ("skipped", 0),
        "title.txt": ("indexed", 1),
    }
