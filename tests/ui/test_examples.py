"""Example questions made from the documents' sentences: their wording, their check by asking, their bounds."""

from __future__ import annotations

import time
from collections.abc import Sequence
from types import SimpleNamespace

import pytest

from qa.answers import Answer
from qa.ingest.chunking import split_sentences
from ui.examples import base_form, candidate_questions, candidates, document_chunks, example_questions, spread


def chunk(text: str, source: str = "a.txt", start: int = 0) -> SimpleNamespace:
    """A chunk as the index gives it: its text, where it is, and its sentences' document offsets."""
    return SimpleNamespace(
        text=text, source=source, start=start, heading="", sentences=tuple(split_sentences(text, 0, len(text)))
    )


@pytest.mark.parametrize(
    ("sentence", "question"),
    [
        (
            "In April 2023, SenseTime unveiled its strategic plan for AI development, which hinges on SenseNova.",
            "When did SenseTime unveil its strategic plan for AI development?",
        ),
        (
            "Meanwhile, CloudWalk Technology publicized its Comfort Model for beta testing in May 2023.",
            "When did CloudWalk Technology publicize its Comfort Model for beta testing?",
        ),
        ("The canteen reopened on 4 March 2024 after repairs.", "When did the canteen reopen?"),
        ("The Ghent depot shipped 4,200 pallets in 2023.", "How many pallets did the Ghent depot ship?"),
        (
            "The draft consists of 21 articles covering various requirements.",
            "How many articles does the draft consist of?",
        ),
        ("The university was founded in 1858.", "When was the university founded?"),
        (
            "Lingxin Intelligent Company, founded by Huang Minlie, explores large models.",
            "Who founded Lingxin Intelligent Company?",
        ),
        ("SQLite is a C library that implements a small SQL database engine.", "What is SQLite?"),
    ],
)
def test_a_plain_sentence_gives_the_question_a_person_would_ask(sentence, question):
    assert question in candidate_questions([chunk(sentence)])


@pytest.mark.parametrize(
    "sentence",
    [
        "The United States leads the race in quantity.",  # no date, count or defined name in it
        "Four AI Tigers are computer vision companies.",
        "It was released in May 2023.",  # a pronoun is no subject to ask about
        "Notably, on May 30, 2023, the Beijing Municipal Government issued “Several Measures to Promote AI, "
        "and more,” which includes proposals.",  # the object is cut inside a title
        "He never visited the city in 1990.",
    ],
)
def test_no_question_from_a_sentence_without_a_plain_fact(sentence):
    questions = candidate_questions([chunk(sentence)])
    assert questions == [] or all("What is the United States" not in q for q in questions)
    assert not any(q.startswith("What is") for q in questions)
    assert questions == [], questions


@pytest.mark.parametrize(
    ("verb", "base"),
    [
        ("released", "release"),
        ("unveiled", "unveil"),
        ("publicized", "publicize"),
        ("issued", "issue"),
        ("acquired", "acquire"),
        ("created", "create"),
        ("debuted", "debut"),
        ("planned", "plan"),
        ("applied", "apply"),
        ("died", "die"),
        ("developed", "develop"),
        ("controlled", "control"),
        ("called", "call"),
        ("changed", "change"),
        ("belonged", "belong"),
        ("used", "use"),
        ("focused", "focus"),
        ("made", "make"),
        ("consists", "consist"),
        ("handled", "handle"),
        ("settled", "settle"),
        ("curled", "curl"),
        ("crawled", "crawl"),
        ("visited", None),  # -ited: visit or unite? not guessed
    ],
)
def test_base_form(verb, base):
    assert base_form(verb) == base


def test_documents_take_turns_and_dates_come_first():
    a = chunk("Alpha Corp shipped 40 crates. In 2001, Alpha Corp opened a plant in Ghent.", "a.txt")
    b = chunk("In 1999, Beta Labs released the Gamma engine.", "b.txt")
    assert [c.source for c in candidates([a, b])] == ["a.txt", "b.txt", "a.txt", "a.txt"]
    assert candidate_questions([a, b])[0] == "When did Alpha Corp open a plant in Ghent?"


class Bot:
    """Answers from a table of question -> (document, start, end); counts what it is asked."""

    def __init__(self, chunks, answers: dict[str, tuple[str, int, int] | None]) -> None:
        self.index = SimpleNamespace(chunks=chunks)
        self.answers, self.asked = answers, []

    def answer(self, question: str) -> Answer:
        self.asked.append(question)
        where = self.answers.get(question)
        if where is None:
            return Answer(question, False, "", 0.1)
        source, start, end = where
        return Answer(question, True, "x", 0.9, source=source, start=start, end=end)


TEXT = "In April 2023, SenseTime unveiled its plan. The canteen reopened on 4 March 2024."


def test_an_example_is_shown_only_when_the_bot_answers_it_from_its_own_sentence():
    chunks = [chunk(TEXT)]
    april, march = TEXT.index("April 2023"), TEXT.index("4 March 2024")
    right = {
        "When did SenseTime unveil its plan?": ("a.txt", april, april + 10),
        "When did the canteen reopen?": ("a.txt", march, march + 12),
    }
    assert example_questions(Bot(chunks, right)) == list(right)
    wrong_place = {
        q: ("a.txt", TEXT.index("its plan"), TEXT.index("its plan") + 8) for q in right
    }  # found, but not where the question came from
    assert example_questions(Bot(chunks, wrong_place)) == []
    other_doc = {q: ("b.txt", s, e) for q, (_, s, e) in right.items()}
    assert example_questions(Bot(chunks, other_doc)) == []
    assert example_questions(Bot(chunks, {})) == []  # not found: no example


def test_asking_is_bounded_by_count_and_time():
    text = " ".join(f"In {1900 + i}, Holdings No{i} opened a plant in Ghent." for i in range(50))
    chunks = [chunk(text)]
    bot = Bot(chunks, {})
    assert example_questions(bot, max_asked=7) == [] and len(bot.asked) == 7

    class Slow(Bot):
        def answer(self, question):
            time.sleep(0.05)  # a slow index, not synchronization
            return super().answer(question)

    slow = Slow(chunks, {})
    example_questions(slow, max_asked=50, budget_s=0.2)
    assert 2 <= len(slow.asked) <= 6


class CountingChunks(Sequence):
    """A corpus of `n` chunks that counts which ones are read."""

    def __init__(self, n: int) -> None:
        self.n, self.read = n, set()

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        if not isinstance(i, int) or not 0 <= i < self.n:
            raise IndexError(i)
        self.read.add(i)
        return chunk(f"In 2001, Holdings No{i} launched the model Alpha.", f"d{i}.txt")


@pytest.mark.parametrize("n", [1, 299, 300, 301, 1_000_000])
def test_example_sentences_come_from_at_most_300_chunks_spread_over_the_corpus(n):
    chunks = CountingChunks(n)
    picked = spread(chunks)
    assert len(picked) == min(n, 300) == len(chunks.read)
    assert 0 in chunks.read and (n == 1 or max(chunks.read) >= n * 299 // 300), "from the first to near the last"
    bot = Bot(chunks, {})
    example_questions(bot, max_asked=3)
    assert len(chunks.read) == min(n, 300) and len(bot.asked) == min(n, 3)


class PaddedChunks(CountingChunks):
    """Each chunk a document of its own, named so that path order is chunk order (as an index keeps them)."""

    def __getitem__(self, i):
        got = super().__getitem__(i)
        return chunk(got.text, f"d{i:07d}.txt")


def test_the_documents_named_first_give_the_first_examples_without_reading_the_corpus():
    n = 100_000
    chunks = PaddedChunks(n)
    new = ["d0077777.txt", "d0000005.txt"]
    when = {f"When did Holdings No{int(d[1:8])} launch the model Alpha?": (d, 3, 7) for d in new}
    bot = Bot(chunks, when)
    bot.index.manifest = SimpleNamespace(segments={f"d{i:07d}.txt": {"chunks": 1} for i in range(n)})
    assert example_questions(bot, 2, first=new) == [  # in path order, as the index holds them
        "When did Holdings No5 launch the model Alpha?",
        "When did Holdings No77777 launch the model Alpha?",
    ]
    assert len(chunks.read) <= 2 + 300, "the new documents' chunks, then a spread of the rest"
    bot.index.manifest = SimpleNamespace(segments={"elsewhere.txt": {"chunks": n}})
    assert document_chunks(bot, new) == [], "an index laid out otherwise: no document goes first"
