"""The build's one progress display: its words, its time left (measured on a moved clock), its summary."""

from __future__ import annotations

import re

import pytest

from qa.index.progress import EMBEDDING, LISTING, READING, WAITING, WRITING, BuildProgress
from ui.progress import IDLE, BuildTracker, summary, time_left


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def embedding(done: int, sentences: int, total: int = 3, sentences_total: int = 4840) -> BuildProgress:
    return BuildProgress(EMBEDDING, done=done, total=total, sentences=sentences, sentences_total=sentences_total)


def test_each_stage_in_words():
    tracker = BuildTracker("Adding 3 files", clock=Clock())
    assert "Adding 3 files</strong> · Starting" in tracker.html()
    words = []
    for event in (
        BuildProgress(WAITING),
        BuildProgress(LISTING),
        BuildProgress(READING, done=1, total=3),
        BuildProgress(WRITING, done=3, total=3, sentences=4840, sentences_total=4840),
    ):
        tracker(event)
        words.append(tracker.words())
    assert words == [
        "Waiting for another build of this index to finish",
        "Looking for new and changed documents",
        "Reading 2 of 3 documents",
        "Writing the index · 4,840 sentences embedded",
    ]
    tracker.load()
    assert tracker.words() == "Loading the new index"


def test_the_time_left_is_measured_on_the_build_itself():
    clock = Clock()
    tracker = BuildTracker("Adding 3 files", clock=clock)
    tracker(embedding(0, 0))
    assert tracker.eta() is None
    assert tracker.words() == "Embedding 1 of 3 documents · 0 of 4,840 sentences · measuring the speed"
    clock.now += 10
    tracker(embedding(1, 1210))  # 121 sentences a second: 3,630 left take 30 s
    assert tracker.eta() == pytest.approx(30.0)
    assert tracker.words() == "Embedding 2 of 3 documents · 1,210 of 4,840 sentences · about 30 s left"
    clock.now += 12  # no news for 12 s: the estimate counts down
    assert tracker.eta() == pytest.approx(18.0)
    assert tracker.fraction() == pytest.approx(0.25)
    assert 'value="250"' in tracker.html()
    clock.now += 60
    assert tracker.eta() == 0.0 and tracker.words().endswith("a few seconds left")


def test_a_previous_builds_speed_estimates_until_this_one_has_measured_its_own():
    clock = Clock()
    tracker = BuildTracker("Re-scanning the corpus folder", rate=100.0, clock=clock)
    tracker(embedding(0, 0, sentences_total=6000))
    assert tracker.eta() == pytest.approx(60.0)
    clock.now += 20
    assert tracker.words().endswith("about 40 s left")
    tracker(embedding(1, 3000, sentences_total=6000))  # this build is faster: 150 a second
    assert tracker.rate() == pytest.approx(150.0) and tracker.eta() == pytest.approx(20.0)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(3, "a few seconds left"), (41, "about 40 s left"), (44, "about 45 s left"), (150, "about 2 min left")],
)
def test_time_left_reads_as_a_person_says_it(seconds, words):
    assert time_left(seconds) == words


def test_the_summary_replaces_the_progress_and_everything_is_escaped():
    tracker = BuildTracker("Removing <b>x</b>.txt", clock=Clock())
    assert "&lt;b&gt;x&lt;/b&gt;.txt" in tracker.html() and "<b>" not in tracker.html()
    line = summary("Removing <b>x</b>.txt", 0.4, "1 removed", "3 documents, 52 chunks", 0)
    tracker.finish(line)
    html = tracker.html()
    assert tracker.done and 'class="build done"' in html and "<progress" not in html
    assert re.search(r"Removing &lt;b&gt;x&lt;/b&gt;\.txt: done in 0\.4 s</strong> · 1 removed · 3 documents", html)
    tracker.finish("⚠️ the build was stopped after 1 of 3 documents", ok=False)
    assert 'class="build failed"' in tracker.html()
    assert "No build running" in IDLE
