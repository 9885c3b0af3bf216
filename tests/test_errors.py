"""Every error a user can cause: its type and a message that names the bad value or says how to fix it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.api import QA, build
from qa.errors import (
    ConfigError,
    CorpusError,
    IndexCorruptError,
    IndexMissingError,
    QAError,
    QuestionError,
    StaleIndexError,
)
from qa.index import MANIFEST, read_manifest
from qa.settings import AnswerSettings, ChunkSettings
from tests.conftest import FakeEmbedder, write_corpus


class Ctx:
    """What a scenario may use: a built index of a small corpus, and a tmp folder."""

    def __init__(self, tmp: Path, corpus: Path, index: Path, embedder: FakeEmbedder) -> None:
        self.tmp, self.corpus, self.index, self.embedder = tmp, corpus, index, embedder

    def bot(self) -> QA:
        return QA.load(self.index, corpus=self.corpus, embedder=self.embedder, on_stale="error")

    def load(self, **kwargs) -> QA:
        return QA.load(self.index, embedder=kwargs.pop("embedder", self.embedder), on_stale="error", **kwargs)

    def data_file(self, role: str) -> Path:
        """The FAISS file ("vectors") or the first document's segment ("segment")."""
        manifest = read_manifest(self.index)
        if role == "segment":
            return self.index / next(iter(manifest.segments.values()))["npy"]["name"]
        return self.index / manifest.files[role]["name"]


def ask(question):
    return lambda c: c.bot().answer(question)


def build_from(files: dict | None):
    def run(c: Ctx):
        corpus = c.tmp / "other-corpus"
        if files is not None:
            write_corpus(corpus, files)
            if not files:
                corpus.mkdir(exist_ok=True)
        return build(corpus, c.tmp / "other-index", embedder=c.embedder)

    return run


def corrupt_manifest(c: Ctx):
    (c.index / MANIFEST).write_text('{"format_version": 1, "model": ', encoding="utf-8")
    return c.load()


def truncate_data_file(c: Ctx):
    path = c.data_file("vectors")
    path.write_bytes(path.read_bytes()[:-10])
    return c.load()


def delete_data_file(c: Ctx):
    c.data_file("segment").unlink()
    return c.load()


def add_document(c: Ctx):
    (c.corpus / "new.txt").write_text("A brand new document.", encoding="utf-8")
    return c.load()


def change_document(c: Ctx):
    with (c.corpus / "acme.txt").open("a", encoding="utf-8") as f:
        f.write("One more sentence.\n")
    return c.load()


def remove_document(c: Ctx):
    (c.corpus / "notes" / "history.md").unlink()
    return c.load()


def other_model(c: Ctx):
    return c.load(embedder=FakeEmbedder(name="other-model"))


def other_model_by_name(c: Ctx):
    return QA.load(c.index, model="sentence-transformers/other-model", on_stale="error")


def other_chunking(c: Ctx):
    return c.load(chunking=ChunkSettings(max_chars=300))


def missing_index(c: Ctx):
    empty = c.tmp / "empty-index"
    empty.mkdir()
    return QA.load(empty, embedder=c.embedder)


CASES = [
    # (id, scenario, exception, phrases that must all be in the message)
    ("empty question", ask(""), QuestionError, ["empty", "type a question"]),
    ("whitespace question", ask(" \n\t "), QuestionError, ["empty"]),
    ("100 KB question", ask("why " * 25_600), QuestionError, ["102,399", "2,000", "shorter"]),
    ("non-string question", ask(123), QuestionError, ["text", "int"]),
    ("None question", ask(None), QuestionError, ["text", "NoneType"]),
    ("empty corpus folder", build_from({}), CorpusError, ["no readable", "other-corpus", "qa index"]),
    ("missing corpus folder", build_from(None), CorpusError, ["not found", "other-corpus"]),
    (
        "corpus with only a binary file",
        build_from({"blob.txt": b"\x89PNG\r\n\x1a\n\x00\x00"}),
        CorpusError,
        ["blob.txt", "binary", "qa index"],
    ),
    (
        "corpus with only a non-UTF-8 file",
        build_from({"latin.txt": "Überraschung für café".encode("latin-1")}),
        CorpusError,
        ["latin.txt", "UTF-8", "qa index"],
    ),
    ("missing index", missing_index, IndexMissingError, ["empty-index", "manifest.json", "qa index"]),
    ("corrupted manifest JSON", corrupt_manifest, IndexCorruptError, ["manifest.json", "JSON", "qa index"]),
    ("data file truncated", truncate_data_file, IndexCorruptError, ["vectors-", "damaged", "qa index"]),
    ("data file deleted", delete_data_file, IndexCorruptError, ["seg-", "missing", "qa index"]),
    ("stale: document added", add_document, StaleIndexError, ["added", "new.txt", "qa index"]),
    ("stale: document changed", change_document, StaleIndexError, ["changed", "acme.txt", "qa index"]),
    ("stale: document removed", remove_document, StaleIndexError, ["removed", "notes/history.md", "qa index"]),
    ("stale: other embedder", other_model, StaleIndexError, ["other-model", "fake-hash-64", "qa index"]),
    ("stale: other model name", other_model_by_name, StaleIndexError, ["other-model", "qa index"]),
    ("stale: other chunking", other_chunking, StaleIndexError, ["chunking", "300", "qa index"]),
    ("ChunkSettings(max_chars=5)", lambda c: ChunkSettings(max_chars=5), ConfigError, ["max_chars", "5", "100"]),
    (
        "ChunkSettings(overlap_sentences=9)",
        lambda c: ChunkSettings(overlap_sentences=9),
        ConfigError,
        ["overlap_sentences", "9"],
    ),
    ("AnswerSettings(top_k=0)", lambda c: AnswerSettings(top_k=0), ConfigError, ["top_k", "got 0"]),
    ("AnswerSettings(threshold=2)", lambda c: AnswerSettings(threshold=2), ConfigError, ["threshold", "got 2"]),
    (
        "AnswerSettings(threshold='high')",
        lambda c: AnswerSettings(threshold="high"),
        ConfigError,
        ["threshold", "'high'"],
    ),
    (
        'AnswerSettings(retriever="x")',
        lambda c: AnswerSettings(retriever="x"),
        ConfigError,
        ["retriever", "'x'", "hybrid", "bm25", "dense"],
    ),
    ("AnswerSettings(candidates=500)", lambda c: AnswerSettings(candidates=500), ConfigError, ["candidates", "500"]),
    (
        "AnswerSettings(read_sentences=9)",
        lambda c: AnswerSettings(read_sentences=9),
        ConfigError,
        ["read_sentences", "9", "candidates (8)"],
    ),
    (
        "AnswerSettings(read_sentences=-1)",
        lambda c: AnswerSettings(read_sentences=-1),
        ConfigError,
        ["read_sentences", "-1", "from 0"],
    ),
    (
        'AnswerSettings(translate="yes")',
        lambda c: AnswerSettings(translate="yes"),
        ConfigError,
        ["translate", "true or false", "'yes'"],
    ),
    (
        "AnswerSettings(max_question_chars=5)",
        lambda c: AnswerSettings(max_question_chars=5),
        ConfigError,
        ["max_question_chars", "5"],
    ),
    (
        'QA.load(on_stale="maybe")',
        lambda c: QA.load(c.index, embedder=c.embedder, on_stale="maybe"),
        ConfigError,
        ["on_stale", "'maybe'", "rebuild", "error"],
    ),
]


@pytest.fixture
def ctx(tmp_path, corpus_dir, index_dir, fake_embedder) -> Ctx:
    return Ctx(tmp_path, corpus_dir, index_dir, fake_embedder)


@pytest.mark.parametrize(("scenario", "exc_type", "phrases"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_error_messages(ctx, scenario, exc_type, phrases):
    with pytest.raises(exc_type) as err:
        scenario(ctx)
    assert isinstance(err.value, QAError), "errors users can fix are QAErrors (the CLI and UI show them)"
    message = str(err.value)
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in {message!r}"
    assert "Traceback" not in message
    assert message == message.strip() and "\n" not in message


def test_setting_and_question_errors_are_value_errors():
    assert issubclass(ConfigError, ValueError) and issubclass(QuestionError, ValueError)


def test_a_corrupt_manifest_with_a_corpus_given_and_on_stale_error_still_raises(ctx):
    (ctx.index / MANIFEST).write_text("not json at all", encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="qa index"):
        QA.load(ctx.index, corpus=ctx.corpus, embedder=ctx.embedder, on_stale="error")


def test_the_corpus_error_lists_at_most_five_skipped_files(tmp_path):
    from qa.ingest.documents import load_corpus

    corpus = write_corpus(tmp_path / "c", {f"f{i}.txt": b"\x00" for i in range(8)})
    with pytest.raises(CorpusError) as err:
        load_corpus(corpus)
    message = str(err.value)
    assert message.count("binary file") == 5
    assert "f0.txt" in message and "f7.txt" not in message


def test_stale_manifest_file_is_valid_json_after_errors(ctx):
    """Failing loads never write to the index."""
    before = (ctx.index / MANIFEST).read_bytes()
    with pytest.raises(StaleIndexError):
        add_document(ctx)
    assert (ctx.index / MANIFEST).read_bytes() == before
    json.loads(before)
