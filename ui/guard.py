"""What one client may cost the chat server: request size, conversation length, events in flight, failed logins.

`Limits` holds the numbers (docs/reliability.md, "Limits", lists them);
`Guard` is the ASGI middleware that applies the ones a request shows before
Gradio reads it:

- a request body over `max_request_bytes` (file uploads aside: Gradio limits
  those per file) is refused with 413 before it is parsed, so no client can make
  the server read megabytes of JSON while others wait;
- a request whose arguments hold a list of more than `max_list_items` (a
  conversation's messages, files) is refused with 413 before Gradio checks
  each item, which costs about 0.1 ms an item, in line with everyone else;
- a session that already has `max_pending` events queued or running gets 429
  for the next one, so one client cannot fill the queue ahead of everyone else;
- after `login_failures` wrong logins from one address within `login_window`
  seconds, the login answers 429 (with Retry-After) until the oldest of them is
  older than the window.

The chat handler checks the conversation against the tighter limits itself
(`check_history`) and answers in the chat when it is too long.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from qa.errors import ConfigError, QuestionError


@dataclass(frozen=True)
class Limits:
    """The most one request, one session or one address may ask of the chat server."""

    max_request_bytes: int = 4 * 1024 * 1024  # any request body but a file upload
    max_list_items: int = 1000  # items of any list argument (refused before Gradio reads them)
    max_history_messages: int = 200  # messages of the conversation sent with a question (100 turns)
    max_history_chars: int = 1_000_000  # their characters, all together
    max_pending: int = 4  # events one session may have queued or running at once
    login_failures: int = 5  # wrong logins from one address...
    login_window: float = 60.0  # ...within this many seconds, then 429 until the oldest is older

    def __post_init__(self) -> None:
        for name in ("max_request_bytes", "max_list_items", "max_history_messages", "max_history_chars", "max_pending"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.login_failures, int) or self.login_failures < 1:
            raise ConfigError(f"login_failures must be a positive integer, got {self.login_failures!r}")
        if not isinstance(self.login_window, (int, float)) or self.login_window <= 0:
            raise ConfigError(f"login_window must be a positive number of seconds, got {self.login_window!r}")


def check_history(history: object, limits: Limits) -> list:
    """The history as a list, checked against the limits before any of it is read; QuestionError if not."""
    if history is None:
        return []
    if not isinstance(history, list):
        raise QuestionError(f"the history must be a list of messages, got {type(history).__name__}")
    if len(history) > limits.max_history_messages:
        raise QuestionError(
            f"the conversation is {len(history):,} messages long; the limit is {limits.max_history_messages:,}. "
            "Start a new conversation (follow-ups read only the last turn)"
        )
    chars = 0
    for message in history:
        if not isinstance(message, dict):
            raise QuestionError(f"each message of the history must be a dict, got {type(message).__name__}")
        content = message.get("content")
        parts = content if isinstance(content, list) else [content]
        chars += sum(len(p.get("text") or "") if isinstance(p, dict) else len(str(p or "")) for p in parts)
        if chars > limits.max_history_chars:
            raise QuestionError(
                f"the conversation is over {limits.max_history_chars:,} characters long, the limit. "
                "Start a new conversation (follow-ups read only the last turn)"
            )
    return history


class Guard:
    """ASGI middleware applying `Limits` to requests before Gradio reads them.

    `pending(session_hash)` tells how many events a session has queued or running.
    """

    def __init__(self, app, limits: Limits, pending: Callable[[str], int], clock=time.monotonic) -> None:
        self.app, self.limits, self.pending, self.clock = app, limits, pending, clock
        self.failures: dict[str, deque[float]] = {}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        path = scope["path"].rstrip("/")
        if path.endswith("/login"):
            return await self._login(scope, receive, send)
        if path.endswith("/upload"):  # files: Gradio's max_file_size applies to each
            return await self.app(scope, receive, send)
        limit = self.limits.max_request_bytes
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > limit:
            return await _refuse(send, 413, _too_large(int(declared), limit))
        body = await _read_body(receive, limit)
        if body is None:
            return await _refuse(send, 413, _too_large(None, limit))
        payload = _json(body)
        longest = max((len(a) for a in payload.get("data") or () if isinstance(a, list)), default=0)
        if longest > self.limits.max_list_items:
            return await _refuse(
                send,
                413,
                f"the request holds a list of {longest:,} items (a conversation's messages, or files); "
                f"the limit is {self.limits.max_list_items:,}. Start a new conversation",
            )
        if path.endswith("/queue/join"):
            session = payload.get("session_hash")
            if isinstance(session, str) and self.pending(session) >= self.limits.max_pending:
                return await _refuse(
                    send,
                    429,
                    f"this session already has {self.limits.max_pending} requests queued or running; "
                    "wait for one to finish",
                )
        return await self.app(scope, _replay(body, receive), send)

    async def _login(self, scope, receive, send) -> None:
        address = (scope.get("client") or ("?",))[0]
        now = self.clock()
        recent = self.failures.get(address, deque())
        while recent and now - recent[0] > self.limits.login_window:
            recent.popleft()
        if len(recent) >= self.limits.login_failures:
            wait = int(self.limits.login_window - (now - recent[0])) + 1
            message = f"too many wrong logins from this address; try again in {wait} s"
            return await _refuse(send, 429, message, [(b"retry-after", str(wait).encode())])
        status = {}

        async def watch(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if status.get("code") == 400:  # Gradio's answer to wrong credentials
            recent.append(self.clock())
            self.failures[address] = recent
            if len(self.failures) > 10_000:  # many addresses: forget the quietest
                self.failures.pop(next(iter(self.failures)))
        elif status.get("code") == 200:
            self.failures.pop(address, None)


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return ""


def _too_large(size: int | None, limit: int) -> str:
    got = f"{size:,} bytes" if size is not None else "larger than that"
    return (
        f"the request is {got}; the limit is {limit:,} bytes. "
        "Clear the chat or send fewer files at once (files: each up to the upload limit)"
    )


async def _read_body(receive, limit: int) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive):
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect, as the server would

    return replay


def _json(body: bytes) -> dict:
    """The request's JSON object; {} when it is not one (Gradio answers that itself)."""
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("data", []), list):
        return {}
    return data


async def _refuse(send, status: int, detail: str, headers: list | None = None) -> None:
    payload = json.dumps({"detail": detail, "error": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
