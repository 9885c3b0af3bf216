"""The app in a real browser: ask, check the source, add PDF and Word files, remove one, and stay safe.

Runs the real bundled model, the real FAISS index and the real Gradio app in headless Chromium.
Set QA_SCREENSHOT=path.png to keep a screenshot of the first reply (the README's picture), and one of its
source opened beside it (path-source.png).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.conftest import make_docx, make_pdf

pytestmark = pytest.mark.e2e
TIMEOUT = 60_000


def ask(page, question: str):
    """Type a question, press Ask, return the new bot message once it has arrived."""
    before = page.locator('#chat [data-testid="bot"]').count()
    # the app empties the box in a step after each reply: typing before that step is lost
    page.wait_for_function("document.querySelector('#question textarea').value === ''", timeout=TIMEOUT)
    page.fill("#question textarea", question)
    page.click("#ask")
    # the reply is whole once it states its confidence (found or not); a pending bubble does not
    page.wait_for_function(
        f"(document.querySelectorAll('#chat [data-testid=\"bot\"]')[{before}] || {{}})"
        ".innerText?.includes('confidence')",
        timeout=TIMEOUT,
    )
    return page.locator('#chat [data-testid="bot"]').nth(before)


def open_documents(page):
    page.get_by_role("tab", name="Documents").click()
    page.wait_for_selector("#upload")


def test_answer_is_highlighted_with_its_citation_and_opens_in_its_document(page):
    reply = ask(page, "Which company launched Pangu Chat?")
    assert reply.locator("strong").first.inner_text() == "Huawei"
    assert reply.locator("blockquote mark").first.inner_text() == "Huawei"
    assert re.search(
        r"china-large-model-industry\.txt, paragraph \d+ \(line \d+\), characters \d+-\d+", reply.inner_text()
    )
    assert "confidence 0." in reply.inner_text()
    assert reply.locator("span.confidence").inner_text() == "sure"
    shot = os.environ.get("QA_SCREENSHOT")
    if shot:
        page.screenshot(path=shot)
    source = reply.locator("details.source").first
    assert not source.locator("div").is_visible()
    source.locator("summary").click()
    assert source.locator("div").is_visible()
    assert source.locator("div mark").inner_text() == "Huawei"
    assert "Baidu leads the pack" in source.locator("div").inner_text(), "the neighbouring text is shown"
    if shot:
        source.evaluate("el => el.scrollIntoView({block: 'center'})")
        page.screenshot(path=str(Path(shot).with_name(Path(shot).stem + "-source.png")))


def test_a_chinese_question_is_answered_with_the_articles_words_and_says_how_it_was_read(page):
    reply = ask(page, "腾讯的大模型叫什么？")
    assert "HunYuan" in reply.locator("strong").first.inner_text()
    assert "HunYuan" in reply.locator("blockquote mark").first.inner_text()
    assert "Read in English, word by word, as: what is Tencent big model?" in reply.inner_text()


def test_an_unanswerable_question_says_not_found_and_shows_the_nearest_passages(page):
    reply = ask(page, "What is the boiling point of mercury in Kelvin?")
    text = reply.inner_text()
    assert text.startswith("Not found in the documents.")
    assert "Nearest 3 passages (they may not answer it)" in text
    assert reply.locator("mark").count() == 0
    assert not reply.locator("blockquote").first.is_visible(), "the nearest passages are folded"


def test_settings_change_the_number_of_quotes(page):
    page.get_by_role("button", name="Answer settings").click()
    page.fill("#quotes input[type=number]", "1")
    page.press("#quotes input[type=number]", "Tab")
    # the slider follows the number box asynchronously; on a busy machine, not at once
    page.wait_for_function("document.querySelector('#quotes input[type=range]').value === '1'", timeout=TIMEOUT)
    reply = ask(page, "Which company launched Pangu Chat?")
    assert reply.locator("blockquote").count() == 1


def test_upload_pdf_and_docx_ask_about_them_then_remove_one(page, tmp_path):
    pdf = tmp_path / "depot-report.pdf"
    pdf.write_bytes(make_pdf(["Annual report of the Ghent depot.", "The Ghent depot shipped 4,200 pallets in 2023."]))
    docx = tmp_path / "canteen-memo.docx"
    docx.write_bytes(make_docx(["Staff memo", "The canteen reopened on 4 March 2024 after repairs."]))
    bad = tmp_path / "notes.exe"
    bad.write_bytes(b"MZ")
    open_documents(page)
    page.set_input_files("#upload input[type=file]", [str(pdf), str(docx), str(bad)])
    page.wait_for_function("document.querySelector('#upload').innerText.includes('canteen-memo')", timeout=TIMEOUT)
    page.click("#add")
    page.wait_for_function("document.querySelector('#results').innerText.includes('depot-report.pdf')", timeout=TIMEOUT)
    results = page.inner_text("#results")
    assert re.search(r"depot-report\.pdf\s+indexed", results), results
    assert re.search(r"canteen-memo\.docx\s+indexed", results), results
    assert re.search(r"notes\.exe\s+refused\s+not a supported type", results), results
    sources = page.inner_text("#sources")
    assert re.search(r"depot-report\.pdf\s+indexed\s+pdf\s+\d+", sources), sources
    assert "canteen-memo.docx" in sources and "china-large-model-industry.txt" in sources
    assert "added" in page.inner_text("#status")

    page.get_by_role("tab", name="Chat").click()
    reply = ask(page, "How many pallets did the Ghent depot ship?")
    assert "4,200" in reply.locator("mark").first.inner_text()
    assert "depot-report.pdf, page 2, paragraph" in reply.inner_text()
    reply = ask(page, "When did the canteen reopen?")
    assert "4 March 2024" in reply.locator("mark").first.inner_text(timeout=5_000), reply.inner_text()
    assert re.search(r"canteen-memo\.docx, paragraph \d+ \(line \d+\)", reply.inner_text())

    open_documents(page)
    page.click("#to-remove input")
    page.get_by_role("option", name="canteen-memo.docx").click()
    page.click("#remove")
    page.click("#confirm-yes")  # removing asks first (tests/browser/test_documents_tab.py)
    page.wait_for_function("!document.querySelector('#sources').innerText.includes('canteen-memo')", timeout=TIMEOUT)
    assert "1 removed" in page.inner_text("#status")
    page.get_by_role("tab", name="Chat").click()
    reply = ask(page, "When did the canteen reopen?")
    assert "canteen-memo.docx" not in reply.inner_text()


def test_document_text_cannot_run_or_load_anything(page, app, tripwire):
    port, hits = tripwire
    evil = f"http://127.0.0.1:{port}"
    payload = (
        "Project Falcon's launch code is ZEBRA-42. "
        f"<script>window.__xss = 1</script><img src='{evil}/img.png' onerror='window.__xss = 2'> "
        f"![pixel]({evil}/md.png) [click me](javascript:window.__xss=3) <iframe src='{evil}/frame'></iframe> "
        f"<a href='{evil}/link'>link</a> {evil}/bare"
    )
    # a text file keeps the markup as written (a Markdown file is read as rendered text, its tags dropped)
    (app["corpus"] / "falcon.txt").write_text(f"Falcon\n\n{payload}\n", encoding="utf-8")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_documents(page)
    page.click("#rebuild")
    page.wait_for_function("document.querySelector('#sources').innerText.includes('falcon.txt')", timeout=TIMEOUT)
    page.get_by_role("tab", name="Chat").click()
    reply = ask(page, "What is Project Falcon's launch code?")
    reply.locator("details.source summary").first.click()
    page.wait_for_timeout(1000)
    text = reply.inner_text()
    assert "ZEBRA-42" in text
    assert "<script>window.__xss = 1</script>" in text, "the markup is shown as text"
    assert f"![pixel]({evil}/md.png)" in text
    assert page.evaluate("window.__xss") is None
    for tag in ("script", "img", "iframe", "a"):
        assert reply.locator(tag).count() == 0, tag
    assert hits == [] and dialogs == []
