"""How a reply looks in a real browser: the answer in view, one width, examples that ask, one font.

Runs the real bundled model, the real FAISS index and the real Gradio app in headless Chromium.
"""

from __future__ import annotations

import pytest

from tests.browser.test_chat_in_browser import TIMEOUT, ask

pytestmark = pytest.mark.e2e

# resolves once the chat has not scrolled for 500 ms: Gradio's own scrolling, 300 ms after a reply, is over
SETTLED = """() => new Promise((resolve) => {
  const log = document.querySelector('#chat [role=log]');
  let timer = setTimeout(resolve, 500);
  log.addEventListener('scroll', () => { clearTimeout(timer); timer = setTimeout(resolve, 500); });
})"""


def visible_part(page) -> dict:
    return page.locator("#chat [role=log]").bounding_box()


def inside(box: dict, area: dict) -> bool:
    return box["y"] >= area["y"] - 1 and box["y"] + box["height"] <= area["y"] + area["height"] + 1


QUESTIONS = [
    "Which company launched Pangu Chat?",
    "What are the Four AI Tigers?",
    "When did SenseTime unveil its strategic plan for AI development?",
    "What did the U.S. Department of Commerce restrict in October 2022?",
]


def test_each_reply_with_three_quotes_opens_with_its_answer_in_view(page):
    for question in QUESTIONS:
        reply = ask(page, question)
        page.evaluate(SETTLED)
        assert reply.locator("blockquote").count() == 3, "a reply with three quotes"
        answer = reply.locator("p").first.locator("strong")
        assert answer.inner_text(), question
        assert inside(answer.bounding_box(), visible_part(page)), f"the answer to {question!r} is out of view"
        citation = reply.locator("details.source summary").first
        assert inside(citation.bounding_box(), visible_part(page)), "and where it is from"
        assert reply.locator("blockquote:visible").count() == 1, "the other passages are folded"


def reply_width(page) -> float:
    """The width of the last reply's bubble (its row: the box drawn around it)."""
    return page.locator("#chat .message-row.bot-row").last.bounding_box()["width"]


def test_every_reply_has_the_same_width(page):
    page.click("#ask")  # an empty question: a one-line message
    page.wait_for_function(
        "document.querySelector('#chat [data-testid=\"bot\"]')?.innerText.includes('the question is empty')",
        timeout=TIMEOUT,
    )
    widths = [reply_width(page)]
    ask(page, "Which company launched Pangu Chat?")
    widths.append(reply_width(page))
    ask(page, "What is the boiling point of mercury in Kelvin?")
    widths.append(reply_width(page))
    assert max(widths) - min(widths) < 1, widths


def test_clicking_an_example_asks_it(page):
    example = page.locator("#examples button.example").first
    question = example.inner_text()
    assert question.startswith(("When ", "How many ", "Who ", "What is ")), question
    example.click()
    page.wait_for_function(
        "(document.querySelector('#chat [data-testid=\"bot\"]') || {}).innerText?.includes('confidence')",
        timeout=TIMEOUT,
    )
    assert page.locator('#chat [data-testid="user"]').first.inner_text() == question
    reply = page.locator('#chat [data-testid="bot"]').first
    assert reply.locator("span.confidence").count() == 1, reply.inner_text()  # found, not "Not found"
    assert reply.locator("blockquote.passage mark").count() >= 1


def fonts_of(page, selector: str) -> list[str]:
    """The font families Chromium drew a node's text with (DevTools' platform fonts)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    return sorted({f["familyName"] for f in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]})


def test_the_title_and_bold_text_are_drawn_in_one_font(page):
    page.evaluate("document.fonts.ready")
    title = fonts_of(page, "h1")
    assert len(title) == 1 and title[0].startswith("Source Sans"), title  # not half in a fallback font
    ask(page, "Which company launched Pangu Chat?")
    page.evaluate("document.fonts.ready")
    assert fonts_of(page, '#chat [data-testid="bot"] p strong') == title
