"""Follow-up questions: the previous turn is folded into the query only when the question leans on it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from qa.answering.conversation import (
    AS_ASKED,
    NEW_SUBJECT,
    WITH_PREVIOUS_TURN,
    Reading,
    contextualize,
    last_turn,
    readings,
    with_last_question,
)
from qa.answers import Answer, Quote
from qa.text import words


def turn(question: str, reply: str) -> list[dict]:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": reply}]


@pytest.mark.parametrize("history", [None, []])
def test_no_history_returns_the_question_unchanged(history):
    assert contextualize("What does it plan to build?", history).query == "What does it plan to build?"
    assert contextualize("And Tencent?", history).query == "And Tencent?"


def test_a_pronoun_follow_up_gets_the_previous_answer_and_question():
    history = turn("Who founded Lingxin Intelligent Company?", "Huang Minlie")
    query = contextualize("Which university is he an associate professor at?", history).query
    assert query.startswith("Which university is he an associate professor at?")
    assert "Huang Minlie" in query
    assert "Lingxin Intelligent Company" in query


def test_a_reading_says_what_is_the_question_and_what_is_the_conversation():
    history = turn("Who founded Lingxin Intelligent Company?", "Huang Minlie")
    follow_up = contextualize("Which university is he an associate professor at?", history)
    assert follow_up.how == WITH_PREVIOUS_TURN
    assert follow_up.focus == "Which university is he an associate professor at?"
    assert "Huang Minlie" in follow_up.context and "Lingxin" in follow_up.context
    assert "Huang Minlie" not in follow_up.focus
    elliptical = contextualize("And Tencent?", turn("What model did Baidu launch?", "Wen Xin Yi Yan"))
    assert elliptical == Reading(
        "And Tencent?", "What model did Tencent launch?", "What model did Tencent launch?", "", NEW_SUBJECT
    )
    alone = contextualize("Who founded Acme?", turn("What model did Baidu launch?", "Wen Xin Yi Yan"))
    assert alone == Reading.as_asked("Who founded Acme?") and alone.how == AS_ASKED


@pytest.mark.parametrize(
    ("follow_up", "expected"),
    [
        ("And Tencent?", "What model did Tencent launch?"),
        ("What about SenseTime?", "What model did SenseTime launch?"),
        ("and Alibaba's?", "What model did Alibaba launch?"),
        ("How about ByteDance?", "What model did ByteDance launch?"),
        ("And what about Tencent?", "What model did Tencent launch?"),
        ("Tencent?", "What model did Tencent launch?"),
    ],
)
def test_an_elliptical_follow_up_replaces_the_subject(follow_up, expected):
    history = turn("What model did Baidu launch?", "Wen Xin Yi Yan")
    assert contextualize(follow_up, history).query == expected


@pytest.mark.parametrize(
    ("follow_up", "kept"),
    [
        ("And who is its CEO?", "who is its CEO"),
        ("And when did it launch it?", "when did it launch it"),
        ("Also, what does Tencent use it for?", "what does Tencent use it for"),
    ],
)
def test_a_whole_question_after_and_is_not_spliced_into_the_previous_one(follow_up, kept):
    history = turn("What model did Baidu launch?", "Wen Xin Yi Yan")
    query = contextualize(follow_up, history).query
    assert kept in query
    assert "did who" not in query and "did when" not in query and "did what" not in query
    assert "Baidu" in query  # "it"/"its" still refers to the previous turn


def test_elliptical_follow_up_replaces_a_multi_word_subject():
    history = turn("When did CloudWalk Technology publicize its Comfort Model?", "May 2023")
    assert contextualize("And iFLYTEK?", history).query == "When did iFLYTEK publicize its Comfort Model?"


def test_a_self_contained_question_ignores_the_history():
    history = turn("What model did Baidu launch?", "Wen Xin Yi Yan")
    assert contextualize("Who founded Lingxin Intelligent Company?", history).query == (
        "Who founded Lingxin Intelligent Company?"
    )


@pytest.mark.parametrize(
    "reply",
    [
        "Not found in the documents. (confidence 0.12)",
        "Not found in the documents.\n\nNearest passages (they may not answer it):\n\n> Some passage.",
        "I could not find that.",
    ],
)
def test_a_not_found_reply_is_not_taken_as_the_answer(reply):
    history = turn("Who founded Acme?", reply)
    assert last_turn(history) == ("Who founded Acme?", "")
    query = contextualize("When did he found it?", history).query
    assert "Not found" not in query and "could not" not in query and "confidence" not in query
    assert "Who founded Acme?" in query


def test_last_turn_reads_the_first_line_without_markup_or_confidence():
    reply = "**Huang Minlie** (confidence 0.95)\n\n> For example, Lingxin ...\n\n— a.txt, paragraph 3"
    assert last_turn(turn("Who founded Lingxin?", reply)) == ("Who founded Lingxin?", "Huang Minlie")


def test_last_turn_takes_the_last_question_and_its_own_reply():
    history = [*turn("Q1?", "A1"), *turn("Q2?", "A2"), {"role": "user", "content": "Q3?"}]
    assert last_turn(history) == ("Q3?", "")
    assert last_turn(history[:4]) == ("Q2?", "A2")
    assert last_turn([{"role": "assistant", "content": "Welcome!"}]) == ("", "")


def test_gradio_message_formats_are_understood():
    parts = [
        {"role": "user", "content": [{"type": "text", "text": "Who founded Lingxin?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "**Huang Minlie** (confidence 0.90)"}]},
    ]
    assert last_turn(parts) == ("Who founded Lingxin?", "Huang Minlie")
    objects = [SimpleNamespace(role="user", content="Who?"), SimpleNamespace(role="assistant", content="Li")]
    assert last_turn(objects) == ("Who?", "Li")


@pytest.mark.parametrize(
    "text",
    [
        "Huang Minlie",
        "Beijing Guangnian Beyond Technology Co., Ltd.",
        "AT&T <partners> (2023) [draft]",
        "1. the first item",
        "$25 million",
    ],
)
def test_the_ui_reply_reads_back_as_the_answer(text):
    """ui.render writes the reply; last_turn must read the plain answer back from it."""
    from ui.render import render_answer

    doc = f"Intro. {text} is the answer."
    quote = Quote(doc, "a.txt", 0, len(doc), 1.0, 1, 1, "", (7, 7 + len(text)))
    reply = render_answer(Answer("Q?", True, text, 0.9, (quote,), "a.txt", 7, 7 + len(text), doc))
    assert last_turn(turn("Q?", reply)) == ("Q?", text)


def test_markdown_characters_in_an_answer_keep_its_words():
    """'*', '_', '`', '#', '>' are dropped as markup when read back; the words stay."""
    from ui.render import render_answer

    text = "Model #1 > the_rest *fast*"
    reply = render_answer(Answer("Q?", True, text, 0.9, (), "a.txt", 0, len(text), text))
    assert words(last_turn(turn("Q?", reply))[1]) == words(text)


HISTORY = [
    {"role": "user", "content": "How many pallets did the Ghent depot ship?"},
    {"role": "assistant", "content": "**4,200 pallets** (confidence 0.90)"},
]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("When did the canteen reopen?", 2),  # names nothing: maybe new, maybe a follow-up; both are tried
        ("What does it plan to build?", 1),  # refers back: only the question made whole
        ("And Tencent?", 1),  # elliptical
        ("Whose chips?", 1),  # too short to stand alone
        ("When did Huawei launch Pangu Chat?", 1),  # names its own subject: alone
    ],
)
def test_readings(question, expected):
    got = readings(question, HISTORY)
    assert len(got) == expected
    if expected == 2:
        assert got[0] == Reading.as_asked(question) and got[1].query != question
    assert readings(question, []) == [Reading.as_asked(question)]


def test_a_new_topic_without_names_is_answered_on_its_own(shared_bot):
    """A question that names nothing, asked after another topic, is not forced into the old one."""
    history = [
        {"role": "user", "content": "Who founded Acme Robotics?"},
        {"role": "assistant", "content": "**Jane Doe** (confidence 0.90)"},
    ]
    question = "How much weight does the walker robot carry?"
    alone = shared_bot.answer(question)
    assert alone.found and "40 kilograms" in alone.text
    after = shared_bot.answer(question, history)
    assert (after.text, after.source) == (alone.text, alone.source)


def test_with_last_question_changes_only_the_last_users_question():
    history = [
        {"role": "user", "content": "腾讯的大模型叫什么？"},
        {"role": "assistant", "content": "**HunYuan** (confidence 0.82)"},
        SimpleNamespace(role="user", content=[{"text": "它"}, {"text": "呢"}]),
        {"role": "assistant", "content": "advertising"},
    ]
    assert with_last_question(history, lambda text: f"<{text}>") == [
        {"role": "user", "content": "腾讯的大模型叫什么？"},  # earlier questions: as they were
        {"role": "assistant", "content": "**HunYuan** (confidence 0.82)"},
        {"role": "user", "content": "<它 呢>"},
        {"role": "assistant", "content": "advertising"},
    ]
    assert with_last_question(None, str.upper) == []
    assert with_last_question([{"role": "assistant", "content": "hi"}], str.upper) == [
        {"role": "assistant", "content": "hi"}
    ]
