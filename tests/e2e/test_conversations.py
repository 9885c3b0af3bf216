"""End to end: conversations over the bundled article, with the real model and index (issue 14's examples)."""

from __future__ import annotations

import shutil

import pytest

from qa.api import PROJECT_ROOT, QA, add
from qa.settings import DEFAULT_MODEL
from tests.conftest import assert_verifiable, make_pdf

pytestmark = pytest.mark.e2e

CORPUS = PROJECT_ROOT / "corpus"
INDEX = PROJECT_ROOT / "index"
ARTICLE = "china-large-model-industry.txt"


@pytest.fixture(scope="module")
def bot() -> QA:
    return QA.load(INDEX, model=DEFAULT_MODEL)  # built on first use, rebuilt when the code has moved on


def conversation(*pairs: tuple[str, str]) -> list[dict]:
    return [m for q, a in pairs for m in ({"role": "user", "content": q}, {"role": "assistant", "content": a})]


def test_an_ellipsis_about_another_company_keeps_the_question_not_the_answer(bot):
    """'And what about Baichuan Smart Company?' after 'Who co-founded Minimax?': not Yan Junjie again
    (Wang Xiaochuan initiated Baichuan; the sentence names both)."""
    history = conversation(("Who co-founded Minimax?", "Yan Junjie"))
    answer = bot.answer("And what about Baichuan Smart Company?", history)
    assert answer.query == "Who co-founded Baichuan Smart Company?"
    assert "Yan Junjie" not in answer.text
    assert answer.found and "Wang Xiaochuan" in answer.text
    assert_verifiable(answer, CORPUS)


def test_an_ellipsis_can_take_the_answers_place(bot):
    """'And Tencent?' after 'Which company launched Pangu Chat?' (Huawei) asks what Tencent launched."""
    history = conversation(("Which company launched Pangu Chat?", "Huawei"))
    answer = bot.answer("And Tencent?", history)
    assert answer.query != "Which company launched Tencent?"
    assert "Tencent" in answer.query
    assert answer.found and "HunYuan" in answer.text
    assert_verifiable(answer, CORPUS)


@pytest.mark.parametrize(
    ("asked", "person", "role", "other"),
    [
        ("Who initiated Baichuan Smart Company?", "Wang Xiaochuan", "Sogou CEO", "SenseTime"),
        ("Who co-founded Minimax?", "Yan Junjie", "vice president", "Sogou"),
    ],
)
def test_a_pronoun_follow_up_is_about_the_person_the_conversation_named(bot, asked, person, role, other):
    """One sentence names both men; 'his' is the one the previous answer named."""
    history = conversation((asked, person))
    answer = bot.answer("What was his previous role?", history)
    assert person in answer.query
    assert answer.found and role in answer.text and other not in answer.text
    assert_verifiable(answer, CORPUS)


SPEC = [
    "Open Widget Exchange Protocol\n"
    "Specification version 3.2, published in March 2024.\n"
    "This specification defines how widgets are exchanged between two hosts over a reliable channel. "
    "Each host keeps a catalogue of the widgets it offers and sends it when a session opens."
]


def test_a_question_about_a_new_upload_is_a_new_question(tmp_path):
    """'What version of the specification is this?' after a turn about the article, with a PDF just
    uploaded: 'this' is the new document, not the previous turn."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    shutil.copy(CORPUS / ARTICLE, corpus / ARTICLE)
    first = QA.load(index, corpus=corpus, model=DEFAULT_MODEL)
    history = conversation(
        ("Which company launched Pangu Chat?", first.answer("Which company launched Pangu Chat?").text)
    )
    pdf = tmp_path / "owx-spec.pdf"
    pdf.write_bytes(make_pdf(SPEC))
    add([pdf], corpus, index, embedder=first.embedder)
    bot = QA.load(index, corpus=corpus, embedder=first.embedder, on_stale="error")
    answer = bot.answer("What version of the specification is this?", history)
    assert answer.found and answer.source == "owx-spec.pdf"
    assert "3.2" in answer.text
    assert_verifiable(answer, corpus)


def test_a_yes_no_question_shows_its_evidence(bot, tmp_path):
    answer = bot.answer("Did Huawei launch Pangu Chat?")
    assert answer.yes_no and answer.found
    assert answer.text.lower() not in ("yes", "no")
    assert "Pangu Chat" in answer.text and answer.text in answer.sentence
    assert_verifiable(answer, CORPUS)
