"""Bad input and faults: any question gets an Answer or a clear error; a killed build loses nothing."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.api import QA
from qa.errors import QuestionError
from qa.index import load_index, read_manifest
from tests.conftest import FakeEmbedder, assert_verifiable

# Unicode of every kind: controls, right-to-left marks, emoji, CJK, combining marks, lone surrogates excluded
QUESTIONS = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from(
        ["", " ", "\n\t", "\u200f\u202e", "🤖❓", "\x00\x01\x1b[31m", "Who founded Acme Robotics?" * 50, "é" * 100_000]
    ),
    st.builds(lambda a, b: a + "Who founded Acme Robotics?" + b, st.text(max_size=50), st.text(max_size=50)),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=QUESTIONS)
def test_any_question_gets_an_answer_or_a_clear_error(shared_bot, shared_corpus, question):
    try:
        answer = shared_bot.answer(question)
    except QuestionError as exc:
        assert str(exc) and "Traceback" not in str(exc)
        assert not question.strip() or len(question.strip()) > shared_bot.settings.max_question_chars
        return
    assert question.strip(), "an empty question must be refused"
    assert_verifiable(answer, shared_corpus)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    history=st.lists(
        st.fixed_dictionaries(
            {
                "role": st.sampled_from(["user", "assistant", "system", ""]),
                "content": st.one_of(st.text(max_size=80), st.none()),
            }
        ),
        max_size=6,
    )
)
def test_any_history_is_taken_without_crashing(shared_bot, shared_corpus, history):
    answer = shared_bot.answer("What does it make?", history)
    assert_verifiable(answer, shared_corpus)


BUILD = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {root!r})
    from tests.conftest import FakeEmbedder
    from qa.api import build

    class Slow(FakeEmbedder):
        def encode_passages(self, texts, progress=False):
            print("embedding", flush=True)
            time.sleep(0.3)
            return super().encode_passages(texts, progress)

    build({corpus!r}, {index!r}, embedder=Slow())
    print("done", flush=True)
    """
)


@pytest.mark.slow
def test_a_build_killed_at_any_point_leaves_the_previous_index(corpus_dir, tmp_path):
    index_dir = tmp_path / "index"
    QA.load(index_dir, corpus=corpus_dir, embedder=FakeEmbedder())  # the previous, good index
    before = read_manifest(index_dir)
    (corpus_dir / "more.txt").write_text("Acme Robotics opened a second plant in Lyon in 2022.\n", encoding="utf-8")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = BUILD.format(root=root, corpus=str(corpus_dir), index=str(index_dir))
    for delay in (0.0, 0.15, 0.35, 0.5, 0.65, 0.8):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=root)
        proc.stdout.readline()  # wait until it is embedding: past imports, chunking and the lock
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        current = read_manifest(index_dir)
        loaded = load_index(index_dir)  # whatever manifest is there loads, with every file checking out
        assert current.build_id in (before.build_id, loaded.manifest.build_id)
        bot = QA(loaded, FakeEmbedder())
        assert bot.answer("Who founded Acme Robotics?").quotes
    # and the next build completes, with the new document in it
    bot = QA.load(index_dir, corpus=corpus_dir, embedder=FakeEmbedder())
    assert "more.txt" in bot.index.manifest.documents
    leftovers = [p.name for p in index_dir.iterdir() if p.name.startswith(".")]
    assert leftovers == [], f"temporary files left behind: {leftovers}"
