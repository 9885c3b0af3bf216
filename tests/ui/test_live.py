"""The chat notices what changed outside it: an index rebuilt by another process, files put into the corpus."""

from __future__ import annotations

from qa.api import QA, add, remove
from tests.conftest import FakeEmbedder, write_corpus
from ui.live import Changes, delta, then
from ui.shared import SharedBot


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_changes_between_two_states_and_one_after_another():
    first = delta({"a": "1", "b": "2"}, {"a": "1", "b": "3", "c": "4"})
    assert Changes.of(first) == Changes(added=("c",), changed=("b",))
    second = delta({"a": "1", "b": "3", "c": "4"}, {"b": "3"})
    both = Changes.of(then(first, second))
    assert both == Changes(changed=("b",), removed=("a",)), "c came and went: no change"
    assert both.counts() == "1 changed, 1 removed"
    assert Changes(added=tuple("abcd")).words() == "4 added (a, b, c, …)"
    assert Changes(added=("x",)) | Changes(added=("x", "y"), removed=("z",)) == Changes(("x", "y"), (), ("z",))
    assert not Changes() and Changes(removed=("a",))


def shared(index_dir, corpus_dir, clock) -> SharedBot:
    embedder = FakeEmbedder()
    return SharedBot(lambda: QA.load(index_dir, corpus=corpus_dir, embedder=embedder, on_stale="error"), clock=clock)


def test_an_index_rebuilt_by_another_process_is_loaded_and_what_it_changed_is_said(index_dir, corpus_dir, tmp_path):
    clock = Clock()
    holder = shared(index_dir, corpus_dir, clock)
    first = holder.look()
    assert not first.folder and first.problem == ""
    note = write_corpus(tmp_path / "cli", {"canal.txt": "In May 2024, the canal office opened the Damme lock."})
    add([note / "canal.txt"], corpus_dir, index_dir, embedder=FakeEmbedder())  # as `qa add` does, outside the chat
    assert holder.look() is first, "looked again too soon"
    clock.now += 2.5
    seen = holder.look()
    assert seen.build_id != first.build_id and not seen.folder
    assert holder.get().index.manifest.build_id == seen.build_id, "the new index is loaded"
    assert holder.changes_since(first.build_id) == Changes(added=("canal.txt",))
    assert holder.get().answer("When did the canal office open the Damme lock?").source == "canal.txt"
    assert any("Damme" in q for q in holder.examples(4)), "examples come from the document added last first"
    remove(["acme.txt"], corpus_dir, index_dir, embedder=FakeEmbedder())
    clock.now += 2.5
    holder.look()
    assert holder.changes_since(first.build_id) == Changes(added=("canal.txt",), removed=("acme.txt",))
    assert holder.changes_since("never-loaded") is None


def test_files_put_into_the_corpus_folder_are_named_until_indexed(index_dir, corpus_dir):
    clock = Clock()
    holder = shared(index_dir, corpus_dir, clock)
    holder.look()
    write_corpus(corpus_dir, {"dropped.md": "# Dropped\n\nThe museum reopened its west wing."})
    (corpus_dir / "acme.txt").unlink()
    clock.now += 2.5
    assert holder.look().folder == Changes(added=("dropped.md",), removed=("acme.txt",))
    with holder.builds.running("someone"):  # while a build of the chat runs, its own files are not news
        (corpus_dir / "notes" / "history.md").write_text("Changed while a build runs.", encoding="utf-8")
        clock.now += 2.5
        assert holder.look().folder == Changes(added=("dropped.md",), removed=("acme.txt",))
    assert holder.look(force=True).folder == Changes(("dropped.md",), ("notes/history.md",), ("acme.txt",))
