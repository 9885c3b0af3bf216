"""Stage 5's store seam: one contract, run against every store (FAISS in the folder, Milvus Lite in a temp dir).

Rankings are asserted, never raw BM25 values (Milvus's carry Lucene's (k1 + 1)
factor and float32 sums). Fixtures stay far below 2k rows. Milvus Lite's tests
are marked slow (a collection takes about half a second to create).
"""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest

from qa.api import QA, build
from qa.errors import ConfigError, StaleIndexError
from qa.index import read_manifest
from qa.index.lexical import build as build_lexical
from qa.index.store import FaissStore, Store, WritableStore
from qa.ingest.chunking import Chunk, embedded_sentences
from qa.ingest.documents import read_text
from qa.settings import AnswerSettings
from qa.text import terms
from tests.conftest import CORPUS, FakeEmbedder, write_corpus

MORE = {
    "fleet.txt": (
        "The Walker robot carries boxes across the warehouse floor.\n\n"
        "Robots in the fleet charge overnight. Each robot reports its battery level every minute.\n\n"
        "The fleet grew to forty robots in 2022, and boxes moved per hour doubled.\n"
    ),
    "kitchen.md": "# Recipes\n\nBread needs flour, water, salt and yeast. Bake it for forty minutes.\n",
}
FILES = {**CORPUS, **MORE}
QUERIES = ["Who founded Acme Robotics?", "robot boxes warehouse", "forty robots fleet", "bread flour yeast", "zzz"]
QUESTIONS = ["Who founded Acme Robotics?", "When was Acme Robotics founded?", "What does bread need?"]


def milvus_settings(path):
    import milvus_lite  # noqa: F401  (the milvus extra, which setup.sh --test installs: missing, the tests fail)

    from qa.index.milvus import MilvusSettings

    return MilvusSettings(str(path / "lite.db"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("stores") / "corpus", FILES)


@pytest.fixture(scope="module", params=["faiss", pytest.param("milvus", marks=pytest.mark.slow)])
def bot(request, corpus):
    index = corpus.parent / f"index-{request.param}"
    store = milvus_settings(index) if request.param == "milvus" else "faiss"
    build(corpus, index, embedder=FakeEmbedder(), store=store)
    return QA.load(index, corpus=corpus, embedder=FakeEmbedder(), settings=AnswerSettings(read_sentences=0))


@pytest.fixture(scope="module")
def faiss_bot(corpus):
    build(corpus, corpus.parent / "index-faiss", embedder=FakeEmbedder())
    settings = AnswerSettings(read_sentences=0)
    return QA.load(corpus.parent / "index-faiss", corpus=corpus, embedder=FakeEmbedder(), settings=settings)


def every_chunk(store: Store) -> dict[int, Chunk]:
    return store.chunks_by_id(list(range(store.size)))


def test_the_store_is_what_the_manifest_names(bot):
    assert isinstance(bot.store, Store)
    assert isinstance(bot.store, WritableStore) == (bot.store.kind == "milvus")
    kind = read_manifest(bot.store.path).store.get("kind", "faiss")
    assert bot.store.kind == kind
    assert bot.store.size == read_manifest(bot.store.path).counts["chunks"] == 9


def test_chunks_and_texts_are_the_documents_own_words(bot, corpus):
    chunks = every_chunk(bot.store)
    assert sorted(chunks) == list(range(bot.store.size))
    texts = bot.store.document_texts({c.source for c in chunks.values()})
    for chunk in chunks.values():
        assert texts[chunk.source] == read_text(corpus / chunk.source), "the text the file's reader gives"
        assert chunk.text == texts[chunk.source][chunk.start : chunk.end]
        assert all(chunk.start <= s < e <= chunk.end for s, e in chunk.sentences)


def test_the_same_chunks_in_every_store(bot, faiss_bot):
    assert every_chunk(bot.store) == every_chunk(faiss_bot.store)


@pytest.mark.parametrize("query", QUERIES)
def test_dense_ranks_chunks_by_their_best_sentence(bot, query):
    embedder = FakeEmbedder()
    qvec = embedder.encode_queries([query])[0]
    chunks = every_chunk(bot.store)
    rows = embedder.encode_passages([t for c in chunks.values() for t in _sentences(bot.store, c)])
    best, at = {}, 0
    for cid, chunk in chunks.items():
        best[cid] = float((rows[at : at + len(chunk.sentences)] @ qvec).max())
        at += len(chunk.sentences)
    got = bot.store.dense(qvec, 5)
    assert len(got) == 5
    for cid, score in got.items():
        assert score == pytest.approx(best[cid], abs=1e-5)
    # the best five, best first (ties in any order)
    assert list(got.values()) == sorted(got.values(), reverse=True)
    fifth = sorted(best.values(), reverse=True)[4]
    assert all(best[c] >= fifth - 1e-6 for c in got)


def _sentences(store, chunk: Chunk) -> list[str]:
    """What the chunk's sentences were embedded as (after their context, for a document read with its structure)."""
    return embedded_sentences(chunk, store.document_texts([chunk.source])[chunk.source])


@pytest.mark.parametrize("query", [q for q in QUERIES if terms(q)])
def test_lexical_ranks_as_bm25_over_the_same_terms(bot, query):
    chunks = every_chunk(bot.store)
    reference = build_lexical(chunks[i].embedding_text() for i in range(len(chunks))).scores(terms(query))
    want = [i for i in np.argsort(-reference, kind="stable") if reference[i] > 0]
    got = bot.store.lexical(terms(query), 10)
    assert set(got) == set(want)  # exactly the chunks holding a term
    ranked = [round(float(reference[c]), 4) for c in got]
    assert ranked == sorted(ranked, reverse=True)
    assert bot.store.lexical(terms(query), 1).keys() <= set(want[:2])  # the best first (a tie may swap)


def test_sentence_scores_are_each_sentence_against_the_query(bot):
    embedder = FakeEmbedder()
    qvec = embedder.encode_queries(["robot boxes"])[0]
    chunks = every_chunk(bot.store)
    got = bot.store.sentence_scores(list(chunks), qvec)
    for cid, chunk in chunks.items():
        want = embedder.encode_passages(_sentences(bot.store, chunk)) @ qvec
        np.testing.assert_allclose(got[cid].sentences, want, atol=1e-6)
        assert got[cid].best == pytest.approx(float(want.max()), abs=1e-6)


def test_frequency_counts_the_chunks_holding_a_term(bot):
    chunks = every_chunk(bot.store)
    df = Counter(t for c in chunks.values() for t in set(terms(c.embedding_text())))
    assert {t: bot.store.frequency(t) for t in df} == dict(df)
    assert bot.store.frequency("unknownword") == 0
    n = len(chunks)
    robot = df["robot"]
    assert bot.retriever.idf("robot") == math.log(1 + (n - robot + 0.5) / (robot + 0.5))
    assert bot.retriever.idf("unknownword") == bot.retriever.idf.max_idf / 2


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_store_answers_the_same(bot, faiss_bot, question):
    a, b = bot.answer(question), faiss_bot.answer(question)
    assert (a.text, a.found, a.source, a.start, a.end) == (b.text, b.found, b.source, b.start, b.end)
    assert a.confidence == pytest.approx(b.confidence, abs=1e-6)
    assert [q.source for q in a.quotes] == [q.source for q in b.quotes]


def test_retrieval_hands_extraction_plain_data(bot):
    qvec = FakeEmbedder().encode_queries(["Who founded Acme Robotics?"])[0]
    found = bot.retriever.retrieve("Who founded Acme Robotics?", qvec, 3)
    assert not isinstance(found.texts, (FaissStore,)) and len(found.hits) == 3
    for hit in found.hits:
        assert len(hit.sentences) == len(hit.chunk.sentences)
        assert max(hit.sentences) == pytest.approx(hit.dense, abs=1e-6)
        assert hit.chunk.source in found.texts


# --- Milvus only: the manifest, staleness, add and remove as upsert and delete ----------------------------
@pytest.fixture
def milvus_index(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", FILES)
    settings = milvus_settings(tmp_path / "index")
    build(corpus, tmp_path / "index", embedder=FakeEmbedder(), store=settings)
    return corpus, tmp_path / "index", settings


@pytest.mark.slow
def test_the_manifest_records_the_store_without_credentials(milvus_index):
    from qa.index.milvus import SCHEMA_VERSION

    _, index, _ = milvus_index
    store = read_manifest(index).store
    assert store["kind"] == "milvus" and store["uri"] == "lite.db" and store["schema"] == SCHEMA_VERSION == 2
    assert store["collections"] == {r: f"qa_{r}" for r in ("sentences", "chunks", "documents")}
    assert "df" in read_manifest(index).files
    from qa.index.milvus import redact

    assert redact("https://user:secret@milvus.example:19530/?token=t") == "https://milvus.example:19530"


def test_bad_milvus_settings_name_the_bad_value():
    from qa.index.milvus import MilvusSettings

    with pytest.raises(ConfigError, match=r"'store\.sqlite'"):
        MilvusSettings("store.sqlite")
    with pytest.raises(ConfigError, match=r"'ftp://x'"):
        MilvusSettings("ftp://x")
    with pytest.raises(ConfigError, match="'a-b'"):
        MilvusSettings("x.db", prefix="a-b")


@pytest.mark.slow
def test_adding_and_removing_documents_upserts_and_deletes_their_rows(milvus_index):
    corpus, index, _ = milvus_index
    embedder = FakeEmbedder()
    (corpus / "zorbl.txt").write_text("The Zorbl engine was designed by Mira Kast in 1999.\n", encoding="utf-8")
    (corpus / "kitchen.md").unlink()
    report = build(corpus, index, embedder=embedder)  # the store the manifest names
    assert report.added == ("zorbl.txt",) and report.removed == ("kitchen.md",)
    assert embedder.passage_texts == ["The Zorbl engine was designed by Mira Kast in 1999."], "only the new one"
    bot = QA.load(index, corpus=corpus, embedder=embedder, settings=AnswerSettings(threshold=0.0), on_stale="error")
    assert bot.store.kind == "milvus"
    assert bot.answer("Who designed the Zorbl engine?").text == "Mira Kast"
    assert bot.store.counts()["documents"] == 4 and bot.store.size == 9
    assert bot.store.frequency("bread") == 0 and bot.store.frequency("zorbl") == 1
    assert "kitchen.md" not in {c.source for c in every_chunk(bot.store).values()} | set(bot.store.texts)
    from qa.api import open_index

    assert open_index(index).kind == "milvus"  # what the chat reloads after an upload or a removal


@pytest.mark.slow
def test_collections_are_loaded_for_searching_when_a_store_is_opened(milvus_index):
    corpus, index, settings = milvus_index
    bot = QA.load(index, corpus=corpus, embedder=FakeEmbedder(), on_stale="error")
    for name in settings.collections.values():  # as a Milvus Lite that starts again holds them
        bot.store.client.release_collection(name)
    again = QA.load(index, corpus=corpus, embedder=FakeEmbedder(), settings=AnswerSettings(read_sentences=0))
    assert again.answer("Who founded Acme Robotics?").text == "Jane Doe"


@pytest.mark.slow
def test_collections_that_no_longer_match_the_manifest_are_stale(milvus_index):
    corpus, index, settings = milvus_index
    bot = QA.load(index, corpus=corpus, embedder=FakeEmbedder(), on_stale="error")
    bot.store.client.drop_collection(settings.collections["documents"])
    with pytest.raises(StaleIndexError, match="qa_documents"):
        QA.load(index, corpus=corpus, embedder=FakeEmbedder(), on_stale="error")
    again = QA.load(index, corpus=corpus, embedder=FakeEmbedder())  # rebuilt in the same store
    assert again.store.kind == "milvus" and again.store.counts()["documents"] == 4
    assert json.loads((index / "manifest.json").read_text())["store"]["kind"] == "milvus"


@pytest.mark.slow
def test_the_cli_builds_into_milvus_and_answers_from_it(tmp_path, monkeypatch, capsys):
    from qa import cli
    from qa.index import embedding

    monkeypatch.setattr(embedding, "load_embedder", lambda *a, **k: FakeEmbedder())
    monkeypatch.setattr("qa.api.load_embedder", lambda *a, **k: FakeEmbedder())
    monkeypatch.setattr("qa.manage.load_embedder", lambda *a, **k: FakeEmbedder())
    corpus = write_corpus(tmp_path / "corpus", FILES)
    index = tmp_path / "index"
    args = ["--index", str(index), "--corpus", str(corpus), "--model", FakeEmbedder().name]
    assert cli.main(["index", *args, "--store", "milvus", "--milvus-uri", str(tmp_path / "m.db")]) == 0
    assert "indexed 4 documents" in capsys.readouterr().out
    assert read_manifest(index).store["uri"] == "../m.db"
    assert cli.main(["ask", "Who founded Acme Robotics?", *args, "--json", "--read-sentences", "0"]) == 0
    assert json.loads(capsys.readouterr().out)["text"] == "Jane Doe"
    assert cli.main(["index", *args, "--milvus-uri", "x.db"]) == 1
    assert "--milvus-uri needs --store milvus" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("module", "flags", "extra"),
    [("pymilvus", ["--store", "milvus"], "qa-chatbot[milvus]"), ("ray", ["--ray"], "qa-chatbot[ray]")],
)
def test_without_an_extra_the_cli_says_what_to_install_before_embedding(
    tmp_path, monkeypatch, capsys, module, flags, extra
):
    import sys

    from qa import cli

    monkeypatch.setitem(sys.modules, module, None)  # as if the extra were not installed
    corpus = write_corpus(tmp_path / "corpus", CORPUS)
    assert cli.main(["index", "--index", str(tmp_path / "index"), "--corpus", str(corpus), *flags]) == 1
    assert f"pip install '{extra}'" in capsys.readouterr().err
    assert not list((tmp_path / "index").glob("seg-*")), "nothing was embedded"
