"""The Documents endpoints with several clients (FakeEmbedder, real Gradio over loopback): each Stop stops only
its own session's build and is never lost, every handler answers with a message, lists are read live, and
Gradio's copies of uploaded files do not outlive their use."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from qa.api import QA
from qa.index import load_index, read_manifest
from tests.conftest import FakeEmbedder, write_corpus
from ui.app import UPLOAD_CACHE, build_app
from ui.render import escape

pytestmark = pytest.mark.slow  # each starts a server (seconds); pytest -m "" runs them


class HookedEmbedder(FakeEmbedder):
    """A FakeEmbedder that can be slowed down and watched: `embedding` is set when a build starts embedding,
    and `on_text(text)` runs for every passage."""

    def __init__(self, delay: float = 0.0, on_text=None) -> None:
        super().__init__()
        self.embedding = threading.Event()
        self.delay, self.on_text = delay, on_text

    def encode_passages(self, texts, progress=False):
        self.embedding.set()
        for text in texts:
            if self.on_text:
                self.on_text(text)
        time.sleep(self.delay)  # the work a real model does
        return super().encode_passages(texts, progress)


def _app(tmp_path: Path, embedder: FakeEmbedder, **kwargs):
    corpus = write_corpus(tmp_path / "corpus", {"a.txt": "Alpha is the first letter of the Greek alphabet."})
    index = tmp_path / "index"
    QA.load(index, corpus=corpus, embedder=FakeEmbedder())  # the same vectors; `embedder` is the app's alone
    demo = build_app(lambda: QA.load(index, corpus=corpus, embedder=embedder, on_stale="error"), **kwargs)
    return demo, corpus, index


def _files(tmp_path: Path, n: int, prefix: str = "doc") -> list:
    from gradio_client import handle_file

    folder = write_corpus(
        tmp_path / f"up-{prefix}", {f"{prefix}{i}.txt": f"Note {i} on {prefix} topics." for i in range(n)}
    )
    return [handle_file(str(p)) for p in sorted(folder.iterdir())]


def test_a_stop_before_the_build_starts_is_not_lost(tmp_path, serve, monkeypatch):
    """Stop pressed while the files are still on their way (the server knows of no build yet): the build stops."""
    from qa.index import segments

    monkeypatch.setattr(segments, "EMBED_GROUP", 1)
    demo, corpus, index = _app(tmp_path, HookedEmbedder())
    before = read_manifest(index)
    with serve(demo) as c:
        reply = c.predict(api_name="/stop")
        assert reply.startswith("Stopping: nothing of yours is being built yet")
        status, _, _, _ = c.predict(_files(tmp_path, 5), api_name="/add")
        assert status == "⚠️ stopped before anything was added"
        assert sorted(p.name for p in corpus.iterdir()) == ["a.txt"]
        status, _, _, _ = c.predict(_files(tmp_path, 5), api_name="/add")  # the Stop was used up
        assert "(5 added)" in status
    assert read_manifest(index).build_id != before.build_id


def test_a_stop_stops_only_the_build_of_its_own_session(tmp_path, serve, monkeypatch):
    from gradio_client import Client

    from qa.index import segments

    monkeypatch.setattr(segments, "EMBED_GROUP", 1)
    embedder = HookedEmbedder(delay=0.2)
    demo, _, index = _app(tmp_path, embedder)
    with serve(demo) as c:
        job = c.submit(_files(tmp_path, 8), api_name="/add")
        assert embedder.embedding.wait(timeout=60)
        other = Client(c.src, verbose=False)
        reply = other.predict(api_name="/stop")
        assert "nothing of yours is being built" in reply and "1 build of other users running" in reply
        status, _, _, _ = job.result(timeout=60)
    assert "(8 added)" in status, status
    assert len(load_index(index).texts) == 9


def test_the_reload_after_a_build_is_never_stale(tmp_path, serve):
    """A document lands in the corpus while this build embeds (another client's upload): not "out of date"."""
    landed = threading.Event()

    def on_text(text):
        if "Trigger" in text and not landed.is_set():
            write_corpus(tmp_path / "corpus", {"late.txt": "A late note about gamma rays."})
            landed.set()

    demo, corpus, _ = _app(tmp_path, HookedEmbedder(on_text=on_text))
    with serve(demo) as c:
        write_corpus(corpus, {"trigger.txt": "Trigger note about beta particles."})
        status, _, _ = c.predict(api_name="/rebuild")
        assert landed.is_set() and status.startswith("Indexed 2 documents") and "(1 added)" in status, status
        status, _, _ = c.predict(api_name="/rebuild")
        assert status.startswith("Indexed 3 documents") and "(1 added)" in status, status


def test_every_handler_answers_with_a_message(tmp_path, serve):
    def on_text(text):
        if "Explode" in text:
            raise RuntimeError("a bug while embedding")

    demo, _, _ = _app(tmp_path, HookedEmbedder(on_text=on_text))
    with serve(demo) as c:
        from gradio_client import handle_file

        bad = write_corpus(tmp_path / "bad", {"bad.txt": "Explode on this sentence."})
        status, _, _, _ = c.predict([handle_file(str(bad / "bad.txt"))], api_name="/add")
        assert status == "⚠️ " + escape("could not add the files (RuntimeError); see the server log")
        status, _, _ = c.predict(api_name="/rebuild")  # bad.txt is in the corpus now, and still explodes
        assert status == "⚠️ " + escape("could not re-scan the corpus (RuntimeError); see the server log")
        status, _, _ = c.predict("nope.txt", api_name="/restore")
        assert status.startswith("⚠️ nothing removed is called 'nope.txt'")


def test_remove_and_restore_take_documents_added_by_other_clients(tmp_path, serve):
    """A fresh client can remove a document added after the app started, and restore it."""
    from gradio_client import Client

    demo, corpus, index = _app(tmp_path, FakeEmbedder())
    with serve(demo) as c:
        status, _, _, _ = c.predict(_files(tmp_path, 1, "memo"), api_name="/add")
        assert "(1 added)" in status
        fresh = Client(c.src, verbose=False)
        status, sources, _ = fresh.predict("memo0.txt", api_name="/remove")
        assert "(1 removed)" in status and "memo0.txt" not in {r[0] for r in sources["data"]}
        assert not (corpus / "memo0.txt").exists()
        status, sources, _ = Client(c.src, verbose=False).predict("memo0.txt", api_name="/restore")
        assert "(1 added)" in status and "restored memo0.txt" in status
        assert (corpus / "memo0.txt").read_text() == "Note 0 on memo topics."
        status, _, _ = fresh.predict("never-there.txt", api_name="/remove")
        assert status == "⚠️ no document named 'never-there.txt' in the index"
    assert "memo0.txt" in load_index(index).texts


def _get(url: str) -> int:
    return httpx.get(url, timeout=10).status_code


def test_an_added_then_removed_document_cannot_be_downloaded_from_the_upload_cache(tmp_path, serve):
    demo, _, _ = _app(tmp_path, FakeEmbedder())
    with serve(demo) as c:
        known = set(demo.upload_file_set)
        status, _, _, _ = c.predict(_files(tmp_path, 1, "secret"), api_name="/add")
        assert "(1 added)" in status
        (copy,) = set(demo.upload_file_set) - known  # Gradio's copy of the uploaded file, on the server
        url = f"{c.src.rstrip('/')}/gradio_api/file={copy}"
        c.predict("secret0.txt", api_name="/remove")
        assert not Path(copy).exists()
        assert _get(url) in (403, 404)


def test_files_uploaded_but_never_added_are_deleted_from_the_cache(tmp_path, serve):
    assert build_app.__kwdefaults__["delete_cache"] == UPLOAD_CACHE == (600, 3600)
    demo, _, _ = _app(tmp_path, FakeEmbedder(), delete_cache=(1, 1))
    with serve(demo) as c:
        response = httpx.post(
            f"{c.src.rstrip('/')}/gradio_api/upload", files=[("files", ("stray.txt", b"Never sent to /add."))]
        )
        (path,) = response.json()
        assert Path(path).is_file()
        deadline = time.monotonic() + 30
        while Path(path).exists() and time.monotonic() < deadline:
            time.sleep(0.2)  # Gradio's cleaner runs every second here
        assert not Path(path).exists()
