"""The index folder: round trip, manifest, atomic rebuilds, clean-up and self-checks."""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from qa.api import QA, build
from qa.errors import ConfigError, IndexCorruptError, IndexMissingError
from qa.index import FORMAT_VERSION, MANIFEST, lexical, load_index, read_manifest
from qa.index import load as load_module
from qa.index import segments as segments_module
from qa.index import storage as storage_module
from qa.ingest.chunking import chunk_documents, sentence_inputs
from qa.ingest.documents import load_corpus, read_text
from qa.settings import ChunkSettings, VectorSettings
from tests.conftest import FakeEmbedder, assert_verifiable, build_index, write_corpus


def data_files(index_dir: Path) -> set[str]:
    return {p.name for p in index_dir.iterdir() if p.name != MANIFEST}


def test_round_trip_gives_the_same_chunks_and_vectors(tmp_path, corpus_dir, fake_embedder):
    docs, _ = load_corpus(corpus_dir)
    settings = ChunkSettings(max_chars=150, overlap_sentences=0)
    manifest = build_index(docs, corpus_dir, tmp_path / "idx", fake_embedder, settings)
    loaded = load_index(tmp_path / "idx")

    expected = chunk_documents(docs, settings)
    assert list(loaded.chunks) == expected
    assert loaded.texts == {d.path: d.text for d in docs}
    assert loaded.manifest == manifest == read_manifest(tmp_path / "idx")
    n_sentences = sum(len(c.sentences) for c in expected)
    assert loaded.vectors.ntotal == n_sentences
    assert loaded.vectors.d == fake_embedder.dim
    assert loaded.sentence_vectors.shape == (n_sentences, fake_embedder.dim)
    assert loaded.sentence_rows == tuple(np.cumsum([0] + [len(c.sentences) for c in expected[:-1]]))
    assert loaded.sentence_chunks.tolist() == [c.id for c in expected for _ in c.sentences]

    # the stored vectors are the embedder's vectors of the chunks' sentences (with their context, for a
    # document read with its structure), in the FAISS index too
    inputs = [t for d in docs for t in sentence_inputs(d, [c for c in expected if c.source == d.path])]
    want = fake_embedder.encode_passages(inputs)
    np.testing.assert_allclose(loaded.sentence_vectors, want, atol=1e-6)
    np.testing.assert_allclose(loaded.vectors.reconstruct_n(0, n_sentences), want, atol=1e-6)


def test_manifest_describes_the_build(index_dir, corpus_dir, fake_embedder):
    raw = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
    assert raw["format_version"] == FORMAT_VERSION
    assert raw["model"] == fake_embedder.name
    assert raw["dim"] == fake_embedder.dim
    assert raw["metric"] == "inner_product"
    assert raw["chunking"] == ChunkSettings().to_dict()
    assert raw["chunking"]["max_chars"] == 1000 and raw["chunking"]["overlap_sentences"] == 1
    assert raw["documents"] == {
        rel: hashlib.sha256((corpus_dir / rel).read_bytes()).hexdigest() for rel in ("acme.txt", "notes/history.md")
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", raw["built_at"])
    assert set(raw["versions"]) >= {"qa-chatbot", "sentence-transformers", "faiss-cpu", "numpy"}
    assert raw["versions"]["numpy"] == np.__version__
    assert set(raw["files"]) == {"vectors", "chunks", "sentences", "texts", "documents", *lexical.ROLES}
    assert all(raw["build_id"] in entry["name"] for entry in raw["files"].values())
    assert raw["lexical"] == lexical.LEXICAL
    assert set(raw["segments"]) == set(raw["documents"])
    entries = list(raw["files"].values()) + [seg[r] for seg in raw["segments"].values() for r in ("json", "npy")]
    for entry in entries:
        data = (index_dir / entry["name"]).read_bytes()
        assert entry["size"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    for path, seg in raw["segments"].items():
        assert seg["sha256"] == raw["documents"][path] and seg["format"] in ("text", "markdown")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", seg["indexed_at"])
    assert sum(seg["chunks"] for seg in raw["segments"].values()) == raw["counts"]["chunks"]
    assert data_files(index_dir) == {e["name"] for e in entries}
    assert raw["skipped"] == {}
    assert raw["vector_index"] == {"type": "flat"}
    assert raw["counts"]["documents"] == 2
    assert raw["counts"]["chunks"] == len(load_index(index_dir).chunks)
    assert (index_dir / raw["corpus"]).resolve() == corpus_dir.resolve()


def test_the_index_can_move_with_its_corpus(tmp_path, index_dir, corpus_dir, fake_embedder):
    """The manifest names the corpus relative to the index, so a moved project still finds it."""
    moved = tmp_path / "moved"
    moved.mkdir()
    corpus_dir.rename(moved / "corpus")
    index_dir.rename(moved / "index")
    bot = QA.load(moved / "index", embedder=fake_embedder, on_stale="error")
    answer = bot.answer("Who founded Acme Robotics?")
    assert "Jane Doe" in answer.text
    assert_verifiable(answer, moved / "corpus")


def test_nothing_in_the_index_is_pickled(index_dir):
    manifest = read_manifest(index_dir)
    rows = 0
    for seg in manifest.segments.values():
        vectors = np.load(index_dir / seg["npy"]["name"], allow_pickle=False)  # raises on pickles
        assert vectors.dtype == np.float32 and vectors.shape == (seg["sentences"], manifest.dim)
        store = json.loads((index_dir / seg["json"]["name"]).read_text(encoding="utf-8"))
        assert set(store) == {"path", "sha256", "format", "pages", "indexed_at", "npy_sha256", "text", "chunks"}
        rows += len(store["chunks"])
    assert rows == manifest.counts["chunks"]


def test_rebuild_removes_the_old_data_files(index_dir, corpus_dir, fake_embedder):
    before = read_manifest(index_dir)
    (index_dir / ".vectors-x.faiss.abc.tmp").write_bytes(b"left over by a crash")
    (index_dir / "notes.txt").write_text("not ours", encoding="utf-8")
    (corpus_dir / "acme.txt").write_text("Acme Robotics was founded by John Roe in 2001.\n", encoding="utf-8")
    manifest = build(corpus_dir, index_dir, embedder=fake_embedder).manifest
    now = data_files(index_dir)
    assert now == manifest.file_names() | {"notes.txt"}
    gone = before.file_names() - now
    build_files = {e["name"] for e in before.files.values()}  # the FAISS index, chunk table, texts, BM25
    assert gone == build_files | {before.segments["acme.txt"][r]["name"] for r in ("json", "npy")}
    assert before.segments["notes/history.md"] == manifest.segments["notes/history.md"], "unchanged: kept as is"
    load_index(index_dir)


class Crash(Exception):
    pass


def _answer_still_works(index_dir, corpus_dir, fake_embedder):
    bot = QA.load(index_dir, corpus=corpus_dir, embedder=fake_embedder, on_stale="error")
    answer = bot.answer("Who founded Acme Robotics?")
    assert answer.found and "Jane Doe" in answer.text
    assert_verifiable(answer, corpus_dir)


def test_crash_while_embedding_leaves_the_previous_index(index_dir, corpus_dir, fake_embedder, monkeypatch):
    before_manifest = (index_dir / MANIFEST).read_bytes()
    before_files = data_files(index_dir)
    write_corpus(corpus_dir, {"new.txt": "A new document that must be embedded."})

    def explode(texts, progress=False):
        raise Crash("killed mid-build")

    monkeypatch.setattr(fake_embedder, "encode_passages", explode)
    with pytest.raises(Crash):
        build(corpus_dir, index_dir, embedder=fake_embedder)
    monkeypatch.undo()
    assert (index_dir / MANIFEST).read_bytes() == before_manifest
    assert data_files(index_dir) == before_files
    (corpus_dir / "new.txt").unlink()
    _answer_still_works(index_dir, corpus_dir, fake_embedder)


def test_crash_while_writing_the_manifest_leaves_the_previous_index(index_dir, corpus_dir, fake_embedder, monkeypatch):
    before_manifest = (index_dir / MANIFEST).read_bytes()
    (corpus_dir / "acme.txt").write_text("Acme Robotics was founded by John Roe in 2001.\n", encoding="utf-8")
    real_replace = storage_module.os.replace

    def replace(src, dst):
        if Path(dst).name == MANIFEST:
            raise Crash("power cut")
        return real_replace(src, dst)

    monkeypatch.setattr(storage_module.os, "replace", replace)
    with pytest.raises(Crash):
        build(corpus_dir, index_dir, embedder=fake_embedder)
    monkeypatch.undo()
    assert (index_dir / MANIFEST).read_bytes() == before_manifest
    assert not [p for p in index_dir.iterdir() if p.name.endswith(".tmp")]
    old = load_index(index_dir)  # the old manifest and its files are intact
    assert any("Jane Doe" in c.text for c in old.chunks)

    # the next good build cleans up the orphans of the crashed one
    manifest = build(corpus_dir, index_dir, embedder=fake_embedder).manifest
    assert data_files(index_dir) == manifest.file_names()
    assert any("John Roe" in c.text for c in load_index(index_dir).chunks)


def test_crash_while_writing_a_data_file_leaves_no_temporary_file(index_dir, corpus_dir, fake_embedder, monkeypatch):
    before = data_files(index_dir)
    write_corpus(corpus_dir, {"new.txt": "A new document that must be embedded."})
    real_fsync = storage_module.os.fsync

    def fsync(fd):
        raise Crash("disk full")

    monkeypatch.setattr(storage_module.os, "fsync", fsync)
    with pytest.raises(Crash):
        build(corpus_dir, index_dir, embedder=fake_embedder)
    monkeypatch.setattr(storage_module.os, "fsync", real_fsync)
    left = data_files(index_dir) - before
    assert all(name.startswith("seg-") for name in left), "only whole segments of new.txt, kept for the next build"
    (corpus_dir / "new.txt").unlink()
    _answer_still_works(index_dir, corpus_dir, fake_embedder)


def test_missing_manifest(tmp_path):
    with pytest.raises(IndexMissingError, match="qa index"):
        load_index(tmp_path)


@pytest.mark.parametrize(
    ("change", "phrase"),
    [
        (lambda m: m.update(format_version=99), "index format 99"),
        (lambda m: m.pop("model"), "incomplete"),
        (lambda m: m.update(dim="wide"), "incomplete"),
        (lambda m: m["files"].pop("vectors"), "names no 'vectors' file"),
        (lambda m: m.pop("segments"), "incomplete"),
        (lambda m: m["segments"].pop("acme.txt"), "documents without segments"),
    ],
)
def test_bad_manifest_contents(index_dir, change, phrase):
    path = index_dir / MANIFEST
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(IndexCorruptError) as err:
        load_index(index_dir)
    assert phrase in str(err.value) and "qa index" in str(err.value)


def test_manifest_that_is_not_an_object(index_dir):
    (index_dir / MANIFEST).write_text("[1, 2, 3]", encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="not an index manifest"):
        load_index(index_dir)


def test_files_from_another_build_are_caught(tmp_path, index_dir, fake_embedder):
    """Data files that each match their hash but disagree with each other (a half-copied folder)."""
    other = write_corpus(tmp_path / "other", {"one.txt": "Only one sentence here."})
    other_manifest = build(other, tmp_path / "other-index", embedder=fake_embedder).manifest
    name = other_manifest.files["vectors"]["name"]
    (index_dir / name).write_bytes((tmp_path / "other-index" / name).read_bytes())
    data = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
    data["files"]["vectors"] = other_manifest.files["vectors"]
    (index_dir / MANIFEST).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="disagrees with itself"):
        load_index(index_dir)


def test_garbage_with_a_matching_hash_is_caught(index_dir):
    data = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
    junk = b"not a faiss index at all"
    (index_dir / data["files"]["vectors"]["name"]).write_bytes(junk)
    data["files"]["vectors"].update(size=len(junk), sha256=hashlib.sha256(junk).hexdigest())
    (index_dir / MANIFEST).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="cannot be read"):
        load_index(index_dir)


def test_an_index_of_a_different_embedder_dimension(tmp_path, corpus_dir):
    build(corpus_dir, tmp_path / "idx", embedder=FakeEmbedder(dim=32))
    loaded = load_index(tmp_path / "idx")
    assert loaded.vectors.d == 32 and loaded.sentence_vectors.shape[1] == 32


@pytest.mark.parametrize(
    ("settings", "kind"),
    [
        (VectorSettings(), "flat"),
        (VectorSettings(kind="hnsw"), "hnsw"),
        (VectorSettings(exact_max=3), "hnsw"),  # auto: above the exact limit
        (VectorSettings(kind="flat", exact_max=3), "flat"),
    ],
)
def test_the_vector_index_follows_the_corpus_size_and_is_recorded(tmp_path, corpus_dir, settings, kind):
    import faiss

    manifest = build(corpus_dir, tmp_path / "idx", embedder=FakeEmbedder(), vectors=settings).manifest
    assert manifest.vector_index["type"] == kind
    loaded = load_index(tmp_path / "idx")
    if kind == "hnsw":
        assert isinstance(loaded.vectors, faiss.IndexHNSWFlat)
        assert loaded.vectors.hnsw.efSearch == manifest.vector_index["efSearch"] == 256
    else:
        assert isinstance(loaded.vectors, faiss.IndexFlatIP)
    bot = QA(loaded, FakeEmbedder())
    answer = bot.answer("Who founded Acme Robotics?")
    assert answer.found and "Jane Doe" in answer.text


def test_changing_the_vector_index_rebuilds_only_the_faiss_file(tmp_path, corpus_dir):
    flat = build(corpus_dir, tmp_path / "idx", embedder=FakeEmbedder()).manifest
    embedder = FakeEmbedder()
    hnsw = build(corpus_dir, tmp_path / "idx", embedder=embedder, vectors=VectorSettings(kind="hnsw")).manifest
    assert embedder.passage_texts == [] and hnsw.segments == flat.segments
    assert hnsw.vector_index["type"] == "hnsw" and hnsw.files != flat.files


def test_index_type_from_the_environment(monkeypatch):
    monkeypatch.setenv("QA_INDEX_TYPE", "hnsw")
    assert VectorSettings.from_env().resolve(10) == {"type": "hnsw", "M": 32, "efConstruction": 64, "efSearch": 256}
    monkeypatch.setenv("QA_INDEX_TYPE", "annoy")
    with pytest.raises(ConfigError, match="index type must be one of auto, flat, hnsw, hnsw-sq8, got 'annoy'"):
        VectorSettings.from_env()


def test_auto_picks_flat_then_hnsw_then_sq8_by_size():
    settings = VectorSettings()
    assert settings.resolve(200_000) == {"type": "flat"}
    assert settings.resolve(200_001)["type"] == "hnsw"
    assert settings.resolve(1_000_000)["type"] == "hnsw"
    assert settings.resolve(1_000_001) == {
        "type": "hnsw-sq8",
        "M": 32,
        "efConstruction": 64,
        "efSearch": 2048,
        "quantizer": "QT_8bit",
    }
    assert VectorSettings(kind="flat").resolve(5_000_000) == {"type": "flat"}  # forced
    assert VectorSettings(kind="hnsw").resolve(5_000_000)["type"] == "hnsw"


@pytest.mark.parametrize("settings", [VectorSettings(kind="hnsw-sq8"), VectorSettings(exact_max=3, sq8_above=5)])
def test_an_sq8_index_is_recorded_honoured_on_load_and_decodes_close_to_the_exact_vectors(
    tmp_path, corpus_dir, settings
):
    import faiss

    from qa.index.vectors import QuantizedRows

    manifest = build(corpus_dir, tmp_path / "idx", embedder=FakeEmbedder(), vectors=settings).manifest
    assert manifest.vector_index["type"] == "hnsw-sq8" and manifest.vector_index["quantizer"] == "QT_8bit"
    assert read_manifest(tmp_path / "idx").vector_index == manifest.vector_index
    loaded = load_index(tmp_path / "idx")
    assert isinstance(loaded.vectors, faiss.IndexHNSWSQ) and loaded.vectors.hnsw.efSearch == 2048
    rows = loaded.sentence_vectors
    assert isinstance(rows, QuantizedRows), "no float32 copy of the vectors is held"
    n = manifest.counts["sentences"]
    exact = np.vstack([np.load(tmp_path / "idx" / s["npy"]["name"]) for s in manifest.segments.values()])
    assert rows.shape == exact.shape == (n, manifest.dim)
    decoded = rows[0:n]
    assert np.abs(decoded - exact).max() < 0.01  # 8 bits over each dimension's range
    assert np.abs(np.sum(decoded * exact, axis=1) - 1).max() < 0.005  # scores move by less than 0.005
    np.testing.assert_array_equal(rows[n - 1], decoded[-1])
    np.testing.assert_array_equal(rows[-1], decoded[-1])
    with pytest.raises(IndexError):
        rows[n]
    # candidate sentences are scored on their decoded vectors, and the answer is the same
    bot = QA(loaded, FakeEmbedder())
    answer = bot.answer("Who founded Acme Robotics?")
    assert answer.found and "Jane Doe" in answer.text
    build(corpus_dir, tmp_path / "flat", embedder=FakeEmbedder())
    flat = QA(load_index(tmp_path / "flat"), FakeEmbedder())
    assert flat.answer("Who founded Acme Robotics?").text == answer.text


def test_a_faiss_file_of_another_kind_than_the_manifest_says_is_refused(tmp_path, corpus_dir):
    build(corpus_dir, tmp_path / "idx", embedder=FakeEmbedder(), vectors=VectorSettings(kind="hnsw-sq8"))
    path = tmp_path / "idx" / MANIFEST
    data = json.loads(path.read_text(encoding="utf-8"))
    data["vector_index"] = {"type": "flat"}
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="disagrees with itself"):
        load_index(tmp_path / "idx")


def test_loading_reads_the_build_table_not_the_segments(index_dir, monkeypatch):
    """A load opens no segment: the chunk table, texts and BM25 of the build are enough."""

    def no_segment(*args, **kwargs):
        raise AssertionError("a segment was parsed on load")

    monkeypatch.setattr(segments_module, "read_segment", no_segment)
    monkeypatch.setattr(load_module.json, "loads", _no_segment_json(load_module.json.loads))
    loaded = load_index(index_dir)
    bot = QA(loaded, FakeEmbedder())
    assert bot.retriever.store.bm25 is loaded.lexical, "the stored BM25 is used, not built again"
    assert "Jane Doe" in bot.answer("Who founded Acme Robotics?").text


def _no_segment_json(real):
    def loads(data, *args, **kwargs):
        out = real(data, *args, **kwargs)
        if isinstance(out, dict) and "npy_sha256" in out:
            raise AssertionError("a segment's JSON was parsed on load")
        return out

    return loads


def test_a_segment_missing_or_cut_short_is_refused_on_load(index_dir):
    seg = read_manifest(index_dir).segments["acme.txt"]
    path = index_dir / seg["json"]["name"]
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(IndexCorruptError, match="damaged"):
        load_index(index_dir)
    path.unlink()
    with pytest.raises(IndexCorruptError, match="missing"):
        load_index(index_dir)


def test_a_damaged_chunk_table_is_refused(index_dir):
    data = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
    path = index_dir / data["files"]["chunks"]["name"]
    rows = np.load(path)
    rows[0, 1] += 1  # a chunk that starts elsewhere, with a hash that matches
    buf = io.BytesIO()
    np.save(buf, rows)
    path.write_bytes(buf.getvalue())
    with pytest.raises(IndexCorruptError, match="damaged"):
        load_index(index_dir)
    data["files"]["chunks"].update(size=len(buf.getvalue()), sha256=hashlib.sha256(buf.getvalue()).hexdigest())
    rows[0, 0] = 1  # and a first chunk that belongs to the other document
    buf = io.BytesIO()
    np.save(buf, rows)
    path.write_bytes(buf.getvalue())
    data["files"]["chunks"].update(size=len(buf.getvalue()), sha256=hashlib.sha256(buf.getvalue()).hexdigest())
    (index_dir / MANIFEST).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="disagrees with the manifest"):
        load_index(index_dir)


def test_texts_of_any_script_come_back_exactly(tmp_path, fake_embedder):
    files = {
        "a.txt": "Zoë went to Zürich in 2020. 北京是中国的首都。 The café 😀 opened.\n\nSecond paragraph here.",
        "b.md": "# Title\n\nPlain ASCII text about Acme. It has two sentences.",
    }
    corpus = write_corpus(tmp_path / "corpus", files)
    build(corpus, tmp_path / "idx", embedder=fake_embedder)
    loaded = load_index(tmp_path / "idx")
    assert dict(loaded.texts) == {k: read_text(corpus / k) for k in files}
    assert loaded.texts["a.txt"] == files["a.txt"], "plain text is stored as written"
    assert "a.txt" in loaded.texts and "c.txt" not in loaded.texts and len(loaded.texts) == 2
    for chunk in loaded.chunks:
        assert chunk.text == loaded.texts[chunk.source][chunk.start : chunk.end]
    assert loaded.chunks[-1] == list(loaded.chunks)[-1] and loaded.chunks[1:2] == [loaded.chunks[1]]


def test_a_new_search_setting_rewrites_the_manifest_only(tmp_path, corpus_dir):
    first = build(corpus_dir, tmp_path / "idx", embedder=FakeEmbedder(), vectors=VectorSettings(kind="hnsw")).manifest
    wider = VectorSettings(kind="hnsw", ef_search=512)
    second = build(corpus_dir, tmp_path / "idx", embedder=FakeEmbedder(), vectors=wider).manifest
    assert second.files == first.files and second.build_id == first.build_id, "the FAISS file is kept"
    assert (
        second.vector_index == {**first.vector_index, "efSearch": 512} == read_manifest(tmp_path / "idx").vector_index
    )
    assert load_index(tmp_path / "idx").vectors.hnsw.efSearch == 512
    other = VectorSettings(kind="hnsw", hnsw_m=16)  # a different graph: a new file
    assert build(corpus_dir, tmp_path / "idx", embedder=FakeEmbedder(), vectors=other).manifest.files != first.files


def test_sq8_search_results_are_reranked_with_the_exact_vectors_on_disk(tmp_path, corpus_dir, caplog):
    from qa.answering.retrieval import Retriever
    from qa.index import vectors

    manifest = build(corpus_dir, tmp_path / "idx", embedder=FakeEmbedder(), vectors=VectorSettings(kind="hnsw-sq8"))
    manifest = manifest.manifest
    loaded = load_index(tmp_path / "idx")
    exact = np.vstack([np.load(tmp_path / "idx" / s["npy"]["name"]) for s in manifest.segments.values()])
    ids = np.array([len(exact) - 1, 0, 3, 3], np.int64)
    np.testing.assert_array_equal(loaded.exact_rows.rows(ids), exact[ids])  # read from the segments, exactly
    query = FakeEmbedder().encode_queries(["Who founded Acme Robotics?"])[0]
    scores, got = vectors.search(loaded.vectors, loaded.exact_rows, query, 5)
    want = np.argsort(-(exact @ query), kind="stable")[:5]
    np.testing.assert_allclose(scores, (exact @ query)[want], atol=1e-6)  # exact scores, in exact order
    assert set(got.tolist()) == set(want.tolist())
    dense = Retriever(loaded).store.dense(query, 3)
    owners = loaded.sentence_chunks
    for chunk, score in dense.items():
        assert score == pytest.approx(float((exact[owners == chunk] @ query).max()), abs=1e-6)
    # a segment gone since loading (a rebuild replaced it): the quantized scores are kept, nothing fails
    for seg in manifest.segments.values():
        (tmp_path / "idx" / seg["npy"]["name"]).unlink()
    loaded.exact_rows._offsets.clear()
    scores, got = vectors.search(loaded.vectors, loaded.exact_rows, query, 5)
    assert len(got) == 5 and "exact re-ranking skipped" in caplog.text


def test_flat_and_hnsw_indexes_are_searched_as_before(index_dir):
    loaded = load_index(index_dir)
    assert loaded.exact_rows is None
