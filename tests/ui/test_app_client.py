"""End to end: the real app (real model, the bundled index built on first use) driven over HTTP by gradio_client."""

from __future__ import annotations

import html
import os
import re
import shutil
from pathlib import Path

import pytest

from qa.api import QA, default_qa
from qa.index import read_manifest
from ui.app import build_app
from ui.examples import example_questions
from ui.render import NOT_FOUND

pytestmark = pytest.mark.e2e

SOURCE = "china-large-model-industry.txt"


@pytest.fixture(scope="module")
def client(serve):
    with serve(build_app()) as c:
        yield c


def test_endpoints(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/chat", "/rebuild"} <= set(endpoints)
    chat = endpoints["/chat"]["parameters"]
    assert [p["parameter_name"] for p in chat] == ["message", "history", "quotes", "threshold"]
    assert [p["parameter_has_default"] for p in chat] == [False, True, True, True]
    assert endpoints["/rebuild"]["parameters"] == []
    assert {"/add", "/remove", "/stop"} <= set(endpoints)
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"


def test_answer_with_quote_and_citation(client, ask, text):
    reply, history = ask(client, "Which company launched Pangu Chat?")
    assert "Huawei" in reply
    assert re.search(rf"{re.escape(SOURCE)}, paragraph \d+ \(line \d+\), characters \d+-\d+", html.unescape(reply))
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert text(history[0]) == "Which company launched Pangu Chat?"


def test_follow_up_takes_the_history(client, ask):
    _, history = ask(client, "Which company launched Pangu Chat?")
    reply, history = ask(client, "And Tencent?", history)
    assert len(history) == 4
    assert "Tencent" in reply


def test_question_outside_the_documents_is_not_found(client, ask):
    reply, _ = ask(client, "What is the tallest mountain in Japan?")
    assert reply.startswith(NOT_FOUND)
    assert "<mark>" not in reply


@pytest.mark.parametrize("question", ["", "   ", "x" * 5000])
def test_bad_question_gets_the_error_message(client, ask, question):
    reply, history = ask(client, question)
    assert reply.startswith("⚠️ the question")
    assert len(history) == (2 if question.strip() else 1)


def test_examples_are_answered(client, ask):
    examples = example_questions(default_qa())
    assert len(examples) == 4
    for question in examples:
        assert default_qa().answer(question).found, question
        reply, _ = ask(client, question)
        assert not reply.startswith((NOT_FOUND, "⚠️")), question


def test_rebuild_reindexes_and_reloads(tmp_path: Path, serve, ask, bundled):
    shutil.copytree(bundled[0], tmp_path / "corpus")
    index = tmp_path / "index"
    embedder = default_qa().embedder

    def factory() -> QA:
        return QA.load(index, corpus=tmp_path / "corpus", embedder=embedder)

    with serve(build_app(factory)) as c:
        before = read_manifest(index).build_id
        (tmp_path / "corpus" / "extra.txt").write_text("The depot in Ghent opened in 1998.", encoding="utf-8")
        status, _, _ = c.predict(api_name="/rebuild")
        assert re.fullmatch(r"Indexed 2 documents, \d+ chunks · model .+ · built .+", status), status
        assert read_manifest(index).build_id != before
        reply, _ = ask(c, "When did the depot in Ghent open?")
        assert "1998" in reply
        reply, _ = ask(c, "Which company launched Pangu Chat?")
        assert "Huawei" in reply
        shutil.rmtree(tmp_path / "corpus")  # nothing to index: an error message, not a crash
        assert c.predict(api_name="/rebuild")[0].startswith("⚠️ ")
