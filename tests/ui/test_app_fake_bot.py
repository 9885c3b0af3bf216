"""The app's wiring with a stand-in bot (no model): errors become chat messages, never crashes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from qa.answers import Answer, Quote
from qa.api import check_question
from qa.errors import IndexMissingError
from ui.app import build_app, describe


class FakeBot:
    def __init__(self) -> None:
        manifest = SimpleNamespace(
            model="fake-model",
            built_at="2026-01-01T00:00:00Z",
            build_id="20260101T000000-fake",
            documents={"a.txt": "0"},
            corpus=".",
            counts={},
            sources=lambda: [],
        )
        chunk = SimpleNamespace(
            text="Pangu Chat is made by Huawei.", heading="Giants", source="a.txt", start=0, sentences=((0, 29),)
        )
        text = "Pangu Chat is made by <b>Huawei</b>."
        self.index = SimpleNamespace(manifest=manifest, chunks=(chunk,), path=".", texts={"a.txt": text})
        self.asked: list[tuple[str, list]] = []
        self.settings: list[tuple[int, float]] = []

    def answer(self, question, history=None, top_k=3, threshold=0.5):
        self.asked.append((question, history))
        self.settings.append((top_k, threshold))
        question = check_question(question)
        if question == "boom":
            raise ZeroDivisionError("bug")
        quote = Quote("Pangu Chat is made by <b>Huawei</b>.", "a.txt", 0, 36, 1.0, 1, 1, "", (25, 31))
        return Answer(question, True, "<b>H", 0.9, (quote,))


@pytest.fixture(scope="module")
def fake(serve):
    bot = FakeBot()
    with serve(build_app(lambda: bot)) as client:
        yield bot, client


def test_status_line_names_the_index():
    assert describe(FakeBot()) == "Index: 1 document, 1 chunk · model fake-model · built 2026-01-01T00:00:00Z"


def test_reply_is_rendered_and_history_passed_to_answer(fake, ask):
    bot, client = fake
    reply, history = ask(client, "Who makes <Pangu> Chat?")
    assert reply.startswith("**&lt;b&gt;H**\n")
    assert "confidence 0.90</small>" in reply.splitlines()[1]
    assert "made by &#60;b&#62;<mark>Huawei</mark>&#60;/b&#62;." in reply
    assert history[0]["content"][0]["text"] == "Who makes &lt;Pangu&gt; Chat?"
    ask(client, "And Tencent?", history)
    question, passed = bot.asked[-1]
    assert question == "And Tencent?"
    assert [m["role"] for m in passed] == ["user", "assistant"]
    assert bot.settings[-1] == (3, 0.5), "the settings' defaults reach answer()"
    client.predict("Again?", [], 5, 0.9, api_name="/chat")
    assert bot.settings[-1] == (5, 0.9)


def test_a_citation_opens_the_passage_in_its_document_as_text(fake, ask):
    reply, _ = ask(fake[1], "Who makes it?")
    summary = "a.txt, paragraph 1 &#40;line 1&#41;, characters 0&#45;36"
    assert f'<details class="source"><summary>{summary}</summary>' in reply
    assert "<strong>Pangu Chat is made by &#60;b&#62;<mark>Huawei</mark>&#60;/b&#62;.</strong>" in reply


def test_a_bug_in_answer_is_reported_not_raised(fake, ask):
    reply, _ = ask(fake[1], "boom")
    assert reply == "⚠️ could not answer \\(ZeroDivisionError\\); see the server log"


def test_app_without_an_index_still_starts_and_says_why(serve, ask):
    def factory():
        raise IndexMissingError("no index in /nowhere; run `qa index` to build it")

    with serve(build_app(factory)) as client:
        reply, _ = ask(client, "Anything?")
        assert reply == "⚠️ no index in /nowhere; run \\`qa index\\` to build it"
        assert client.predict(api_name="/rebuild")[0].startswith("⚠️ no index in /nowhere")
