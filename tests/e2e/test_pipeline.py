"""End to end: the real bundled model over the bundled article, its index built on first use."""

from __future__ import annotations

import logging

import pytest

from qa.api import QA, corpus_of, default_corpus, default_index, staleness
from qa.index import read_manifest
from qa.index.embedding import fingerprint
from qa.ingest.documents import read_text
from qa.settings import DEFAULT_MODEL, ChunkSettings
from tests.conftest import BUNDLED, assert_verifiable

pytestmark = pytest.mark.e2e

SOURCE = BUNDLED


@pytest.fixture(scope="module")
def paths(bundled):
    return bundled


@pytest.fixture(scope="module")
def bot(paths) -> QA:
    # on_stale="error": loading also proves the index built on first use matches the corpus
    # (found through the manifest's own corpus reference) and the query model
    return QA.load(paths[1], model=DEFAULT_MODEL, on_stale="error")


@pytest.fixture(scope="module")
def article(paths) -> str:
    return read_text(paths[0] / SOURCE)


def test_the_bundled_index_is_built_on_first_use_and_says_so(tmp_path, monkeypatch, caplog, bot):
    import shutil

    monkeypatch.setenv("QA_INDEX", str(tmp_path / "index"))
    shutil.copytree(default_corpus(), tmp_path / "corpus")
    monkeypatch.setenv("QA_CORPUS", str(tmp_path / "corpus"))
    with caplog.at_level(logging.WARNING, logger="qa.api"):
        fresh = QA.load(embedder=bot.embedder)  # what `qa serve` and `answer()` do in a fresh clone
    assert "Building the index of" in caplog.text and "first use" in caplog.text
    assert fresh.index.path == default_index() and fresh.answer("Which company launched Pangu Chat?").text == "Huawei"


def test_the_index_records_the_query_model_and_is_fresh(paths, bot):
    corpus, index = paths
    manifest = read_manifest(index)
    assert staleness(manifest, corpus, DEFAULT_MODEL, ChunkSettings(), fingerprint(bot.embedder)) == []
    assert manifest.model == DEFAULT_MODEL == "all-MiniLM-L6-v2+int8"
    assert manifest.model_fingerprint == fingerprint(bot.embedder)
    assert set(manifest.model_fingerprint) == {"file", "sha256", "onnxruntime", "quantization"}
    assert set(manifest.documents) == {SOURCE}
    assert corpus_of(manifest, index) == corpus.resolve()


def test_the_real_model_is_loaded(bot):
    assert bot.embedder.name == DEFAULT_MODEL
    assert bot.embedder.dim == 384
    assert bot.index.vectors.ntotal == sum(len(c.sentences) for c in bot.index.chunks) > len(bot.index.chunks) > 10


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Which company launched Pangu Chat?", "Huawei"),
        ("When did the U.S. Department of Commerce impose an export restriction on high-end GPUs?", "October 2022"),
        ("Who founded Lingxin Intelligent Company?", "Huang Minlie"),
        ("When did SenseTime unveil its strategic plan for AI development?", "April 2023"),
        ("Which company did former Sogou CEO Wang Xiaochuan initiate?", "Baichuan Smart Company"),
        ("How many articles does the draft of the Generative AI Service Management Measures consist of?", "21"),
    ],
)
def test_fact_questions(bot, article, question, expected):
    answer = bot.answer(question)
    assert answer.found, f"{question!r}: not found (confidence {answer.confidence:.2f}, {answer.sentence!r})"
    assert answer.source == SOURCE
    assert expected in answer.text or expected in answer.sentence
    assert article[answer.start : answer.end] == answer.text
    assert_verifiable(answer, default_corpus())


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("When did the U.S. Department of Commerce impose an export restriction on high-end GPUs?", "October 2022"),
        ("Who founded Lingxin Intelligent Company?", "Huang Minlie"),
    ],
)
def test_short_answers_are_the_extract_itself(bot, question, expected):
    answer = bot.answer(question)
    assert expected in answer.text
    assert len(answer.text) < 60


def test_answer_points_at_the_text_in_the_file(bot, article):
    answer = bot.answer("Which company launched Pangu Chat?")
    assert "Huawei" in article[answer.start : answer.end] or "Huawei" in answer.sentence
    quote = answer.quotes[0]
    assert quote.highlight == (answer.start, answer.end)
    assert quote.heading == "Chinese Tech Giants"
    assert article.count("\n", 0, quote.start) + 1 == quote.line
    assert_verifiable(answer, default_corpus())


@pytest.mark.parametrize(
    "question",
    ["What is the tallest mountain in Japan?", "What is the capital of France?", "Who won the 2018 FIFA World Cup?"],
)
def test_unanswerable_questions_are_not_found(bot, question):
    answer = bot.answer(question)
    assert answer.found is False
    assert answer.text == ""
    assert answer.quotes  # the nearest passages are still shown
    assert_verifiable(answer, default_corpus())


def test_follow_up_with_a_pronoun(bot):
    history = [
        {"role": "user", "content": "Who founded Lingxin Intelligent Company?"},
        {"role": "assistant", "content": "Huang Minlie"},
    ]
    answer = bot.answer("Which university is he an associate professor at?", history)
    assert answer.found
    assert "Tsinghua University" in answer.text or "Tsinghua University" in answer.sentence
    assert "Huang Minlie" in answer.query
    assert_verifiable(answer, default_corpus())


def test_elliptical_follow_up(bot):
    history = [
        {"role": "user", "content": "Which company launched Pangu Chat?"},
        {"role": "assistant", "content": "Huawei"},
    ]
    answer = bot.answer("And Tencent?", history)
    assert "Tencent" in answer.query
    assert "Tencent" in answer.sentence
    assert_verifiable(answer, default_corpus())


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("腾讯的大模型叫什么？", "HunYuan"),
        ("美国商务部是什么时候限制高端GPU对华出口的？", "October 2022"),
        ("美团原联合创始人是谁？", "Wang Huiwen"),
    ],
)
def test_chinese_questions_are_read_in_english(bot, article, question, expected):
    answer = bot.answer(question)
    assert answer.found, f"{question!r} read as {answer.translation!r}: confidence {answer.confidence:.2f}"
    assert expected in answer.text and answer.translation and answer.query == answer.translation
    assert article[answer.start : answer.end] == answer.text
    assert_verifiable(answer, default_corpus())


def test_a_chinese_question_the_article_does_not_answer_is_not_found(bot):
    answer = bot.answer("特斯拉的首席执行官是谁？")  # Tesla's CEO
    assert not answer.found and answer.text == ""
