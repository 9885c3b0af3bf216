"""`qa eval --coqa`: CoQA conversations asked in order over all stories, and the conversation model fitted on them."""

from __future__ import annotations

import json

import pytest

from qa import coqa
from qa.answering.conversation_model import FEATURES, ConversationModel
from qa.api import QA, build
from qa.errors import ConfigError
from tests.conftest import FakeEmbedder

STORIES = [
    (
        "mctest",
        "Acme Robotics was founded by Jane Doe in March 2019. The company builds warehouse robots in Boston. "
        "It raised 25 million dollars in its first round.",
        [("Who founded Acme Robotics?", "Jane Doe"), ("When did she found it?", "March 2019"),
         ("Does it build robots?", "yes"), ("What is her favourite colour?", "unknown"),
         ("What does the company build?", "warehouse robots")],
    ),
    (
        "race",
        "The Walker robot carries boxes up to 40 kilograms. The Lifter robot stacks pallets in cold storage. "
        "Dr. Smith designed the Walker robot in October 2020.",
        [("What does the Walker robot carry?", "boxes"), ("How heavy can they be?", "40 kilograms"),
         ("Who designed it?", "Dr. Smith"), ("And the Lifter robot?", "stacks pallets")],
    ),
    (
        "cnn",
        "The harbour of Ghent ships grain to Norway. The depot there shipped 4,200 pallets last year. "
        "Its manager is Anna Berg.",
        [("What does the harbour of Ghent ship?", "grain"), ("Where to?", "Norway"),
         ("Who is the depot's manager?", "Anna Berg"), ("How many pallets did it ship?", "4,200 pallets")],
    ),
    (
        "science",
        "Copper conducts electricity well. Wires are made of copper because it is cheap. "
        "Silver conducts better but costs more.",
        [("What conducts electricity well?", "Copper"), ("Why are wires made of it?", "because it is cheap"),
         ("What conducts better?", "Silver"), ("Is it cheaper?", "no")],
    ),
]  # fmt: skip


def coqa_file(path):
    data = []
    for i, (source, story, qas) in enumerate(STORIES):
        answers = []
        for n, (_, a) in enumerate(qas, 1):
            at = story.find(a) if a not in ("yes", "no", "unknown") else -1
            answers.append(
                {"input_text": a, "turn_id": n, "span_start": at, "span_end": at + len(a) if at >= 0 else -1}
            )
        data.append(
            {
                "source": source,
                "id": f"story{i}",
                "story": story,
                "questions": [{"input_text": q, "turn_id": n} for n, (q, _) in enumerate(qas, 1)],
                "answers": answers,
                "additional_answers": {"0": answers},
            }
        )
    path.write_text(json.dumps({"canary": "test", "data": data}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def coqa_bot(tmp_path_factory):
    root = tmp_path_factory.mktemp("coqa")
    path = coqa_file(root / "coqa.json")
    turns = coqa.load(path, root / "corpus")
    build(root / "corpus", root / "index", embedder=FakeEmbedder())
    return QA.load(root / "index", corpus=root / "corpus", embedder=FakeEmbedder(), on_stale="error"), turns


def test_load_writes_one_document_per_story_and_asks_with_the_gold_history(tmp_path):
    turns = coqa.load(coqa_file(tmp_path / "c.json"), tmp_path / "corpus")
    assert len(list((tmp_path / "corpus").iterdir())) == len(STORIES)
    assert len(turns) == sum(len(qas) for _, _, qas in STORIES)
    first, second = turns[0], turns[1]
    assert (first.number, first.history) == (1, ())
    assert second.history == (
        {"role": "user", "content": "Who founded Acme Robotics?"},
        {"role": "assistant", "content": "Jane Doe"},
    )
    kinds = {t.question: t.kind for t in turns}
    assert kinds["Does it build robots?"] == "yes/no"
    assert kinds["What is her favourite colour?"] == "unknown"
    assert kinds["When did she found it?"] == "extractive"
    assert {t.domain for t in turns if t.fitted_on} == {"race", "science"}
    assert (tmp_path / "corpus" / first.story).read_text(encoding="utf-8").startswith("Acme Robotics was founded")


def test_summarize_handmade_rows():
    rows = [
        {"kind": "extractive", "turn": 2, "correct": True, "f1": 1.0, "story_first": True, "found": True, "ms": 2},
        {"kind": "extractive", "turn": 3, "correct": False, "f1": 0.5, "story_first": False, "found": True, "ms": 4},
        {"kind": "extractive", "turn": 1, "correct": True, "f1": 1.0, "story_first": True, "found": True, "ms": 3},
        {"kind": "unknown", "turn": 4, "found": False, "story_first": True, "ms": 1},
        {
            "kind": "yes/no",
            "turn": 5,
            "found": True,
            "marked_yes_no": True,
            "evidence": False,
            "story_first": 1,
            "ms": 5,
        },
    ]
    s = coqa.summarize(rows)
    assert s["accuracy (later)"] == 0.5 and s["f1 (later)"] == 0.75 and s["story first (later)"] == 0.5
    assert s["accuracy (first turns)"] == 1.0 and s["unknown abstained"] == 1.0
    assert s["yes/no marked"] == 1.0 and s["yes/no evidence"] == 0.0 and s["p50_ms"] == 3


def test_a_turn_is_asked_with_and_without_its_history(coqa_bot):
    bot, turns = coqa_bot
    later = next(t for t in turns if t.question == "When did she found it?")
    with_history, alone = coqa.ask(bot, later, True), coqa.ask(bot, later, False)
    assert with_history["query"] == "When did Jane Doe found Acme Robotics?"
    assert alone["query"] == "When did she found it?"
    assert with_history["correct"] and with_history["story_first"]
    yes_no = coqa.ask(bot, next(t for t in turns if t.kind == "yes/no"), True)
    assert yes_no["marked_yes_no"] is True


def test_qa_eval_coqa_reports_both_parts_with_and_without_history(coqa_bot, tmp_path, monkeypatch, capsys):
    from qa import cli
    from qa.index import embedding

    monkeypatch.setattr(coqa, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(embedding, "load_embedder", lambda name: FakeEmbedder())
    path = coqa_file(tmp_path / "coqa.json")
    assert cli.main(["eval", "--coqa", str(path), "--report", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "reported, with history" in out and "fitted, without history" in out
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert set(report["summary"]) == {
        "reported, with history",
        "reported, without history",
        "fitted, with history",
        "fitted, without history",
    }
    assert len(report["rows"]) == 2 * sum(len(qas) for _, _, qas in STORIES)


def test_fit_and_save_writes_a_conversation_model_the_product_loads(coqa_bot, tmp_path):
    from qa.conversation_fit import fit_and_save

    bot, turns = coqa_bot
    report = fit_and_save(bot, turns, "coqa.json", tmp_path / "conversation.json")
    model = ConversationModel.load(tmp_path / "conversation.json")
    assert report["features"] == list(FEATURES) and len(model.weights) == len(FEATURES)
    assert report["held_out"]["questions"] > 0


def test_a_conversation_model_fitted_on_other_features_is_refused(tmp_path):
    path = tmp_path / "conversation.json"
    path.write_text(json.dumps({"features": ["confidence"], "weights": [1.0], "bias": 0.0}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"conversation\.json"):
        ConversationModel.load(path)
    with pytest.raises(ConfigError, match="weights"):
        ConversationModel((1.0,), 0.0)


def test_without_a_fit_the_more_confident_reading_wins():
    from qa.answering.conversation_model import ReadingFeatures

    model = ConversationModel.confidence_only()
    sure = ReadingFeatures(2.0, 1.0, 0.5, 0.0, 0.0, 0.0, 0.0)
    unsure = ReadingFeatures(-1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0)
    assert model.score(sure) > model.score(unsure)
