"""What one client may cost the server (ui.guard), over loopback with a stand-in bot: request size, conversation
length, requests in flight per session, wrong logins; and the chat stays answered for others meanwhile."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from qa.errors import ConfigError
from tests.ui.conftest import free_port
from tests.ui.test_app_fake_bot import FakeBot
from ui.app import build_app
from ui.guard import Limits

SERVED = pytest.mark.slow  # starts a server (seconds); pytest -m "" runs it
NORMAL_BOUND_S = 5.0  # a normal question's answer, while another client sends a huge request (was 29.5 s)


def _fn_index(demo, api_name: str) -> int:
    return next(i for i, fn in demo.fns.items() if fn.api_name == api_name)


def _join(src: str, fn_index: int, data: list, session: str) -> httpx.Response:
    body = {"data": data, "fn_index": fn_index, "session_hash": session, "event_data": None, "trigger_id": None}
    url = f"{src.rstrip('/')}/gradio_api/queue/join"
    return httpx.post(url, content=json.dumps(body), headers={"content-type": "application/json"}, timeout=120)


def _history(messages: int, chars: int) -> list[dict]:
    roles = ("user", "assistant")
    return [{"role": roles[i % 2], "content": [{"type": "text", "text": "x" * chars}]} for i in range(messages)]


@SERVED
def test_a_huge_request_is_refused_at_once_and_a_normal_question_is_answered(serve, ask):
    """A well-formed 200,000-turn history (about 15 MB) is refused before it is read; the next question is not
    kept waiting behind it (it waited about 30 s)."""
    demo = build_app(lambda: FakeBot())
    huge = [{"role": ("user", "assistant")[i % 2], "content": f"turn {i}"} for i in range(400_000)]
    with serve(demo) as c:
        t0 = time.perf_counter()
        refused = _join(c.src, _fn_index(demo, "chat"), ["Hi?", huge, 3, 0.5], "attacker")
        huge_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        reply, _ = ask(c, "Which company launched Pangu Chat?")  # queued after the huge one, had it been taken
        normal_s = time.perf_counter() - t0
    assert refused.status_code == 413 and "the limit is 4,194,304 bytes" in refused.json()["detail"], refused.text
    assert "Huawei" in reply and normal_s < NORMAL_BOUND_S, (huge_s, normal_s)


@SERVED
def test_the_largest_allowed_conversation_does_not_hold_up_others(serve, ask):
    limits = Limits()
    demo = build_app(lambda: FakeBot())
    big = _history(limits.max_history_messages, limits.max_history_chars // limits.max_history_messages - 10)
    with serve(demo) as c:
        from gradio_client import Client

        done: dict = {}

        def big_one():
            t0 = time.perf_counter()
            history = Client(c.src, verbose=False).predict("And Tencent?", big, api_name="/chat")
            done.update(seconds=time.perf_counter() - t0, messages=len(history))

        other = threading.Thread(target=big_one)
        other.start()
        t0 = time.perf_counter()
        reply, _ = ask(c, "Which company launched Pangu Chat?")
        normal = time.perf_counter() - t0
        other.join()
    assert "Huawei" in reply and normal < NORMAL_BOUND_S, normal
    assert done["messages"] == limits.max_history_messages + 2  # answered: question and reply appended


@SERVED
@pytest.mark.parametrize(
    ("history", "message"),
    [
        (_history(201, 10), "⚠️ the conversation is 201 messages long; the limit is 200"),
        (_history(2, 600_000), "⚠️ the conversation is over 1,000,000 characters long, the limit"),
    ],
)
def test_a_conversation_over_the_limits_gets_a_message_in_the_chat(serve, text, history, message):
    demo = build_app(lambda: FakeBot())
    with serve(demo) as c:
        out = c.predict("Which company launched Pangu Chat?", history, api_name="/chat")
    assert [m["role"] for m in out] == ["user", "assistant"]  # the question and why not, not the long history
    assert text(out[-1]).replace("\\", "").startswith(message.replace("\\", ""))


@SERVED
def test_a_list_of_thousands_of_messages_is_refused_before_gradio_reads_them(serve):
    """Gradio checks each message (about 0.1 ms apiece) before the handler runs: past 1,000 it never starts."""
    demo = build_app(lambda: FakeBot())
    small = [{"role": ("user", "assistant")[i % 2], "content": ""} for i in range(50_000)]  # about 1.5 MB
    with serve(demo) as c:
        t0 = time.perf_counter()
        response = _join(c.src, _fn_index(demo, "chat"), ["Hi?", small, 3, 0.5], "many")
        seconds = time.perf_counter() - t0
    assert response.status_code == 413 and "a list of 50,000 items" in response.json()["detail"]
    assert seconds < 2.0, seconds


@SERVED
def test_one_session_may_have_only_a_few_requests_queued_or_running(serve):
    release = threading.Event()

    class StuckBot(FakeBot):
        def answer(self, question, *args, **kwargs):
            if question == "Hi?":  # not the example questions tried at start-up
                release.wait(timeout=60)
            return super().answer(question, *args, **kwargs)

    demo = build_app(lambda: StuckBot())
    fn = _fn_index(demo, "chat")
    with serve(demo) as c:
        try:
            codes = [_join(c.src, fn, ["Hi?", [], 3, 0.5], "greedy").status_code for _ in range(Limits().max_pending)]
            refused = _join(c.src, fn, ["Hi?", [], 3, 0.5], "greedy")
            other = _join(c.src, fn, ["Hi?", [], 3, 0.5], "someone-else")
        finally:
            release.set()
    assert codes == [200] * Limits().max_pending
    assert refused.status_code == 429 and "already has 4 requests queued or running" in refused.json()["detail"]
    assert other.status_code == 200


@SERVED
def test_any_request_body_over_the_limit_is_refused(serve):
    demo = build_app(lambda: FakeBot(), limits=Limits(max_request_bytes=1000))
    with serve(demo) as c:
        base = c.src.rstrip("/")
        declared = httpx.post(f"{base}/gradio_api/run/predict", content=b"{" + b" " * 2000 + b"}")
        chunked = httpx.post(f"{base}/gradio_api/queue/join", content=iter([b"{", b" " * 2000, b"}"]))
        upload = httpx.post(f"{base}/gradio_api/upload", files=[("files", ("a.txt", b"x" * 5000))])
    assert declared.status_code == chunked.status_code == 413
    assert "the limit is 1,000 bytes" in declared.json()["detail"]
    assert upload.status_code == 200  # files: Gradio's max_file_size applies to each


@SERVED
def test_wrong_logins_from_one_address_are_throttled():
    demo = build_app(lambda: FakeBot())
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True, auth=("ann", "pw"))
    url = f"http://127.0.0.1:{port}/login"
    try:
        t0 = time.perf_counter()
        codes = [httpx.post(url, data={"username": "ann", "password": f"guess{i}"}).status_code for i in range(30)]
        seconds = time.perf_counter() - t0
        locked = httpx.post(url, data={"username": "ann", "password": "pw"})
    finally:
        demo.close()
    assert codes == [400] * 5 + [429] * 25, (codes, seconds)
    assert locked.status_code == 429 and "too many wrong logins" in locked.json()["detail"]
    assert 1 <= int(locked.headers["retry-after"]) <= 61


def test_the_login_opens_again_when_the_window_has_passed():
    """Guard itself, with a clock the test moves: 5 failures lock an address for the window, others are free."""
    import asyncio

    from ui.guard import Guard

    now = [0.0]

    async def login(scope, receive, send):  # Gradio's /login: 200 for the right password, 400 otherwise
        body = (await receive())["body"]
        await send({"type": "http.response.start", "status": 200 if body == b"pw" else 400, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    guard = Guard(login, Limits(login_failures=5, login_window=60.0), pending=lambda s: 0, clock=lambda: now[0])

    def attempt(password: bytes, address: str = "10.0.0.1") -> int:
        sent = []

        async def receive():
            return {"type": "http.request", "body": password, "more_body": False}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/login", "headers": [], "client": (address, 1)}
        with ThreadPoolExecutor(1) as pool:  # its own event loop, whatever loop this thread may have
            pool.submit(asyncio.run, guard(scope, receive, send)).result()
        return sent[0]["status"]

    assert [attempt(b"wrong") for _ in range(6)] == [400] * 5 + [429]
    assert attempt(b"pw") == 429 and attempt(b"pw", "10.0.0.2") == 200  # another address is not locked
    now[0] = 61.0
    assert attempt(b"pw") == 200  # the window has passed; a success clears the count
    assert [attempt(b"wrong") for _ in range(5)] == [400] * 5


@pytest.mark.parametrize(
    "field", ["max_request_bytes", "max_list_items", "max_history_messages", "max_history_chars", "max_pending"]
)
def test_limits_check_their_values(field):
    with pytest.raises(ConfigError, match=field):
        Limits(**{field: 0})
