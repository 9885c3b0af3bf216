"""The span reader: the shipped int8 model, its spans as exact offsets, and how extraction uses it."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.answering.fitted import MODELS, default_reader
from qa.answering.ranking import SURE
from qa.answering.reading import MAX_ANSWER_TOKENS, Reader
from qa.api import QA, build
from qa.errors import ConfigError
from qa.settings import AnswerSettings
from tests.conftest import FakeEmbedder, assert_verifiable, write_corpus


@pytest.fixture(scope="module")
def reader() -> Reader:
    return default_reader()


def test_the_shipped_model_is_the_one_its_record_describes():
    meta = json.loads((MODELS / "reader.json").read_text(encoding="utf-8"))
    data = (MODELS / "reader.onnx").read_bytes()
    assert hashlib.sha256(data).hexdigest() == meta["sha256"]
    assert len(data) <= 30 * 1024 * 1024, "the issue caps shipped reader weights at 30 MB"
    assert meta["layers"] == default_reader().layers


@pytest.mark.parametrize(
    ("question", "text", "words"),
    [
        ("When did the war end?", "The war ended in 1945, and the treaty was signed two years later.", "1945"),
        ("Who founded the company?", "The company was founded in 1998 by Ada Lovelace in a garage.", "Ada Lovelace"),
        ("How many people live in the city?", "About 1.7 million people live in the city.", "1.7 million"),
        ("Where was the treaty signed?", "The treaty was signed in Paris, two years after the war.", "Paris"),
    ],
)
def test_the_reader_finds_the_words_that_answer(reader, question, text, words):
    (span,) = reader.read(question, [text])
    assert words in text[span.start : span.end]
    assert span.end - span.start <= len(words) + 12, text[span.start : span.end]
    assert span.score > 0


def test_a_sentence_that_answers_outscores_one_that_does_not(reader):
    q = "When did the war end?"
    good, bad = reader.read(q, ["The war ended in 1945.", "The city has a large harbour and two bridges."])
    assert good.score > 0 > bad.score


def test_a_texts_score_does_not_depend_on_what_is_read_beside_it(reader):
    q = "Who designed the bridge?"
    texts = ["The bridge was designed by Isambard Brunel.", "It opened in 1864 after years of delay and debate."]
    together = reader.read(q, texts)
    alone = [reader.read(q, [t])[0] for t in texts]
    for a, b in zip(together, alone, strict=True):
        assert (a.start, a.end) == (b.start, b.end)
        assert a.score == b.score


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    question=st.text(min_size=1, max_size=80),
    texts=st.lists(st.text(min_size=0, max_size=400), min_size=1, max_size=3),
)
def test_spans_are_offsets_inside_each_text(reader, question, texts):
    for text, span in zip(texts, reader.read(question, texts), strict=True):
        if span.score == float("-inf"):
            assert not text.strip() or not reader.tokenizer.encode(text, add_special_tokens=False).ids
            continue
        assert 0 <= span.start < span.end <= len(text)
        assert np.isfinite(span.score)


def test_a_long_text_is_read_up_to_the_window_without_error(reader):
    text = "The harbour was busy. " * 200 + "The war ended in 1945."
    (span,) = reader.read("When did the war end?", [text])
    assert 0 <= span.start < span.end <= len(text)


def test_spans_are_at_most_the_answer_length(reader):
    text = " ".join(f"word{i}" for i in range(150))
    (span,) = reader.read("Which words?", [text])
    assert len(reader.tokenizer.encode(text[span.start : span.end], add_special_tokens=False).ids) <= MAX_ANSWER_TOKENS


def test_no_texts_no_spans(reader):
    assert reader.read("Anything?", []) == []


def test_a_missing_model_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"reader model .*nothing\.onnx is missing"):
        Reader.load(tmp_path / "nothing.onnx")


LOCKERS = {
    "a.txt": "Locker 1234 opens with code 8641.\n",
    "b.txt": "Locker 2071 opens with code 14500.\n",
    "c.txt": "The canteen reopened in March 2021 after the renovation.\n",
}


@pytest.fixture(scope="module")
def lockers(tmp_path_factory):
    root = tmp_path_factory.mktemp("lockers")
    corpus = write_corpus(root / "c", LOCKERS)
    build(corpus, root / "i", embedder=FakeEmbedder())
    return corpus, root / "i"


def _bot(lockers, n: int) -> QA:
    corpus, index = lockers
    return QA.load(index, corpus=corpus, embedder=FakeEmbedder(), settings=AnswerSettings(read_sentences=n))


def test_the_answer_is_the_readers_span_inside_its_sentence(lockers):
    answer = _bot(lockers, 3).answer("When did the canteen reopen?")
    assert answer.found
    assert answer.text == "March 2021"
    assert answer.text in answer.sentence and answer.text != answer.sentence
    assert_verifiable(answer, lockers[0])


def test_the_reader_cannot_pick_a_sentence_that_lacks_the_questions_terms(lockers):
    """The reader alone prefers locker 2071's sentence; the question's own number must keep 1234's."""
    bot = _bot(lockers, 3)
    q = "Which code opens locker 1234?"
    a, b = bot.reader.read(q, [LOCKERS["a.txt"].strip(), LOCKERS["b.txt"].strip()])
    assert b.score > a.score, "the premise: the reader alone is fooled here"
    answer = bot.answer(q)
    assert answer.source == "a.txt" and "8641" in answer.text


def test_without_the_reader_no_model_is_loaded_and_rules_answer(lockers):
    bot = _bot(lockers, 0)
    assert bot.reader is None
    got = bot.choose("When did the canteen reopen?").extract
    assert got.features.reader == 0.0, "no reader, no reader score"
    answer = bot.answer("When did the canteen reopen?")
    assert answer.found and "March 2021" in answer.text  # the typed date span of the rules
    assert_verifiable(answer, lockers[0])


def test_a_sure_first_sentence_spares_reading_the_others(lockers, monkeypatch):
    bot = _bot(lockers, 3)
    q = "When did the canteen reopen?"
    real = bot.reader.read
    (first,) = real(q, [LOCKERS["c.txt"].strip()])
    assert first.score >= SURE, "the premise: the reader is sure of this sentence"
    calls = []
    monkeypatch.setattr(bot.reader, "read", lambda q, texts, avoid=(): calls.append(texts) or real(q, texts))
    assert bot.answer(q).text == "March 2021"
    assert calls == [[LOCKERS["c.txt"].strip()]], "only the first sentence was read"


@pytest.mark.parametrize(
    ("span", "restates"),
    [
        ("Lingxin Intelligent Company", True),
        ("the Lingxin company", True),  # stopwords and word forms aside, only the question's words
        ("Huang Minlie", False),
        ("Lingxin, founded by Huang Minlie", False),
        ("the", False),  # no content words at all: not a restatement
    ],
)
def test_a_span_of_only_the_questions_words_restates_it(span, restates):
    assert Reader._restates("Who founded Lingxin Intelligent Companies?", span) is restates


def test_a_restating_best_span_gives_way_to_the_next_that_answers(reader):
    question = "Who founded Lingxin Intelligent Company?"
    text = "Lingxin Intelligent Company was founded by Huang Minlie."
    _, _, _, _, ctx = reader._features(question, [text])
    offsets = ctx[0][1]
    n = len(offsets)
    pair = np.full((n, n), -np.inf)

    def span(words: str) -> tuple[int, int]:  # the tokens that cover `words` exactly
        lo = text.index(words)
        first = next(i for i, (a, _) in enumerate(offsets) if a == lo)
        last = next(i for i, (_, b) in enumerate(offsets) if b == lo + len(words))
        return first, last

    pair[span("Lingxin Intelligent Company")] = 9.0  # the question's own words, scored best
    pair[span("Huang Minlie")] = 7.0
    pair[span("founded by Huang Minlie")] = 5.0
    a, b = reader._answering(question, text, pair, offsets)
    assert text[offsets[a][0] : offsets[b][1]] == "Huang Minlie"
    pair[span("Huang Minlie")] = pair[span("founded by Huang Minlie")] = -np.inf
    assert reader._answering(question, text, pair, offsets) is None  # nothing else: the caller keeps the best
