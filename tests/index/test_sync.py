"""Only new and changed documents are embedded; removed ones leave the index."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from qa.api import QA, build, staleness
from qa.errors import BuildCancelled
from qa.index import load_index, read_manifest
from qa.settings import ChunkSettings
from tests.conftest import FakeEmbedder, assert_verifiable, make_docx, make_pdf, write_corpus


def test_an_unchanged_corpus_embeds_nothing(index_dir, corpus_dir):
    embedder = FakeEmbedder()
    before = read_manifest(index_dir)
    report = build(corpus_dir, index_dir, embedder=embedder)
    assert embedder.passage_texts == []
    assert report.added == report.changed == report.removed == ()
    assert sorted(report.kept) == ["acme.txt", "notes/history.md"]
    assert report.manifest.segments == before.segments


def test_adding_a_document_embeds_only_it(index_dir, corpus_dir):
    write_corpus(corpus_dir, {"plants.txt": "The Lyon plant opened in 1950. It makes gearboxes."})
    embedder = FakeEmbedder()
    report = build(corpus_dir, index_dir, embedder=embedder)
    assert report.added == ("plants.txt",) and report.changed == report.removed == ()
    assert embedder.passage_texts, "the new document was embedded"
    assert not any("Jane Doe" in t or "history" in t.lower() for t in embedder.passage_texts), "old ones were not"
    bot = QA.load(index_dir, corpus=corpus_dir, embedder=FakeEmbedder(), on_stale="error")
    answer = bot.answer("When did the Lyon plant open?")
    assert answer.found and answer.source == "plants.txt" and "1950" in answer.text
    assert_verifiable(answer, corpus_dir)


def test_changing_and_removing_documents(index_dir, corpus_dir):
    (corpus_dir / "acme.txt").write_text("Acme Robotics was founded by John Roe in 2001.\n", encoding="utf-8")
    (corpus_dir / "notes" / "history.md").unlink()
    report = build(corpus_dir, index_dir, embedder=FakeEmbedder())
    assert report.changed == ("acme.txt",) and report.removed == ("notes/history.md",) and report.added == ()
    loaded = load_index(index_dir)
    assert set(loaded.texts) == {"acme.txt"}
    assert all(c.source == "acme.txt" for c in loaded.chunks)
    assert any("John Roe" in c.text for c in loaded.chunks) and not any("Jane Doe" in c.text for c in loaded.chunks)


def test_an_incremental_index_equals_a_full_rebuild(tmp_path, corpus_dir, index_dir):
    """Same chunks, same FAISS ids, same vectors, whichever way the index was made."""
    write_corpus(corpus_dir, {"b.txt": "Beta text about ships. Ships sail.", "z.md": "# Zed\n\nZed is last."})
    build(corpus_dir, index_dir, embedder=FakeEmbedder())
    build(corpus_dir, tmp_path / "full", embedder=FakeEmbedder())
    inc, full = load_index(index_dir), load_index(tmp_path / "full")
    assert inc.chunks == full.chunks
    assert [c.id for c in inc.chunks] == list(range(len(inc.chunks)))
    np.testing.assert_array_equal(
        inc.vectors.reconstruct_n(0, inc.vectors.ntotal), full.vectors.reconstruct_n(0, full.vectors.ntotal)
    )
    np.testing.assert_array_equal(inc.sentence_vectors, full.sentence_vectors)


def test_full_embeds_everything_again(index_dir, corpus_dir):
    embedder = FakeEmbedder()
    report = build(corpus_dir, index_dir, embedder=embedder, full=True)
    assert report.kept == ()
    assert len(embedder.passage_texts) == report.manifest.counts["sentences"]
    load_index(index_dir)


def test_a_changed_chunker_embeds_everything_again(index_dir, corpus_dir):
    embedder = FakeEmbedder()
    build(corpus_dir, index_dir, embedder=embedder, chunking=ChunkSettings(max_chars=200))
    assert embedder.passage_texts
    assert read_manifest(index_dir).chunking["max_chars"] == 200


def test_a_damaged_segment_is_embedded_again_not_reused(index_dir, corpus_dir):
    seg = read_manifest(index_dir).segments["acme.txt"]
    path = index_dir / seg["npy"]["name"]
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # same shape, different numbers
    path.write_bytes(bytes(data))
    embedder = FakeEmbedder()
    build(corpus_dir, index_dir, embedder=embedder)
    assert any("Acme" in t for t in embedder.passage_texts)
    load_index(index_dir)


def test_files_that_cannot_be_read_are_recorded_and_do_not_make_the_index_stale(index_dir, corpus_dir):
    write_corpus(corpus_dir, {"broken.pdf": b"%PDF-1.4 nothing here", "bin.txt": b"\x00\x01\x02"})
    report = build(corpus_dir, index_dir, embedder=FakeEmbedder())
    assert [s.path for s in report.skipped] == ["bin.txt", "broken.pdf"]
    manifest = report.manifest
    assert set(manifest.skipped) == {"bin.txt", "broken.pdf"}
    assert "not a readable PDF" in manifest.skipped["broken.pdf"]["reason"]
    fake = FakeEmbedder()
    assert staleness(manifest, corpus_dir, fake.name, ChunkSettings()) == []
    rows = {r["path"]: r for r in manifest.sources()}
    assert rows["broken.pdf"]["status"] == "skipped" and rows["acme.txt"]["status"] == "indexed"
    assert rows["acme.txt"]["chunks"] >= 1 and rows["acme.txt"]["indexed_at"]
    (corpus_dir / "broken.pdf").write_bytes(make_pdf(["Now it reads: the depot is in Ghent."]))
    assert "changed" in " ".join(staleness(manifest, corpus_dir, fake.name, ChunkSettings()))


def test_pdf_and_docx_documents_answer_with_page_and_paragraph(tmp_path):
    corpus = write_corpus(
        tmp_path / "corpus",
        {
            "report.pdf": make_pdf(
                ["Annual report of the Ghent depot.", "The Ghent depot shipped 4,200 pallets in 2023."]
            ),
            "memo.docx": make_docx(["Staff memo", "The canteen reopened on 4 March 2024 after repairs."]),
        },
    )
    bot = QA.load(tmp_path / "index", corpus=corpus, embedder=FakeEmbedder())
    a = bot.answer("How many pallets did the Ghent depot ship?")
    assert a.found and a.source == "report.pdf" and "4,200" in a.text
    assert a.quotes[0].page == 2 and "page 2" in a.quotes[0].citation()
    assert_verifiable(a, corpus)
    b = bot.answer("When did the canteen reopen?")
    assert b.found and b.source == "memo.docx" and "4 March 2024" in b.text
    assert b.quotes[0].page is None and "paragraph 1 (line 3)" in b.quotes[0].citation()
    assert b.quotes[0].heading == "Staff memo", "a short Word paragraph without a full stop is a heading"
    assert_verifiable(b, corpus)


def test_a_cancelled_build_keeps_the_previous_index_and_the_next_picks_up(index_dir, corpus_dir, monkeypatch):
    from qa.index import segments

    monkeypatch.setattr(segments, "EMBED_GROUP", 1)  # one document per group
    write_corpus(corpus_dir, {f"doc{i}.txt": f"Document {i} talks about topic {i}." for i in range(4)})
    before = read_manifest(index_dir)
    cancel = threading.Event()
    embedder = FakeEmbedder()
    real = embedder.encode_passages

    def encode_then_cancel(texts, progress=False):
        cancel.set()  # the user presses Stop while the first group embeds
        return real(texts, progress)

    embedder.encode_passages = encode_then_cancel
    with pytest.raises(BuildCancelled, match=r"1 of 4 documents.*previous index"):
        build(corpus_dir, index_dir, embedder=embedder, cancel=cancel)
    assert read_manifest(index_dir) == before
    load_index(index_dir)
    resumed = FakeEmbedder()
    report = build(corpus_dir, index_dir, embedder=resumed)
    assert len(report.added) == 4
    assert not any("Document 0" in t for t in resumed.passage_texts), "the finished document was not embedded again"
    assert any("Document 3" in t for t in resumed.passage_texts)


def test_a_torn_segment_left_by_a_crash_is_embedded_again(index_dir, corpus_dir, monkeypatch):
    from qa.index import build as build_module

    write_corpus(corpus_dir, {"new.txt": "A new document about harbour cranes."})

    def crash(*args, **kwargs):
        raise RuntimeError("power cut before the manifest")

    monkeypatch.setattr(build_module, "_write_build", crash)
    with pytest.raises(RuntimeError):
        build(corpus_dir, index_dir, embedder=FakeEmbedder())
    monkeypatch.undo()
    known = set(read_manifest(index_dir).file_names())
    (orphan,) = [p for p in index_dir.glob("seg-*.npy") if p.name not in known]
    data = bytearray(orphan.read_bytes())
    data[-1] ^= 0xFF  # the vectors did not all reach the disk
    orphan.write_bytes(bytes(data))
    embedder = FakeEmbedder()
    report = build(corpus_dir, index_dir, embedder=embedder)
    assert report.added == ("new.txt",)
    assert any("harbour cranes" in t for t in embedder.passage_texts), "not reused: its hash did not match"
    load_index(index_dir)
