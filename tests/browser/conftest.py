"""A running app (real model, real FAISS index, real Gradio) driven by headless Chromium through Playwright."""

from __future__ import annotations

import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from qa.api import QA
from qa.index.embedding import load_embedder
from tests.ui.conftest import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def embedder():
    return load_embedder()  # the default model, as the bundled index was built


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).is_file(), "Chromium is needed: apt-get install -y chromium (scripts/setup.sh does it)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory, embedder, bundled) -> Iterator[dict]:
    """The chat app on a copy of the bundled corpus, served on a free loopback port."""
    from ui.app import build_app, launch_options

    root = tmp_path_factory.mktemp("app")
    shutil.copytree(bundled[0], root / "corpus")
    shutil.copytree(bundled[1], root / "index")
    corpus, index = root / "corpus", root / "index"
    demo = build_app(lambda: QA.load(index, corpus=corpus, embedder=embedder, on_stale="error"))
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True, **launch_options())
    try:
        yield {"url": f"http://127.0.0.1:{port}/", "corpus": corpus, "index": index, "root": root}
    finally:
        demo.close()


@pytest.fixture
def page(browser, app):
    context = browser.new_context(viewport={"width": 1280, "height": 1100})
    page = context.new_page()
    page.goto(app["url"])
    page.wait_for_selector("#question textarea")
    yield page
    context.close()


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self):
        type(self).hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def tripwire() -> Iterator[tuple[int, list[str]]]:
    """A loopback HTTP server that records every request: anything a document makes the page fetch."""
    _Counter.hits = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], _Counter.hits
    finally:
        server.shutdown()
