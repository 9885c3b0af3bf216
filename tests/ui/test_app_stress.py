"""Four clients at once for about 25 s on loopback (real model, real index, real app): adding, removing and
restoring their own documents, re-scanning, chatting and pressing Stop. Nothing they do conflicts, so every
"⚠️" or exception is a false error; there must be none, and the index on disk must match the corpus after."""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from qa.api import QA, default_qa
from qa.index import read_manifest
from qa.ingest.documents import list_corpus
from tests.conftest import write_corpus
from tests.ui.conftest import message_text
from ui.app import build_app

pytestmark = pytest.mark.e2e

SECONDS = 25.0


def test_four_clients_adding_removing_rebuilding_and_chatting_get_no_false_errors(tmp_path, serve, bundled):
    from gradio_client import Client, handle_file

    shutil.copytree(bundled[0], tmp_path / "corpus")
    shutil.copytree(bundled[1], tmp_path / "index")
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    embedder = default_qa().embedder
    errors: list[str] = []
    done: Counter = Counter()
    lock = threading.Lock()

    def check(kind: str, status: str) -> None:
        with lock:
            done[kind] += 1
            if not isinstance(status, str) or status.startswith("⚠️") or "stopped" in status:
                errors.append(f"{kind}: {status}")

    def run(kind: str, body) -> Callable:
        def loop():
            deadline = time.monotonic() + SECONDS
            client = Client(src, verbose=False)
            i = 0
            while time.monotonic() < deadline:
                try:
                    body(client, i)
                except Exception as exc:  # every exception is a false error here
                    with lock:
                        errors.append(f"{kind}: {type(exc).__name__}: {exc}")
                i += 1

        return loop

    def adder(client, i):
        """Adds a document, has a fresh client (another session) remove it, restores it, removes it again."""
        name = f"adder-{i}.txt"
        up = write_corpus(tmp_path / "up-adder" / str(i), {name: f"Adder note {i}: the gearbox {i} turns at {i}0 rpm."})
        check("add", client.predict([handle_file(str(up / name))], api_name="/add")[0])
        check("remove", Client(src, verbose=False).predict(name, api_name="/remove")[0])
        check("restore", client.predict(name, api_name="/restore")[0])
        check("remove", client.predict(name, api_name="/remove")[0])

    def uploader(client, i):
        """Adds two documents at once, removes one, keeps the other."""
        names = [f"batch-{i}-a.txt", f"batch-{i}-b.txt"]
        up = write_corpus(tmp_path / "up-batch" / str(i), {n: f"Batch {i} note {n}: pumps and valves." for n in names})
        check("add", client.predict([handle_file(str(up / n)) for n in names], api_name="/add")[0])
        check("remove", client.predict(names[0], api_name="/remove")[0])

    def rebuilder(client, i):
        """Drops a file into the corpus folder by hand now and then, and re-scans."""
        if i % 3 == 0:
            write_corpus(corpus, {f"dropped-{i}.txt": f"Dropped note {i}: the boiler was serviced."})
        check("rebuild", client.predict(api_name="/rebuild")[0])

    def chatter(client, i):
        """Asks, and presses Stop now and then: it has no build of its own, so no one's build may stop."""
        history = client.predict("Which company launched Pangu Chat?", [], api_name="/chat")
        reply = message_text(history[-1])
        check("chat", reply)
        if "Huawei" not in reply:
            errors.append(f"chat: {reply[:200]}")
        if i % 5 == 0:
            stop = client.predict(api_name="/stop")
            check("stop", "" if stop.startswith("Stopping: nothing of yours") else f"⚠️ {stop}")

    with serve(build_app(lambda: QA.load(index, corpus=corpus, embedder=embedder, on_stale="error"))) as c:
        src = c.src
        threads = [threading.Thread(target=run(f.__name__, f)) for f in (adder, uploader, rebuilder, chatter)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        final = c.predict(api_name="/rebuild")[0]

    assert errors == [], errors[:10]
    assert done["add"] >= 4 and done["remove"] >= 4 and done["restore"] >= 1 and done["rebuild"] >= 3, done
    assert done["chat"] >= 10 and done["stop"] >= 1, done
    assert "(no change)" in final, final  # every change was indexed by the build that made it
    listed, _ = list_corpus(corpus)
    manifest = read_manifest(index)
    assert {s.path: s.sha256 for s in listed} == manifest.documents  # sources match the corpus
    assert not any(Path(corpus, p).name.startswith("adder-") for p in manifest.documents)
    bot = QA.load(index, corpus=corpus, embedder=embedder, on_stale="error")  # fresh, not stale
    assert bot.answer("Which company launched Pangu Chat?").found
