"""The Documents endpoints over HTTP (gradio_client): add, remove, stop; and the README's API snippet, run as is."""

from __future__ import annotations

import re
import shutil
import threading
import time
from pathlib import Path

import pytest

from qa.api import PROJECT_ROOT, QA, add, default_qa
from qa.index import load_index, read_manifest
from tests.conftest import FakeEmbedder, make_docx, make_pdf, write_corpus
from ui.app import build_app

pytestmark = pytest.mark.e2e


@pytest.fixture
def bundled_copy(tmp_path, bundled) -> tuple[Path, Path]:
    shutil.copytree(bundled[0], tmp_path / "corpus")
    shutil.copytree(bundled[1], tmp_path / "index")
    return tmp_path / "corpus", tmp_path / "index"


def test_add_and_remove_over_the_api(bundled_copy, serve, ask, tmp_path):
    from gradio_client import handle_file

    corpus, index = bundled_copy
    embedder = default_qa().embedder
    upload = write_corpus(
        tmp_path / "upload",
        {
            "depot.pdf": make_pdf(["Cover page.", "The Ghent depot shipped 4,200 pallets in 2023."]),
            "memo.docx": make_docx(["The canteen reopened on 4 March 2024 after repairs."]),
        },
    )
    with serve(build_app(lambda: QA.load(index, corpus=corpus, embedder=embedder, on_stale="error"))) as c:
        files = [handle_file(str(upload / n)) for n in ("depot.pdf", "memo.docx")]
        status, results, sources, _ = c.predict(files, api_name="/add")
        assert "(2 added)" in status
        rows = {r[0]: r for r in results["data"]}
        assert rows["depot.pdf"][1] == rows["memo.docx"][1] == "indexed"
        assert {"depot.pdf", "memo.docx"} <= {r[0] for r in sources["data"]}
        reply, _ = ask(c, "How many pallets did the Ghent depot ship?")
        assert "<mark>4,200 pallets</mark>" in reply and "depot.pdf, page 2" in reply

        status, _, _, _ = c.predict(files, api_name="/add")
        assert status == "Nothing was added."  # the same bytes again: duplicates

        status, sources, _ = c.predict("memo.docx", api_name="/remove")
        assert "(1 removed)" in status and "memo.docx" not in {r[0] for r in sources["data"]}
        assert (index / "removed").is_dir() and not (corpus / "memo.docx").exists()
        status, _, _ = c.predict("../../etc/passwd", api_name="/remove")  # checked against the index on disk
        assert status == "⚠️ no document named '../../etc/passwd' in the index"
    assert set(load_index(index).texts) == {"china-large-model-industry.txt", "depot.pdf"}


class SlowEmbedder(FakeEmbedder):
    """Takes 0.3 s a group of passages; `embedding` is set once it has started on one."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = threading.Event()

    def encode_passages(self, texts, progress=False):
        self.embedding.set()
        time.sleep(0.3)  # the work a real model does
        return super().encode_passages(texts, progress)


def test_stop_ends_a_long_build_and_keeps_the_previous_index(tmp_path, serve, monkeypatch):
    from gradio_client import handle_file

    from qa.index import segments

    monkeypatch.setattr(segments, "EMBED_GROUP", 1)
    corpus = write_corpus(tmp_path / "corpus", {"a.txt": "Alpha is the first letter."})
    index = tmp_path / "index"
    QA.load(index, corpus=corpus, embedder=SlowEmbedder())
    before = read_manifest(index)
    many = write_corpus(tmp_path / "up", {f"doc{i}.txt": f"Document {i} is about topic number {i}." for i in range(30)})
    embedder = SlowEmbedder()
    with serve(build_app(lambda: QA.load(index, corpus=corpus, embedder=embedder, on_stale="error"))) as c:
        job = c.submit([handle_file(str(p)) for p in sorted(many.iterdir())], api_name="/add")
        assert embedder.embedding.wait(timeout=120), "the build never started embedding"
        assert c.predict(api_name="/stop").startswith("Stopping your build")
        status, _, _, _ = job.result(timeout=60)
    assert status.startswith("⚠️ the build was stopped after"), status
    assert "previous index is still in use" in status
    assert read_manifest(index) == before


def _readme_snippet() -> str:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"The chat is also an API.*?```python\n(.*?)```", readme, re.S)
    assert block, "the README shows the API snippet"
    return block.group(1)


def test_the_readme_api_snippet_runs(bundled_copy, serve, tmp_path, monkeypatch):
    corpus, index = bundled_copy
    embedder = default_qa().embedder
    (tmp_path / "report.pdf").write_bytes(make_pdf(["The Ghent depot shipped 4,200 pallets in 2023."]))
    monkeypatch.chdir(tmp_path)
    with serve(build_app(lambda: QA.load(index, corpus=corpus, embedder=embedder, on_stale="error"))) as c:
        code = _readme_snippet().replace("http://127.0.0.1:7860/", c.src)
        scope: dict = {}
        exec(compile(code, "README.md", "exec"), scope)
    assert "Huawei" in scope["reply"]
    assert "removed" in scope["status"]


def test_requests_during_a_rebuild_all_succeed_from_one_index_or_the_other(bundled_copy, serve, ask):
    """Chat while documents are added: no request fails; each answer cites the old or the new corpus."""
    corpus, index = bundled_copy
    embedder = default_qa().embedder
    with serve(build_app(lambda: QA.load(index, corpus=corpus, embedder=embedder, on_stale="error"))) as c:
        stop = threading.Event()
        replies: list[str] = []
        errors: list[BaseException] = []

        def chat():
            from gradio_client import Client

            # one client per user, as browsers are: a gradio_client Client shares one event stream
            # between its threads and can drop a reply when several threads use it at once
            own = Client(c.src, verbose=False)
            while not stop.is_set():
                try:
                    replies.append(ask(own, "Which company launched Pangu Chat?")[0])
                except BaseException as exc:  # pragma: no cover - reported below
                    errors.append(exc)

        threads = [threading.Thread(target=chat) for _ in range(3)]
        for t in threads:
            t.start()
        write_corpus(corpus, {f"extra{i}.txt": f"Extra note {i}: Huawei makes phones too." for i in range(5)})
        status, _, _ = c.predict(api_name="/rebuild")
        time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join()
    assert "(5 added)" in status
    assert errors == [] and len(replies) >= 3
    assert all("Huawei" in r and not r.startswith("⚠️") for r in replies)


def test_a_rescan_says_what_the_chat_did_not_have_yet(tmp_path, serve):
    """`qa add` (another process) indexed a document: the re-scan embeds nothing, and says the chat gained it."""
    corpus = write_corpus(tmp_path / "corpus", {"a.txt": "Alpha is the first letter."})
    index = tmp_path / "index"
    embedder = FakeEmbedder()
    QA.load(index, corpus=corpus, embedder=embedder)
    with serve(build_app(lambda: QA.load(index, corpus=corpus, embedder=embedder, on_stale="error"))) as c:
        note = write_corpus(tmp_path / "cli", {"b.txt": "Beta is the second letter."})
        add([note / "b.txt"], corpus, index, embedder=embedder)  # as `qa add` does, outside the chat
        status, sources, _ = c.predict(api_name="/rebuild")
        assert "Indexed 2 documents" in status and "(1 added)" in status, status
        assert {r[0] for r in sources["data"]} == {"a.txt", "b.txt"}
        status, _, _ = c.predict(api_name="/rebuild")
        assert "(no change)" in status, status
