"""Finding and reading corpus documents."""

from __future__ import annotations

import hashlib
import os

import pytest

from qa.errors import CorpusError
from qa.ingest import documents
from qa.ingest.documents import Document, Skipped, load_corpus, read_text, scan_corpus
from tests.conftest import CORPUS, write_corpus


def test_scan_reads_txt_and_md_recursively_with_posix_paths(corpus_dir):
    docs, skipped = scan_corpus(corpus_dir)
    assert skipped == []
    assert [d.path for d in docs] == ["acme.txt", "notes/history.md"]
    for d in docs:
        assert isinstance(d, Document)
        # plain text as written; Markdown as it renders (headings without their '#')
        assert d.text == (CORPUS[d.path] if d.path.endswith(".txt") else CORPUS[d.path].replace("# ", "").strip())
        assert d.sha256 == hashlib.sha256((corpus_dir / d.path).read_bytes()).hexdigest()


def test_other_suffixes_are_ignored_and_suffix_case_does_not_matter(tmp_path):
    root = write_corpus(
        tmp_path / "c",
        {"a.TXT": "Upper case suffix is read.", "b.Md": "So is this one.", "c.csv": "x,y", "d.json": "{}", "e": "x"},
    )
    docs, skipped = scan_corpus(root)
    assert sorted(d.path for d in docs) == ["a.TXT", "b.Md"]
    assert skipped == []


def test_text_is_the_exact_decoded_bytes_crlf_and_all(tmp_path):
    raw = "Line one.\r\nLine two “quoted” — dash 🚀.\r\n\r\nLast.".encode()
    root = write_corpus(tmp_path / "c", {"win.txt": raw})
    (doc,), _ = scan_corpus(root)
    assert doc.text == raw.decode("utf-8")
    assert "\r\n" in doc.text
    assert read_text(root / "win.txt") == doc.text


def _symlink(link, target) -> None:
    try:
        os.symlink(target, link)
    except (OSError, NotImplementedError):  # pragma: no cover - platform without symlinks
        pytest.fail("symlinks are needed for this test")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("blob.txt", b"PK\x03\x04\x00\x00binary\x00data", "binary"),
        ("latin1.txt", "Café crème, señor.".encode("latin-1"), "UTF-8"),
        ("empty.md", b"", "empty"),
        ("blank.txt", b"  \n\n\t \r\n", "empty"),
        ("utf16.txt", "Hello there.".encode("utf-16"), "binary"),
    ],
)
def test_unreadable_files_are_skipped_with_a_reason(tmp_path, name, content, reason):
    root = write_corpus(tmp_path / "c", {"good.txt": "A good document.", name: content})
    docs, skipped = scan_corpus(root)
    assert [d.path for d in docs] == ["good.txt"]
    assert len(skipped) == 1
    assert isinstance(skipped[0], Skipped)
    assert skipped[0].path == name
    assert reason.lower() in skipped[0].reason.lower()


def test_non_utf8_reason_gives_the_offset_of_the_bad_byte(tmp_path):
    root = write_corpus(tmp_path / "c", {"good.txt": "ok.", "bad.txt": b"abc\xff def"})
    _, (skip,) = scan_corpus(root)
    assert skip.path == "bad.txt" and "offset 3" in skip.reason


def test_symlink_to_a_file_outside_the_corpus_is_skipped(tmp_path):
    root = write_corpus(tmp_path / "c", {"good.txt": "A good document."})
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("Private notes that must not be indexed.", encoding="utf-8")
    _symlink(root / "link.txt", secret)
    docs, skipped = scan_corpus(root)
    assert [d.path for d in docs] == ["good.txt"]
    assert [(s.path, "outside" in s.reason) for s in skipped] == [("link.txt", True)]
    assert all("Private" not in d.text for d in docs)


def test_symlink_to_a_file_inside_the_corpus_is_read(tmp_path):
    root = write_corpus(tmp_path / "c", {"sub/real.txt": "Real text here."})
    _symlink(root / "alias.txt", root / "sub" / "real.txt")
    docs, skipped = scan_corpus(root)
    assert sorted(d.path for d in docs) == ["alias.txt", "sub/real.txt"]
    assert skipped == []


def test_hidden_files_and_folders_are_not_read(tmp_path):
    root = write_corpus(
        tmp_path / "c",
        {
            "good.txt": "Visible.",
            ".draft.txt": "Hidden draft.",
            ".git/notes.md": "Hidden folder.",
            "a/.b/c.md": "Deep.",
        },
    )
    docs, _ = scan_corpus(root)
    assert [d.path for d in docs] == ["good.txt"]


def test_hidden_files_are_reported_as_skipped(tmp_path):
    """scan_corpus's contract: 'Read every .txt and .md file below corpus_dir; report the ones left out.'"""
    root = write_corpus(tmp_path / "c", {"good.txt": "Visible.", ".draft.txt": "Hidden draft."})
    _, skipped = scan_corpus(root)
    assert [s.path for s in skipped] == [".draft.txt"]
    assert skipped[0].reason


def test_files_over_the_size_limit_are_skipped(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_MAX_FILE_MB", str(20 / 1024 / 1024))
    root = write_corpus(tmp_path / "c", {"small.txt": "Tiny.", "big.txt": "x" * 21})
    docs, skipped = scan_corpus(root)
    assert [d.path for d in docs] == ["small.txt"]
    assert [s.path for s in skipped] == ["big.txt"] and "larger than" in skipped[0].reason
    assert "QA_MAX_FILE_MB" in skipped[0].reason


def test_a_bad_size_limit_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_MAX_FILE_MB", "lots")
    root = write_corpus(tmp_path / "c", {"small.txt": "Tiny."})
    with pytest.raises(CorpusError, match=r"QA_MAX_FILE_MB.*'lots'"):
        scan_corpus(root)


def test_a_folder_named_like_a_document_is_skipped(tmp_path):
    root = write_corpus(tmp_path / "c", {"good.txt": "Visible."})
    (root / "folder.md").mkdir()
    docs, skipped = scan_corpus(root)
    assert [d.path for d in docs] == ["good.txt"]
    assert [s.path for s in skipped] == ["folder.md"]


def test_load_corpus_returns_what_scan_does_when_something_is_readable(corpus_dir):
    assert load_corpus(corpus_dir) == scan_corpus(corpus_dir)


def test_load_corpus_names_the_skipped_files_when_nothing_is_readable(tmp_path):
    root = write_corpus(tmp_path / "c", {"a.txt": b"\x00\x01", "b.md": b"\xfe\xfe"})
    with pytest.raises(CorpusError) as err:
        load_corpus(root)
    message = str(err.value)
    assert "a.txt: binary file" in message
    assert "b.md: not UTF-8" in message
    assert "qa index" in message


def test_scan_of_a_missing_folder_is_an_error(tmp_path):
    with pytest.raises(CorpusError, match="not found"):
        scan_corpus(tmp_path / "nope")


def test_sha256_bytes():
    assert documents.sha256_bytes(b"abc") == hashlib.sha256(b"abc").hexdigest()


def _counting_opens(monkeypatch) -> list:
    opened = []
    real = documents.Path.open

    def counting(self, *args, **kwargs):
        opened.append(self.name)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(documents.Path, "open", counting)
    return opened


def test_an_unchanged_file_is_hashed_once_per_process(tmp_path, monkeypatch):
    monkeypatch.setattr(documents, "_RACY_NS", 0)  # timestamps count as settled at once
    path = tmp_path / "a.txt"
    path.write_bytes(b"alpha beta")
    opened = _counting_opens(monkeypatch)
    first = documents.sha256_file(path)
    assert documents.sha256_file(path) == first == hashlib.sha256(b"alpha beta").hexdigest()
    assert opened == ["a.txt"], "read once"


def test_a_file_rewritten_with_the_same_size_and_mtime_is_hashed_again(tmp_path, monkeypatch):
    monkeypatch.setattr(documents, "_RACY_NS", 0)
    path = tmp_path / "a.txt"
    path.write_bytes(b"alpha beta")
    mtime = path.stat().st_mtime_ns
    assert documents.sha256_file(path) == hashlib.sha256(b"alpha beta").hexdigest()
    path.write_bytes(b"gamma delt")  # same size
    os.utime(path, ns=(mtime, mtime))  # the old modification time put back: the status-change time moves
    assert documents.sha256_file(path) == hashlib.sha256(b"gamma delt").hexdigest()


def test_a_file_changed_in_the_last_seconds_is_always_read(tmp_path, monkeypatch):
    path = tmp_path / "a.txt"
    path.write_bytes(b"alpha beta")
    opened = _counting_opens(monkeypatch)
    documents.sha256_file(path)
    documents.sha256_file(path)
    assert opened == ["a.txt", "a.txt"], "timestamps this fresh may hide a second write"


def test_a_bad_read_time_limit_is_an_error_before_any_file_is_read(tmp_path, monkeypatch):
    from qa.errors import ConfigError

    root = write_corpus(tmp_path / "c", {"a.txt": "Text."})
    monkeypatch.setenv("QA_MAX_READ_SECONDS", "soon")
    with pytest.raises(ConfigError, match="QA_MAX_READ_SECONDS must be a number of seconds, got 'soon'"):
        scan_corpus(root)
