"""Answer types of questions, and the typed span of a sentence that answers one."""

from __future__ import annotations

import pytest

from qa.answering.spans import COUNT, DATE, MONEY, NAME, NUMBER, OTHER, best_span, candidate_spans, classify, has_span
from qa.text import terms


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did SenseTime unveil its plan?", DATE),
        ("In what year was the company founded?", DATE),
        ("Which month did CloudWalk publicize its model?", DATE),
        ("How many articles does the draft consist of?", COUNT),
        ("How many engineers does Acme employ?", COUNT),
        ("How much did Acme pay for the startup?", MONEY),
        ("How much money did Acme Robotics raise?", MONEY),
        ("What was the price of the robot?", MONEY),
        ("How long is the bridge?", NUMBER),
        ("What percentage of models come from China?", NUMBER),
        ("Who founded Lingxin Intelligent Company?", NAME),
        ("Who is Baidu's CEO?", NAME),
        ("Which company launched Pangu Chat?", NAME),
        ("Where is the headquarters?", NAME),
        ("What is the name of Baidu's chat robot?", NAME),
        ("Which university is he an associate professor at?", NAME),
        ("Why did the restriction matter?", OTHER),
    ],
)
def test_classify_kind(question, kind):
    assert classify(question).kind == kind


@pytest.mark.parametrize(
    ("question", "plural"),
    [
        ("Which companies are partners of Acme Robotics?", True),
        ("Which companies launched large models?", True),
        ("Which cities have put forth specific plans?", True),
        ("Which company launched Pangu Chat?", False),
        ("Who founded Lingxin Intelligent Company?", False),
    ],
)
def test_classify_plural(question, plural):
    assert classify(question).plural is plural


@pytest.mark.parametrize(
    ("question", "stem"),
    [
        ("Which university is he an associate professor at?", terms("university")[0]),
        ("Which company launched Pangu Chat?", terms("company")[0]),
        ("which company launched Pangu Chat?", terms("company")[0]),
        ("What model did Tencent debut?", terms("model")[0]),
        ("What is the name of Baidu's chat robot?", "name"),
    ],
)
def test_focus_holds_the_stem_of_the_wh_noun(question, stem):
    assert stem in classify(question).focus


def span_text(question: str, sentence: str) -> str | None:
    span = best_span(question, sentence, 0, len(sentence))
    return None if span is None else sentence[span.start : span.end]


@pytest.mark.parametrize(
    ("question", "sentence", "answer"),
    [
        (
            "When did the U.S. Department of Commerce impose an export restriction?",
            "In October 2022, the U.S. Department of Commerce imposed an export restriction on high-end GPUs.",
            "October 2022",
        ),
        (
            "When did the Beijing Municipal Government issue the measures?",
            "Notably, on May 30, 2023, the Beijing Municipal Government issued the measures.",
            "May 30, 2023",
        ),
        (
            "Who founded Lingxin Intelligent Company?",
            "Lingxin Intelligent Company, founded by Huang Minlie, has been exploring large models since 2021.",
            "Huang Minlie",
        ),
        ("Who led the project?", "Dr. Smith led the project at the time.", "Dr. Smith"),
        ("Who founded Acme Robotics?", "Acme Robotics was founded by Jane Doe in March 2019.", "Jane Doe"),
        (
            "How many articles does the draft consist of?",
            "The draft consists of 21 articles covering various requirements.",
            "21 articles",
        ),
        (
            "How much did Acme Robotics raise in its first round?",
            "Acme Robotics raised $25 million in its first funding round.",
            "$25 million",
        ),
        (
            "Which companies are partners of Acme Robotics?",
            "Zenith Labs, Orbit Systems, and Nova Works are partners of Acme Robotics.",
            "Zenith Labs, Orbit Systems, and Nova Works",
        ),
        (
            "Which four computer vision companies are known as the Four AI Tigers?",
            "Computer vision companies, notably the Four AI Tigers: SenseTime, CloudWalk Technology, "
            "Megvii Technology, and Yitu Technology.",
            "SenseTime, CloudWalk Technology, Megvii Technology, and Yitu Technology",
        ),
        (
            "How many articles does the draft consist of?",
            "In 2023, the draft had 21 articles covering 80% of cases.",
            "21 articles",
        ),
        (
            "How much did Tencent pay for the startup?",
            "In 2021 Tencent paid 3 billion yuan for the startup, a 20% premium.",
            "3 billion yuan",
        ),
        (
            "How much did Tencent pay for the startup?",
            "Tencent paid $450 million for the startup in 2021.",
            "$450 million",
        ),
        (
            "When was the company founded?",
            "The company, with 120 staff, was founded on 5 June 2015 in Shanghai.",
            "5 June 2015",
        ),
        (
            "Which cities have put forth specific plans?",
            "Major cities, including Beijing, Shanghai, and Guangzhou, have also put forth specific plans.",
            "Beijing, Shanghai, and Guangzhou",
        ),
        (
            "What percentage of the world's large models do the US and China account for?",
            "The United States and China collectively account for over 80% of the world's large model distribution.",
            "over 80%",
        ),
    ],
)
def test_best_span_finds_the_answer(question, sentence, answer):
    assert span_text(question, sentence) == answer


QUESTIONS = [
    "When did the company start?",
    "How many engineers does it employ?",
    "Who founded Acme Robotics?",
    "Which cities put forth plans?",
    "How much did it raise?",
    "What does it build?",
]
SENTENCES = [
    "Acme Robotics was founded by Jane Doe in March 2019.",
    "Acme Robotics raised $25 million and employs 120 engineers.",
    "Acme Robotics builds robots.",
    "Beijing, Shanghai, and Guangzhou put forth plans.",
    "Acme Robotics was founded in Boston.",
]


@pytest.mark.parametrize("question", QUESTIONS)
@pytest.mark.parametrize("sentence", SENTENCES)
@pytest.mark.parametrize("context", ["", "Who founded Jane Doe's company in Boston?"])
def test_has_span_says_whether_best_span_finds_one(question, sentence, context):
    """The ranker's feature (existence only) agrees with the span the winner then gets."""
    found = best_span(question, sentence, 0, len(sentence), context=context) is not None
    assert has_span(question, sentence, 0, len(sentence), context=context) is found


def test_best_span_never_returns_the_question_s_own_words():
    sentence = "Acme Robotics was founded in Boston."
    got = span_text("Who founded Acme Robotics?", sentence)
    assert got != "Acme Robotics"


def test_no_candidate_of_the_asked_kind_gives_none():
    assert span_text("When did Acme hire engineers?", "Acme hired many engineers in Boston.") is None
    assert span_text("How many robots are there?", "There are robots everywhere.") is None


def test_span_offsets_are_document_offsets():
    prefix = "Unrelated text. "
    sentence = "Acme Robotics was founded by Jane Doe in March 2019."
    text = prefix + sentence + " More text follows."
    span = best_span("When was Acme Robotics founded?", text, len(prefix), len(prefix) + len(sentence))
    assert span is not None and text[span.start : span.end] == "March 2019"
    assert span.kind == DATE


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        ("When was it?", "It began in 2019 and ended on March 3, 2021.", {"2019", "March 3, 2021"}),
        ("How much did it cost?", "It cost $5 million, not 7 robots.", {"$5 million"}),
    ],
)
def test_candidate_spans_of_a_kind(question, sentence, expected):
    qtype = classify(question)
    found = {sentence[a:b].strip(" ,.") for a, b in candidate_spans(sentence, 0, len(sentence), qtype)}
    assert expected <= found
    if qtype.kind == MONEY:
        assert not any("robots" in f for f in found)
