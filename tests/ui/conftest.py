"""Helpers for the UI tests: serve an app on a free loopback port and chat with it over HTTP."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _serve(demo) -> Iterator:
    """Launch `demo` in a background thread on 127.0.0.1 and yield a gradio_client.Client for it."""
    from gradio_client import Client

    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    try:
        yield Client(f"http://127.0.0.1:{port}/", verbose=False)
    finally:
        demo.close()


def message_text(message: dict) -> str:
    """A message's text; Gradio 6 sends content as a list of {"type": "text", "text": ...} parts."""
    content = message["content"]
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content)
    return content


def _ask(client, question: str, history: list | None = None) -> tuple[str, list]:
    """Ask through the /chat endpoint; return the reply's text and the new history."""
    history = client.predict(question, history or [], api_name="/chat")
    assert history[-1]["role"] == "assistant"
    return message_text(history[-1]), history


@pytest.fixture(scope="session")
def serve() -> Callable[..., AbstractContextManager]:
    import gradio_client  # noqa: F401  (the tests talk to the chat through it; missing, they fail)

    return _serve


@pytest.fixture(scope="session")
def ask() -> Callable[..., tuple[str, list]]:
    return _ask


@pytest.fixture(scope="session")
def text() -> Callable[[dict], str]:
    return message_text
