"""`qa eval`: SQuAD's official answer scores, question sets, the SQuAD corpus writer and the summaries."""

from __future__ import annotations

import json

import pytest

from qa.api import QA
from qa.evaluation import (
    contains,
    evaluate,
    exact_match,
    f1_score,
    load_questions,
    normalize_answer,
    squad_corpus,
    summarize,
)
from qa.ingest.documents import read_text
from tests.conftest import FakeEmbedder


# Expected values as computed by SQuAD v1.1's official evaluate-v1.1.py.
@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("The Cat!", "cat"),
        ("  A  quick,  brown fox. ", "quick brown fox"),
        ("an apple and the pear", "apple and pear"),
        ("Denver Broncos", "denver broncos"),
        ("the Theory of Everything", "theory of everything"),
        ("$25 million", "25 million"),
        ("U.S.", "us"),
        ("", ""),
    ],
)
def test_normalize_answer(text, normalized):
    assert normalize_answer(text) == normalized


@pytest.mark.parametrize(
    ("prediction", "gold", "em", "f1"),
    [
        ("Denver Broncos", "Denver Broncos", 1.0, 1.0),
        ("the Denver Broncos", "Denver Broncos", 1.0, 1.0),
        ("Denver Broncos!", "denver broncos", 1.0, 1.0),
        ("Broncos", "Denver Broncos", 0.0, 2 / 3),
        ("the Denver Broncos won", "Denver Broncos", 0.0, 0.8),
        ("Carolina Panthers", "Denver Broncos", 0.0, 0.0),
        ("", "Denver Broncos", 0.0, 0.0),
        ("a the an", "Denver", 0.0, 0.0),
        ("Santa Clara, California", "Santa Clara", 0.0, 0.8),
    ],
)
def test_exact_match_and_f1(prediction, gold, em, f1):
    assert exact_match(prediction, gold) == em
    assert f1_score(prediction, gold) == pytest.approx(f1)


def test_f1_counts_repeated_tokens_once_per_occurrence():
    # common = min(count in prediction, count in gold): "the" is removed, "cat cat" vs "cat" -> 1 common
    assert f1_score("cat cat", "cat") == pytest.approx(2 * 0.5 * 1.0 / 1.5)


def test_contains():
    assert contains("It was founded by Jane Doe in 2019.", "jane doe")
    assert not contains("It was founded in 2019.", "Jane Doe")
    assert not contains("anything", "the")  # an empty gold never counts


def test_load_questions_fills_ids_and_types(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"question": "Who?", "answers": ["Li"]}\n\n{"question": "Tallest mountain?", "answers": []}\n'
        '{"id": "x", "question": "And?", "type": "follow-up", "answers": ["Y"], "history": []}\n',
        encoding="utf-8",
    )
    items = load_questions(path)
    assert [(i["id"], i["type"]) for i in items] == [("q1", "fact"), ("q3", "unanswerable"), ("x", "follow-up")]


def test_bundled_question_set_is_well_formed():
    from qa.evaluation import DEFAULT_QUESTIONS

    items = load_questions(DEFAULT_QUESTIONS)
    assert len(items) >= 20
    corpus_text = read_text(DEFAULT_QUESTIONS.parent.parent / "corpus" / "china-large-model-industry.txt")
    for item in items:
        assert item["question"].strip()
        for gold in item["answers"]:
            assert gold in corpus_text, f"{item['id']}: gold answer {gold!r} is not in the corpus"


SQUAD = {
    "version": "1.1",
    "data": [
        {
            "title": "Super_Bowl_50",
            "paragraphs": [
                {
                    "context": "Super Bowl 50 was an American football game. The Denver Broncos won it.",
                    "qas": [
                        {
                            "id": "q1",
                            "question": "Who won Super Bowl 50?",
                            "answers": [
                                {"text": "Denver Broncos", "answer_start": 49},
                                {"text": "The Denver Broncos", "answer_start": 45},
                                {"text": "Denver Broncos", "answer_start": 49},
                            ],
                        }
                    ],
                },
                {
                    "context": "  The game was played at Levi's Stadium in Santa Clara.\n",
                    "qas": [
                        {
                            "id": "q2",
                            "question": "Where was the game played?",
                            "answers": [{"text": "Levi's Stadium", "answer_start": 27}],
                        }
                    ],
                },
            ],
        },
        {
            "title": "Warsaw / Poland (city)",
            "paragraphs": [
                {
                    "context": "Warsaw is the capital of Poland. It has about 1.7 million people.",
                    "qas": [
                        {
                            "id": "q3",
                            "question": "How many people live in Warsaw?",
                            "answers": [{"text": "1.7 million", "answer_start": 46}],
                        }
                    ],
                }
            ],
        },
    ],
}


def test_squad_corpus_writes_one_document_per_article(tmp_path):
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(SQUAD), encoding="utf-8")
    corpus = tmp_path / "corpus"
    questions = squad_corpus(path, corpus)

    files = sorted(p.name for p in corpus.iterdir())
    assert files == ["00_Super_Bowl_50.txt", "01_Warsaw_Poland_city_.txt"]
    assert [q["id"] for q in questions] == ["q1", "q2", "q3"]
    assert questions[0]["answers"] == ["Denver Broncos", "The Denver Broncos"]
    contexts = {q["id"]: p["context"] for a in SQUAD["data"] for p in a["paragraphs"] for q in p["qas"]}
    for q in questions:
        text = read_text(corpus / q["source"])
        lo, hi = q["paragraph"]
        assert text[lo:hi] == contexts[q["id"]].strip()
        for gold in q["answers"]:
            assert gold in text[lo:hi]
    # paragraphs are separated by blank lines so that the chunker keeps them apart
    assert read_text(corpus / "00_Super_Bowl_50.txt").count("\n\n") == 1

    # writing again changes nothing (the index stays fresh)
    mtimes = {p.name: p.stat().st_mtime_ns for p in corpus.iterdir()}
    assert squad_corpus(path, corpus) == questions
    assert {p.name: p.stat().st_mtime_ns for p in corpus.iterdir()} == mtimes


def test_summarize_handmade_rows():
    rows = [
        {
            "id": "a",
            "type": "fact",
            "found": True,
            "correct": True,
            "hit3": True,
            "f1": 1.0,
            "em": 1.0,
            "rank": 1,
            "abstained_without_article": True,
        },
        {
            "id": "b",
            "type": "fact",
            "found": False,
            "correct": False,
            "hit3": True,
            "f1": 0.0,
            "em": 0.0,
            "rank": 4,
            "abstained_without_article": True,
        },
        {"id": "c", "type": "unanswerable", "found": False},
        {"id": "d", "type": "unanswerable", "found": True},
        # Chinese questions: by type only, never in the headline figures
        {"id": "z1", "type": "zh", "found": True, "correct": True, "hit3": True, "f1": 1.0, "em": 1.0},
        {"id": "z2", "type": "zh-unanswerable", "found": True},
    ]
    s = summarize({"rows": rows, "latencies": [0.010, 0.020, 0.030, 0.040]})
    assert s["questions"] == 4
    assert s["answer_accuracy"] == 0.5
    assert s["hit@3"] == 1.0
    assert s["exact_match"] == 0.5 and s["f1"] == 0.5
    # c abstained, d did not; a and b, asked again without their article, both abstained
    assert s["abstention"] == 0.75
    assert s["false_abstention"] == 0.5
    assert s["recall@1"] == 0.5 and s["recall@5"] == 1.0
    assert s["mrr@10"] == pytest.approx((1 + 1 / 4) / 2, abs=1e-3)
    assert s["recall_curve"] == [0.5, 0.5, 0.5] + [1.0] * 7  # recall@1..@10: ranks 1 and 4
    assert s["p50_ms"] == 25.0
    # a type without answers counts its abstentions
    assert s["accuracy_by_type"] == {"fact": 0.5, "unanswerable": 0.5, "zh": 1.0, "zh-unanswerable": 0.0}


def test_evaluate_runs_every_retriever_on_the_same_questions(shared_index, shared_corpus, capsys):
    bot = QA.load(shared_index, corpus=shared_corpus, embedder=FakeEmbedder())
    questions = [
        {"id": "1", "question": "Who founded Acme Robotics?", "type": "fact", "answers": ["Jane Doe"]},
        {"id": "2", "question": "When was Acme Robotics founded?", "type": "fact", "answers": ["March 2019"]},
        {"id": "3", "question": "What is the tallest mountain in Japan?", "type": "unanswerable", "answers": []},
    ]
    report = evaluate(bot, questions, "tiny")
    assert set(report["summary"]) == {"hybrid", "dense", "bm25"}
    hybrid = report["summary"]["hybrid"]
    assert hybrid["questions"] == 3
    assert hybrid["answer_accuracy"] == 1.0
    assert hybrid["abstention"] == 1.0
    assert "tiny" in capsys.readouterr().out
    for mode, rows in report["rows"].items():
        assert [r["id"] for r in rows] == ["1", "2", "3"], mode
