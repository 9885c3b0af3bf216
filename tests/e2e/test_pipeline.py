"""End to end: the real bundled model and the committed index over the committed corpus."""

from __future__ import annotations

import pytest

from qa.api import PROJECT_ROOT, QA, corpus_of, staleness
from qa.index import read_manifest
from qa.ingest.documents import read_text
from qa.settings import DEFAULT_MODEL, ChunkSettings
from tests.conftest import assert_verifiable

pytestmark = pytest.mark.e2e

CORPUS = PROJECT_ROOT / "corpus"
INDEX = PROJECT_ROOT / "index"
SOURCE = "china-large-model-industry.txt"


@pytest.fixture(scope="module")
def bot() -> QA:
    # on_stale="error": loading also proves the committed index matches the committed corpus
    # (found through the manifest's own corpus reference)
    return QA.load(INDEX, model=DEFAULT_MODEL, on_stale="error")


@pytest.fixture(scope="module")
def article() -> str:
    return read_text(CORPUS / SOURCE)


def test_committed_index_is_fresh():
    manifest = read_manifest(INDEX)
    assert staleness(manifest, CORPUS, DEFAULT_MODEL, ChunkSettings()) == []
    assert manifest.model == DEFAULT_MODEL == "all-MiniLM-L6-v2+int8"
    assert set(manifest.documents) == {SOURCE}
    assert corpus_of(manifest, INDEX) == CORPUS.resolve()


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
    assert_verifiable(answer, CORPUS)


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
    assert_verifiable(answer, CORPUS)


@pytest.mark.parametrize(
    "question",
    ["What is the tallest mountain in Japan?", "What is the capital of France?", "Who won the 2018 FIFA World Cup?"],
)
def test_unanswerable_questions_are_not_found(bot, question):
    answer = bot.answer(question)
    assert answer.found is False
    assert answer.text == ""
    assert answer.quotes  # the nearest passages are still shown
    assert_verifiable(answer, CORPUS)


def test_follow_up_with_a_pronoun(bot):
    history = [
        {"role": "user", "content": "Who founded Lingxin Intelligent Company?"},
        {"role": "assistant", "content": "Huang Minlie"},
    ]
    answer = bot.answer("Which university is he an associate professor at?", history)
    assert answer.found
    assert "Tsinghua University" in answer.text or "Tsinghua University" in answer.sentence
    assert "Huang Minlie" in answer.query
    assert_verifiable(answer, CORPUS)


def test_elliptical_follow_up(bot):
    history = [
        {"role": "user", "content": "Which company launched Pangu Chat?"},
        {"role": "assistant", "content": "Huawei"},
    ]
    answer = bot.answer("And Tencent?", history)
    assert "Tencent" in answer.query
    assert "Tencent" in answer.sentence
    assert_verifiable(answer, CORPUS)


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
    assert_verifiable(answer, CORPUS)


def test_a_chinese_question_the_article_does_not_answer_is_not_found(bot):
    answer = bot.answer("特斯拉的首席执行官是谁？")  # Tesla's CEO
    assert not answer.found and answer.text == ""
