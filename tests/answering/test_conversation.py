"""Follow-up questions: what a question refers to in its whole conversation, and the readings worth trying."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from qa.answering.conversation import (
    AS_ASKED,
    NEW_SUBJECT,
    RESOLVED,
    SAME_QUESTION,
    WITH_PREVIOUS_TURN,
    Reading,
    Resolver,
    Turn,
    contextualize,
    is_yes_no,
    last_turn,
    readings,
    turns,
    with_questions,
)
from qa.answers import Answer, Quote
from qa.text import words


def turn(question: str, reply: str) -> list[dict]:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": reply}]


def conversation(*pairs: tuple[str, str]) -> list[dict]:
    return [message for q, a in pairs for message in turn(q, a)]


def read(question: str, *pairs: tuple[str, str], resolver: Resolver | None = None) -> Reading:
    return readings(question, conversation(*pairs), resolver)[0]


def alike(table: dict[str, str]):
    """A likeness that knows which words are alike (a stand-in for the embedder's cosine)."""
    return lambda phrase, candidates: [1.0 if table.get(phrase) == c else 0.0 for c in candidates]


# --- reading the history ----------------------------------------------------------------------------------


@pytest.mark.parametrize("history", [None, []])
def test_no_history_returns_the_question_unchanged(history):
    assert readings("What does it plan to build?", history) == [Reading.as_asked("What does it plan to build?")]
    assert contextualize("And Tencent?", history).query == "And Tencent?"


def test_turns_pairs_each_question_with_the_first_line_of_its_reply():
    history = [
        *turn("Who founded Lingxin?", "**Huang Minlie** (confidence 0.95)\n\n> For example, Lingxin ..."),
        *turn("Who founded Acme?", "Not found in the documents. (confidence 0.12)"),
        {"role": "user", "content": "Q3?"},
    ]
    assert turns(history) == [
        Turn("Who founded Lingxin?", "Huang Minlie"),
        Turn("Who founded Acme?", ""),
        Turn("Q3?", ""),
    ]
    assert last_turn(history) == ("Q3?", "")
    assert last_turn([{"role": "assistant", "content": "Welcome!"}]) == ("", "")


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
    reading = contextualize("When did he found it?", history)
    assert "Not found" not in reading.query and "could not" not in reading.query
    assert "confidence" not in reading.query


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
    ["Huang Minlie", "Beijing Guangnian Beyond Technology Co., Ltd.", "AT&T <partners> (2023) [draft]", "$25 million"],
)
def test_the_ui_reply_reads_back_as_the_answer(text):
    """ui.render writes the reply; the conversation must read the plain answer back from it."""
    from ui.render import render_answer

    doc = f"Intro. {text} is the answer."
    quote = Quote(doc, "a.txt", 0, len(doc), 1.0, 1, 1, "", (7, 7 + len(text)))
    reply = render_answer(Answer("Q?", True, text, 0.9, (quote,), "a.txt", 7, 7 + len(text), doc))
    assert last_turn(turn("Q?", reply)) == ("Q?", text)


def test_markdown_characters_in_an_answer_keep_its_words():
    from ui.render import render_answer

    text = "Model #1 > the_rest *fast*"
    reply = render_answer(Answer("Q?", True, text, 0.9, (), "a.txt", 0, len(text), text))
    assert words(last_turn(turn("Q?", reply))[1]) == words(text)


def test_with_questions_changes_every_question_and_no_reply():
    history = [
        {"role": "user", "content": "腾讯的大模型叫什么？"},
        {"role": "assistant", "content": "**HunYuan** (confidence 0.82)"},
        SimpleNamespace(role="user", content=[{"text": "它"}, {"text": "呢"}]),
        {"role": "assistant", "content": "advertising"},
    ]
    assert with_questions(history, lambda text: f"<{text}>") == [
        {"role": "user", "content": "<腾讯的大模型叫什么？>"},
        {"role": "assistant", "content": "**HunYuan** (confidence 0.82)"},
        {"role": "user", "content": "<它 呢>"},
        {"role": "assistant", "content": "advertising"},
    ]
    assert with_questions(None, str.upper) == []


# --- pronouns ---------------------------------------------------------------------------------------------


def test_a_pronoun_stands_for_the_previous_answer():
    reading = read("What was his previous role?", ("Who initiated Baichuan Smart Company?", "Wang Xiaochuan"))
    assert reading.focus == "What was Wang Xiaochuan's previous role?"
    assert reading.how == RESOLVED and reading.entity == "Wang Xiaochuan"
    assert reading.query == f"{reading.focus} Baichuan Smart Company"  # with the previous question's subject
    assert "Who initiated Baichuan Smart Company?" in reading.context


def test_a_pronoun_follows_the_person_the_answer_named_not_another_of_the_same_sentence():
    """Two people in one sentence: 'his' is the one the previous turn answered with."""
    for person in ("Wang Xiaochuan", "Yan Junjie"):
        reading = read("What was his previous role?", ("Who founded the company?", person))
        assert reading.focus == f"What was {person}'s previous role?"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Where does she live?", "Where does Mary Smith live?"),  # 'she' skips the man and the thing
        ("What does it sell?", "What does the bakery sell?"),  # 'it' skips the people
        ("What did he buy?", "What did Bob buy?"),
    ],
)
def test_a_pronoun_stands_for_an_entity_that_agrees_with_it(question, expected):
    history = conversation(("Who owns the bakery?", "Bob"), ("Who is his sister?", "Mary Smith"))
    assert readings(question, history)[0].focus == expected


def test_a_pronoun_keeps_to_the_topic_an_earlier_pronoun_continued():
    """'him' in the third turn is still the mouse, not the creator the second turn answered with."""
    reading = read(
        "Why did everyone love him?",
        ("Who is the most famous mouse?", "Mickey Mouse"),
        ("Who created him?", "Walt Disney"),
    )
    assert reading.focus == "Why did everyone love Mickey Mouse?"


def test_a_pronoun_reaches_back_past_a_turn_that_names_no_entity():
    reading = read("What did he make next?", ("Who made the mouse?", "Walt Disney"), ("Was it a success?", "yes"))
    assert reading.focus == "What did Walt Disney make next?"


def test_two_pronouns_of_one_question_stand_for_two_entities_unless_one_owns():
    history = (("Which company launched Pangu Chat?", "Huawei"), ("And Tencent?", "HunYuan AI Large Model"))
    reading = read("In what area does it leverage it?", *history)
    assert "it" not in words(reading.focus) and "Tencent" in reading.focus and "HunYuan AI Large Model" in reading.focus
    assert read("Did he lose his job?", ("Who quit?", "Walt Disney")).focus == "Did Walt Disney lose Walt Disney's job?"


def test_a_person_is_named_by_their_name_not_their_title():
    """The previous answer 'Sogou CEO Wang Xiaochuan' is Wang Xiaochuan: asking for his role keeps the role out."""
    reading = read("What was his previous role?", ("Who initiated Baichuan Smart Company?", "Sogou CEO Wang Xiaochuan"))
    assert reading.focus == "What was Wang Xiaochuan's previous role?"


def test_there_stands_for_a_place_but_not_in_there_is():
    history = (("Where did they go?", "to the park"),)
    assert read("What did they do there?", *history).focus.endswith("do to the park?")
    assert "park" not in read("Was there a lake?", *history).focus


# --- ellipsis ---------------------------------------------------------------------------------------------


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
def test_an_ellipsis_puts_its_entity_in_the_place_of_the_previous_subject(follow_up, expected):
    reading = read(follow_up, ("What model did Baidu launch?", "Wen Xin Yi Yan"))
    assert reading.focus == expected and reading.how == NEW_SUBJECT
    assert reading.query == expected  # the new subject's own words, not the old turn's
    assert reading.avoid == ("Wen Xin Yi Yan",)


def test_an_ellipsis_can_take_the_place_of_the_previous_answer():
    """'And Tencent?' after 'Which company launched Pangu Chat?' (Huawei) asks what Tencent launched."""
    resolver = Resolver(alike({"Tencent": "Huawei"}))
    reading = read("And Tencent?", ("Which company launched Pangu Chat?", "Huawei"), resolver=resolver)
    assert reading.focus == "What was launched by Tencent?"
    assert reading.focus != "Which company launched Tencent?"
    assert set(reading.avoid) == {"Pangu Chat", "Huawei"}


def test_a_name_after_a_question_for_a_name_asks_it_of_a_sibling_of_the_answer_whatever_the_embedder_says():
    """'Which company launched Tencent?' is never a reading, even when the names' vectors say Tencent is most
    like Pangu Chat (MiniLM's int8 model does)."""
    resolver = Resolver(alike({"Tencent": "Pangu Chat"}))
    reading = read("And Tencent?", ("Which company launched Pangu Chat?", "Huawei"), resolver=resolver)
    assert reading.focus == "What was launched by Tencent?"


def test_an_ellipsis_only_takes_the_place_of_an_entity_of_its_kind():
    """A company never takes the place of the person who answered, however alike their names look."""
    resolver = Resolver(alike({"Baichuan Smart Company": "Yan Junjie"}))
    reading = read(
        "And what about Baichuan Smart Company?", ("Who co-founded Minimax?", "Yan Junjie"), resolver=resolver
    )
    assert reading.focus == "Who co-founded Baichuan Smart Company?"
    assert reading.avoid == ("Yan Junjie",) and reading.entity == "Baichuan Smart Company"


def test_an_elliptical_follow_up_replaces_a_multi_word_subject():
    reading = read("And iFLYTEK?", ("When did CloudWalk Technology publicize its Comfort Model?", "May 2023"))
    assert reading.focus == "When did iFLYTEK publicize its Comfort Model?"


@pytest.mark.parametrize(
    ("follow_up", "kept"),
    [
        ("And who is its CEO?", "who is Wen Xin Yi Yan's CEO"),
        ("Also, what does Tencent use it for?", "what does Tencent use Wen Xin Yi Yan for"),
    ],
)
def test_a_whole_question_after_and_is_not_spliced_into_the_previous_one(follow_up, kept):
    reading = read(follow_up, ("What model did Baidu launch?", "Wen Xin Yi Yan"))
    assert kept in reading.focus  # its pronoun read as the previous answer
    assert "did who" not in reading.focus and "did what" not in reading.focus


def test_a_question_word_alone_asks_it_of_what_the_previous_turn_said():
    assert read("Why?", ("What did Chris do?", "he quit his job")).focus == "Why Chris quit Chris's job?"
    assert read("To where?", ("Who returned?", "Andrew")).focus == "To where Andrew returned?"


def test_what_else_asks_the_previous_question_for_another_answer():
    reading = read("What else?", ("What did Ann buy?", "cheese"))
    assert (reading.focus, reading.how, reading.avoid) == ("What did Ann buy?", SAME_QUESTION, ("cheese",))


def test_the_whole_conversation_is_read_not_only_the_previous_turn():
    """The third turn's ellipsis reads the second turn as made whole ('he' was Robin Li)."""
    reading = read("And his salary?", ("Who is Baidu's CEO?", "Robin Li"), ("What is his age?", "55"))
    assert reading.focus == "What is Robin Li's salary?"


# --- new topics -------------------------------------------------------------------------------------------


def test_a_question_that_says_something_new_is_also_read_as_asked():
    """'this' may be a new document's: the question is tried alone too, in all the documents."""
    found = readings("What version of the specification is this?", turn("Which company launched Pangu Chat?", "Huawei"))
    assert [r.how for r in found] == [WITH_PREVIOUS_TURN, AS_ASKED]
    assert found[1] == Reading.as_asked("What version of the specification is this?")
    assert found[1].within is None


def test_the_made_whole_reading_is_searched_in_the_conversations_document():
    found = readings("Who is his sister?", turn("Who owns the bakery?", "Bob"), None, "town.txt")
    assert found[0].within == "town.txt" and all(r.within is None for r in found[1:])


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("When did the canteen reopen?", 2),  # says something new: also as asked
        ("What does it plan to build?", 1),  # about an earlier entity: only made whole
        ("And Tencent?", 1),  # elliptical
        ("Whose chips?", 1),  # too short to stand alone
        ("What is the depot's name?", 1),  # says nothing the conversation has not
    ],
)
def test_readings(question, expected):
    history = turn("How many pallets did the Ghent depot ship?", "**4,200 pallets** (confidence 0.90)")
    assert len(readings(question, history)) == expected


def test_a_new_topic_without_names_is_answered_on_its_own(shared_bot):
    """A question that names nothing, asked after another topic, is not forced into the old one."""
    history = turn("Who founded Acme Robotics?", "**Jane Doe** (confidence 0.90)")
    question = "How much weight does the walker robot carry?"
    alone = shared_bot.answer(question)
    assert alone.found and "40 kilograms" in alone.text
    after = shared_bot.answer(question, history)
    assert (after.text, after.source) == (alone.text, alone.source)


# --- yes/no -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Did he like it?", True),
        ("Is Acme Robotics in Boston?", True),
        ("and was it a success?", True),
        ("Is it red or blue?", False),
        ("What is it?", False),
        ("Who did he meet?", False),
    ],
)
def test_is_yes_no(question, expected):
    assert is_yes_no(question) is expected
    assert Reading.as_asked(question).yes_no is expected


# --- the resolver keeps what it read ----------------------------------------------------------------------


def test_a_conversation_read_before_is_not_read_again():
    calls = []

    def likeness(phrase, candidates):
        calls.append(phrase)
        return [0.0] * len(candidates)

    resolver = Resolver(likeness)
    history = conversation(("What model did Baidu launch?", "Wen Xin Yi Yan"), ("And Tencent?", "HunYuan"))
    first = readings("Who founded it?", history, resolver)
    seen = len(calls)
    assert readings("Who founded it?", history, resolver) == first
    longer = [*history, *turn("Who founded it?", "Ma Huateng")]
    readings("When?", longer, resolver)
    assert len(calls) == seen  # the earlier ellipsis was not read again
