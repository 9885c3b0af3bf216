"""Adding files to the corpus and removing them: types, sizes, names, duplicates, and the index after."""

from __future__ import annotations

import json
import time

import pytest

from qa.api import QA, add, remove, removed, restore
from qa.errors import UploadError
from qa.index import load_index
from qa.ingest.removed import entry_name
from qa.ingest.uploads import MAX_FILES, add_files, clean_name, remove_file
from tests.conftest import FakeEmbedder, assert_verifiable, make_docx, make_pdf, write_corpus


@pytest.mark.parametrize(
    ("offered", "clean"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\windows\\evil.md", "evil.md"),
        ("/abs/path/notes.TXT", "notes.txt"),
        (".hidden.txt", "hidden.txt"),
        ("a<b>c|d?.html", "a_b_c_d_.html"),
        ("Café menu 2024.docx", "Café menu 2024.docx"),
        ("tab\tand\nnewline.txt", "tabandnewline.txt"),
        ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
        ("...", "document"),
        ("\u202eevil.txt", "evil.txt"),
    ],
)
def test_clean_name(offered, clean):
    assert clean_name(offered) == clean


def _files(tmp_path, files: dict[str, bytes | str]):
    src = write_corpus(tmp_path / "uploads", files)
    return [src / name for name in files]


def test_added_files_land_in_the_corpus_with_clean_names(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", {"a.txt": "Existing."})
    paths = _files(tmp_path, {"new.txt": "New text.", "deck.pdf": make_pdf(["PDF words."])})
    out = add_files(corpus, paths, names=["../../new.txt", "deck.pdf"])
    assert [(a.status, a.path) for a in out] == [("added", "new.txt"), ("added", "deck.pdf")]
    assert (corpus / "new.txt").read_text() == "New text."
    assert not (tmp_path / "new.txt").exists(), "no path traversal"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("script.sh", "echo hi", "not a supported type"),
        ("noext", "text", "not a supported type"),
        ("fake.pdf", "just text", "not a readable PDF"),
        ("fake.docx", "just text", "not a readable Word document"),
        ("bin.txt", b"\x00\x01\x02\x03", "binary"),
        ("latin.txt", "café".encode("latin-1"), "not UTF-8"),
        ("blank.md", "   \n\n", "no text"),
        ("scan.pdf", make_pdf([""]), "no text in it (a scanned PDF?)"),
    ],
)
def test_refused_files_say_why_and_are_not_copied(tmp_path, name, content, reason):
    corpus = write_corpus(tmp_path / "corpus", {"a.txt": "Existing."})
    (out,) = add_files(corpus, _files(tmp_path, {name: content}))
    assert out.status == "refused" and reason in out.reason
    assert sorted(p.name for p in corpus.iterdir()) == ["a.txt"]


def test_size_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_MAX_FILE_MB", str(10 / 1024 / 1024))
    corpus = write_corpus(tmp_path / "corpus", {"a.txt": "Existing."})
    (out,) = add_files(corpus, _files(tmp_path, {"big.txt": "x" * 11}))
    assert out.status == "refused" and "larger than" in out.reason


def test_too_many_files_at_once(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", {"a.txt": "Existing."})
    with pytest.raises(UploadError, match=f"at most {MAX_FILES}"):
        add_files(corpus, ["x.txt"] * (MAX_FILES + 1))


def test_duplicates_are_found_by_content_and_names_are_not_overwritten(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", {"a.txt": "Existing text."})
    paths = _files(tmp_path, {"copy.txt": "Existing text.", "a.txt": "Different text, same name."})
    dup, same_name = add_files(corpus, paths)
    assert dup.status == "refused" and "already in the corpus as a.txt" in dup.reason
    assert (same_name.status, same_name.path) == ("added", "a (2).txt")
    assert (corpus / "a.txt").read_text() == "Existing text."
    (again,) = add_files(corpus, _files(tmp_path / "x", {"a.txt": "Third version."}))
    assert again.path == "a (3).txt"


def test_replace_overwrites_a_document_of_the_same_name(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", {"a.txt": "Old."})
    (out,) = add_files(corpus, _files(tmp_path, {"a.txt": "New."}), replace=True)
    assert (out.status, out.path) == ("replaced", "a.txt")
    assert (corpus / "a.txt").read_text() == "New."


def test_two_identical_files_in_one_upload(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", {"a.txt": "Existing."})
    first, second = add_files(corpus, _files(tmp_path, {"x.txt": "Twin.", "y.txt": "Twin."}))
    assert first.status == "added" and second.status == "refused" and "x.txt" in second.reason


@pytest.mark.parametrize("name", ["../outside.txt", "/etc/passwd", "", ".", "missing.txt", "sub"])
def test_remove_refuses_names_outside_or_not_in_the_corpus(tmp_path, name):
    corpus = write_corpus(tmp_path / "corpus", {"a.txt": "Here.", "sub/b.txt": "There."})
    (tmp_path / "outside.txt").write_text("Not ours.")
    with pytest.raises(UploadError):
        remove_file(corpus, name, tmp_path / "trash")
    assert (tmp_path / "outside.txt").exists()


def test_remove_moves_the_file_to_the_trash(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", {"a.txt": "Here.", "sub/b.txt": "There."})
    entry = remove_file(corpus, "sub/b.txt", tmp_path / "trash")
    assert not (corpus / "sub" / "b.txt").exists()
    assert (tmp_path / "trash" / entry.name).read_text() == "There."
    assert (entry.path, entry.size) == ("sub/b.txt", 6) and entry.removed_at


def test_add_and_remove_update_the_index(tmp_path, index_dir, corpus_dir):
    upload = _files(tmp_path, {"memo.docx": make_docx(["The depot in Ghent opened in 1998."])})
    added, report = add(upload, corpus_dir, index_dir, embedder=FakeEmbedder())
    assert [a.status for a in added] == ["added"] and report.added == ("memo.docx",)
    bot = QA.load(index_dir, embedder=FakeEmbedder(), on_stale="error")
    answer = bot.answer("When did the depot in Ghent open?")
    assert answer.found and answer.source == "memo.docx" and "1998" in answer.text
    assert_verifiable(answer, corpus_dir)

    _, report = remove(["memo.docx"], corpus_dir, index_dir, embedder=FakeEmbedder())
    assert report.removed == ("memo.docx",)
    assert "memo.docx" not in load_index(index_dir).texts
    assert [e.path for e in removed(index_dir)] == ["memo.docx"]
    QA.load(index_dir, embedder=FakeEmbedder(), on_stale="error")  # fresh: not stale


def test_add_of_only_refused_files_leaves_the_index_alone(tmp_path, index_dir, corpus_dir):
    before = (index_dir / "manifest.json").read_bytes()
    added, report = add(_files(tmp_path, {"x.exe": "MZ"}), corpus_dir, index_dir, embedder=FakeEmbedder())
    assert report is None and added[0].status == "refused"
    assert (index_dir / "manifest.json").read_bytes() == before


def test_same_named_documents_removed_together_are_both_kept(tmp_path, index_dir, corpus_dir):
    """corpus/a/notes.txt and corpus/b/notes.txt removed in one go: both versions kept, each restorable."""
    write_corpus(corpus_dir, {"a/notes.txt": "Alpha notes: the depot opened in 1998.", "b/notes.txt": "Beta notes."})
    QA.load(index_dir, corpus=corpus_dir, embedder=FakeEmbedder())
    kept, report = remove(["a/notes.txt", "b/notes.txt"], corpus_dir, index_dir, embedder=FakeEmbedder())
    assert report.removed == ("a/notes.txt", "b/notes.txt")
    assert len({e.name for e in kept}) == 2
    by_path = {e.path: (index_dir / "removed" / e.name).read_bytes() for e in removed(index_dir)}
    assert by_path == {"a/notes.txt": b"Alpha notes: the depot opened in 1998.", "b/notes.txt": b"Beta notes."}
    record = json.loads((index_dir / "removed" / f"{kept[0].name}.json").read_text())
    assert record["path"] == "a/notes.txt" and record["sha256"] == kept[0].sha256 and record["removed_at"]


def test_the_same_document_removed_twice_within_a_second_keeps_both_versions(tmp_path, index_dir, corpus_dir):
    removed_dir = index_dir / "removed"
    start = time.monotonic()
    write_corpus(corpus_dir, {"notes.txt": "First version."})
    first = remove_file(corpus_dir, "notes.txt", removed_dir)
    write_corpus(corpus_dir, {"notes.txt": "Second version."})  # re-added, changed, removed again at once
    second = remove_file(corpus_dir, "notes.txt", removed_dir)
    write_corpus(corpus_dir, {"notes.txt": "First version."})  # the first bytes again: one entry, nothing lost
    third = remove_file(corpus_dir, "notes.txt", removed_dir)
    assert time.monotonic() - start < 1.0
    assert first.name != second.name and third.name == first.name
    kept = {(removed_dir / e.name).read_bytes() for e in removed(index_dir)}
    assert kept == {b"First version.", b"Second version."}


def test_restore_brings_the_exact_bytes_back_and_the_document_answers_again(tmp_path, index_dir, corpus_dir):
    data = make_docx(["The depot in Ghent opened in 1998."])
    write_corpus(corpus_dir, {"sub/memo.docx": data})
    bot = QA.load(index_dir, corpus=corpus_dir, embedder=FakeEmbedder())
    assert bot.answer("When did the depot in Ghent open?").source == "sub/memo.docx"
    (entry,), _ = remove(["sub/memo.docx"], corpus_dir, index_dir, embedder=FakeEmbedder())
    assert (
        QA.load(index_dir, embedder=FakeEmbedder(), on_stale="error").answer("When did the depot in Ghent open?").source
        != "sub/memo.docx"
    )

    (back,), report = restore(entry.name, corpus_dir, index_dir, embedder=FakeEmbedder())
    assert (back.path, back.original) == ("sub/memo.docx", "sub/memo.docx") and report.added == ("sub/memo.docx",)
    assert (corpus_dir / "sub" / "memo.docx").read_bytes() == data
    assert removed(index_dir) == []
    answer = QA.load(index_dir, embedder=FakeEmbedder(), on_stale="error").answer("When did the depot in Ghent open?")
    assert answer.found and answer.source == "sub/memo.docx" and "1998" in answer.text
    assert_verifiable(answer, corpus_dir)


def test_restore_by_path_takes_the_latest_version_and_a_free_name_when_taken(tmp_path, index_dir, corpus_dir):
    removed_dir = index_dir / "removed"
    write_corpus(corpus_dir, {"notes.txt": "Old notes."})
    remove_file(corpus_dir, "notes.txt", removed_dir)
    write_corpus(corpus_dir, {"notes.txt": "Newer notes."})
    remove_file(corpus_dir, "notes.txt", removed_dir)
    write_corpus(corpus_dir, {"notes.txt": "Notes written since."})
    (back,), _ = restore("notes.txt", corpus_dir, index_dir, embedder=FakeEmbedder())
    assert back.path == "notes (2).txt" and (corpus_dir / "notes (2).txt").read_text() == "Newer notes."
    assert (corpus_dir / "notes.txt").read_text() == "Notes written since."
    with pytest.raises(UploadError, match=r"nothing removed is called 'nope\.txt'"):
        restore("nope.txt", corpus_dir, index_dir, embedder=FakeEmbedder())


def test_restore_refuses_bytes_already_in_the_corpus_and_a_damaged_copy(tmp_path, index_dir, corpus_dir):
    removed_dir = index_dir / "removed"
    write_corpus(corpus_dir, {"x.txt": "Same bytes.", "y.txt": "Other."})
    entry = remove_file(corpus_dir, "x.txt", removed_dir)
    write_corpus(corpus_dir, {"copy.txt": "Same bytes."})
    with pytest.raises(UploadError, match=r"in the corpus already, as copy\.txt"):
        restore(entry.name, corpus_dir, index_dir, embedder=FakeEmbedder())
    (removed_dir / entry.name).write_text("Tampered.")
    with pytest.raises(UploadError, match="damaged"):
        restore(entry.name, corpus_dir, index_dir, embedder=FakeEmbedder())
    assert [e.name for e in removed(index_dir)] == [entry.name]  # still there to look at


def test_entries_of_earlier_versions_are_listed_and_restored(tmp_path, index_dir, corpus_dir):
    removed_dir = index_dir / "removed"
    removed_dir.mkdir()
    (removed_dir / "20240101T120000-old.txt").write_text("Removed by an earlier version.")
    (entry,) = removed(index_dir)
    assert (entry.path, entry.removed_at) == ("old.txt", "2024-01-01T12:00:00")
    (back,), _ = restore(entry.name, corpus_dir, index_dir, embedder=FakeEmbedder())
    assert (corpus_dir / back.path).read_text() == "Removed by an earlier version."


def test_entry_names_are_unique_and_short_for_long_paths():
    digest = "ab" * 32
    deep = "/".join(["folder"] * 60) + "/notes.txt"
    assert entry_name(digest, "a/notes.txt") != entry_name(digest, "b/notes.txt")
    assert entry_name(digest, "a/notes.txt") == "abababababababab-a%2Fnotes.txt"
    assert len(entry_name(digest, deep).encode()) < 240 and entry_name(digest, deep).endswith("notes.txt")
    assert entry_name(digest, deep) != entry_name(digest, deep.replace("folder", "Folder", 1))
