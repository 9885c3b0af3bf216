"""Many servers over one Milvus: a `milvus-lite server` on 127.0.0.1 and two client processes sharing it."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa.api import QA, build
from qa.settings import AnswerSettings
from tests.conftest import FakeEmbedder, write_corpus
from tests.index.test_store_contract import FILES, QUESTIONS

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

CLIENT = """
import json, sys
from qa.api import QA
from qa.settings import AnswerSettings
from tests.conftest import FakeEmbedder
index, corpus = sys.argv[1], sys.argv[2]
bot = QA.load(index, corpus=corpus, embedder=FakeEmbedder(), settings=AnswerSettings(read_sentences=0),
              on_stale="error")
out = {"store": bot.store.kind, "answers": [[a.text, a.confidence, a.source] for a in map(bot.answer, sys.argv[3:])]}
print(json.dumps(out))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, server: subprocess.Popen, timeout: float = 120) -> None:
    """Until the server accepts connections (or has died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"milvus-lite server exited with {server.returncode}: {server.stderr.read()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"milvus-lite server did not listen on 127.0.0.1:{port} within {timeout}s")


@pytest.fixture
def lite_server(tmp_path):
    import milvus_lite  # noqa: F401  (the milvus extra, which setup.sh --test installs)

    command = shutil.which("milvus-lite", path=str(Path(sys.executable).parent))
    assert command, "milvus-lite is installed without its command"
    port = free_port()
    server = subprocess.Popen(
        [command, "server", "--data-dir", str(tmp_path / "milvus"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(port, server)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_two_processes_answer_from_one_milvus_server(tmp_path, lite_server):
    from qa.index.milvus import MilvusSettings

    corpus = write_corpus(tmp_path / "corpus", FILES)
    build(corpus, tmp_path / "index", embedder=FakeEmbedder(), store=MilvusSettings(lite_server))
    build(corpus, tmp_path / "faiss", embedder=FakeEmbedder())
    here = QA.load(
        tmp_path / "faiss", corpus=corpus, embedder=FakeEmbedder(), settings=AnswerSettings(read_sentences=0)
    )
    want = [[a.text, a.source] for a in map(here.answer, QUESTIONS)]
    # one client with the corpus, one replica without it (it answers from what the store holds)
    clients = [
        subprocess.Popen(
            [sys.executable, "-c", CLIENT, str(tmp_path / "index"), str(c), *QUESTIONS],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c in (corpus, tmp_path / "no-corpus-here")
    ]
    for client in clients:
        out, err = client.communicate(timeout=300)
        assert client.returncode == 0, err[-3000:]
        got = json.loads(out.strip().splitlines()[-1])
        assert got["store"] == "milvus"
        assert [[t, s] for t, _, s in got["answers"]] == want
    assert read_uri(tmp_path / "index") == lite_server  # the manifest names the server, without credentials


def read_uri(index: Path) -> str:
    return json.loads((index / "manifest.json").read_text(encoding="utf-8"))["store"]["uri"]
