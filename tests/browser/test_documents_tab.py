"""The Documents tab in a real browser: one progress display with a time left, examples from the documents just
added, removal that asks first, Restore, and documents added by the CLI noticed within seconds.

Set QA_SCREENSHOT_DOCUMENTS=docs/screenshot-documents.png to keep a screenshot of the tab during a build.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time

import pytest

from tests.browser.test_chat_in_browser import TIMEOUT, ask, open_documents

pytestmark = pytest.mark.e2e

FACTS = {
    "harbour-report.txt": [
        "The Ghent harbour report covers the year 2023.",
        "In March 2021, the Port of Ghent opened the North Dock.",
        "The North Dock handled 4,200 ships in 2023.",
    ],
    "orchard-notes.md": [
        "# Orchard notes",
        "In April 2022, the Vandamme orchard planted 300 pear trees.",
        "The orchard harvested 18 tonnes of Conference pears in 2023.",
    ],
    "rail-memo.txt": [
        "Rail freight memo for the Antwerp yard.",
        "In June 2020, Antwerp Rail opened the Zomergem freight line.",
        "The Zomergem line carried 96 trains a week in 2023.",
    ],
}
NEW_WORDS = re.compile(r"Ghent|North Dock|Vandamme|orchard|pear|Antwerp|Zomergem|harbour")
LOG_LINES = 900  # about 950 sentences a document: each is a group of its own, so the build reports twice midway
ETA = re.compile(r"(about \d+ (s|min)|a few seconds) left")

# Progress displays a person sees: ours, and any Gradio status tracker (its bar, its text) not faded out.
VISIBLE_PROGRESS = """() => {
  const shown = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.display === 'none' || s.visibility === 'hidden' || parseFloat(s.opacity) === 0) return false;
    }
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const ours = [...document.querySelectorAll('#build-progress .build.running')].filter(shown).length;
  const theirs = [...document.querySelectorAll('.progress-text, .eta-bar, .progress-level, .progress-bar, .meta-text')]
    .filter(shown).map((el) => (el.closest('[id]') || {}).id || el.className);
  return {ours, theirs};
}"""


def documents(tmp_path):
    rng = random.Random(7)
    things = {"harbour": ("crane", "containers", "berth"), "orchard": ("picker", "crates", "row")}
    things["rail"] = ("shunter", "wagons", "track")
    paths = []
    for name, facts in FACTS.items():
        who, what, where = things[name.split("-")[0]]
        log = " ".join(
            f"On day {d}, {who} {rng.randint(1, 40)} moved {rng.randint(10, 900)} {what} to {where} {d % 30 + 1}."
            for d in range(1, LOG_LINES + 1)
        )
        path = tmp_path / name
        path.write_text("\n\n".join(facts) + "\n\nDaily log.\n\n" + log + "\n", encoding="utf-8")
        paths.append(str(path))
    return paths


def test_adding_three_documents_shows_one_progress_display_with_a_time_left_then_their_examples(page, tmp_path):
    open_documents(page)
    assert page.is_disabled("#stop"), "Stop is off while no build of this page runs"
    assert "No build running" in page.inner_text("#build-progress")
    page.set_input_files("#upload input[type=file]", documents(tmp_path))
    page.wait_for_function("document.querySelector('#upload').innerText.includes('rail-memo')", timeout=TIMEOUT)
    page.click("#add")
    seen, gradio, lines, stop_on = [], set(), [], False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        shown = page.evaluate(VISIBLE_PROGRESS)
        line = page.inner_text("#build-progress .build")
        seen.append(shown["ours"] + len(shown["theirs"]))
        gradio.update(shown["theirs"])
        lines.append(line)
        if "done in" in line:
            break
        stop_on = stop_on or page.is_enabled("#stop")
        if ETA.search(line) and os.environ.get("QA_SCREENSHOT_DOCUMENTS") and len(lines) > 1:
            page.screenshot(path=os.environ.pop("QA_SCREENSHOT_DOCUMENTS"))
        time.sleep(0.1)
    assert "done in" in lines[-1], lines[-5:]
    assert not gradio, f"Gradio's own progress showed on {gradio}"
    assert max(seen[:-1]) == 1 and seen.count(1) >= len(seen) // 2, "exactly one progress display while it ran"
    assert any(ETA.search(line) for line in lines), lines
    assert any(re.search(r"Embedding \d of 3 documents · [\d,]+ of [\d,]+ sentences", line) for line in lines)
    assert stop_on, "Stop is on while the build runs"
    assert re.match(
        r"Adding 3 files: done in [\d.]+ s · 3 added · 4 documents, \d+ chunks · [\d,]+ sentences", lines[-1]
    )
    page.wait_for_function("document.querySelector('#stop').disabled", timeout=TIMEOUT)

    page.get_by_role("tab", name="Chat").click()
    page.wait_for_function("document.querySelector('#examples').innerText.includes('Ghent')", timeout=TIMEOUT)
    examples = [b.inner_text() for b in page.locator("#examples button.example").all() if b.is_visible()]
    assert len(examples) >= 3 and all(NEW_WORDS.search(q) for q in examples), examples
    assert not any("United States" in q for q in examples)
    before = page.locator('#chat [data-testid="bot"]').count()
    page.locator("#examples button.example", has_text="Port of Ghent").click()
    reply = page.locator('#chat [data-testid="bot"]').nth(before)
    reply.wait_for(timeout=TIMEOUT)
    page.wait_for_function(
        f"document.querySelectorAll('#chat [data-testid=\"bot\"]')[{before}].innerText.includes('confidence')",
        timeout=TIMEOUT,
    )
    assert "March 2021" in reply.locator("mark").first.inner_text() and "harbour-report.txt" in reply.inner_text()


def test_removal_asks_first_and_restore_brings_the_document_back(page):
    bundled = "china-large-model-industry.txt"
    open_documents(page)
    assert page.input_value("#to-remove input") == "", "nothing is chosen for removal at first"
    page.click("#remove")
    assert "choose a document" in page.inner_text("#confirm-remove") and not page.is_visible("#confirm-yes")
    page.click("#to-remove input")
    page.get_by_role("option", name=bundled).click()
    page.click("#remove")
    page.wait_for_selector("#confirm-yes", state="visible")
    assert re.search(rf"Remove {re.escape(bundled)} \(18 chunks\) from the index\?", page.inner_text("#confirm-text"))
    assert page.inner_text("#confirm-yes") == f"Remove {bundled}"
    page.click("#confirm-no")
    page.wait_for_selector("#confirm-remove", state="hidden")
    assert bundled in page.inner_text("#sources"), "nothing was removed before it was confirmed"

    page.click("#remove")
    page.click("#confirm-yes")
    page.wait_for_selector("#undo-button", state="visible", timeout=TIMEOUT)
    assert bundled not in page.inner_text("#sources")
    assert "1 removed" in page.inner_text("#status")
    assert re.search(rf"Removed {re.escape(bundled)} \(18 chunks\)", page.inner_text("#undo-text"))
    assert page.inner_text("#undo-button") == f"Restore {bundled}"
    page.get_by_role("tab", name="Chat").click()
    assert "Huawei" not in ask(page, "Which company launched Pangu Chat?").inner_text()

    open_documents(page)
    page.click("#undo-button")
    page.wait_for_function(f"document.querySelector('#sources').innerText.includes('{bundled}')", timeout=TIMEOUT)
    page.wait_for_selector("#undo", state="hidden", timeout=TIMEOUT)
    assert f"restored {bundled}" in page.inner_text("#status")
    assert re.match(rf"Restoring {re.escape(bundled)}: done in", page.inner_text("#build-progress"))
    page.get_by_role("tab", name="Chat").click()
    assert ask(page, "Which company launched Pangu Chat?").locator("strong").first.inner_text() == "Huawei"


def qa_cli(*args: str) -> None:
    code = "import sys; from qa.cli import main; sys.exit(main(sys.argv[1:]))"
    subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, timeout=300)


def test_a_document_added_with_the_cli_appears_in_the_chat_within_5_seconds(page, app, tmp_path):
    note = tmp_path / "canal-memo.txt"
    note.write_text("Canal memo.\n\nIn May 2024, the Bruges canal office opened the Damme lock to barges.\n", "utf-8")
    qa_cli("add", str(note), "--index", str(app["index"]))
    done = time.monotonic()
    page.wait_for_function("document.querySelector('#status').innerText.includes('canal-memo.txt')", timeout=5_000)
    assert time.monotonic() - done <= 5.0
    assert "updated: 1 added (canal-memo.txt)" in page.inner_text("#status")
    page.wait_for_function("document.querySelector('#examples').innerText.includes('Damme')", timeout=5_000)
    reply = ask(page, "When did the Bruges canal office open the Damme lock?")
    assert "May 2024" in reply.locator("mark").first.inner_text() and "canal-memo.txt" in reply.inner_text()
    open_documents(page)
    assert "canal-memo.txt" in page.inner_text("#sources")

    qa_cli("remove", "canal-memo.txt", "--index", str(app["index"]))
    page.wait_for_function("document.querySelector('#status').innerText.includes('1 removed')", timeout=5_000)
    assert "canal-memo.txt" not in page.inner_text("#sources")
