"""Starting the chat server: `qa serve` and `python -m ui.app` come here, with options read by the CLI's parser.

The login is asked for when `QA_AUTH=user:password` is set. Serving on an
address other than loopback without one prints a warning naming the risk
(`ui.guard` throttles wrong logins when there is one).
"""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path

from qa.api import QA, default_qa
from qa.ingest.documents import max_bytes
from qa.settings import AnswerSettings
from ui import app as chat
from ui.look import launch_options


def serve(
    index: str | Path | None = None,
    corpus: str | Path | None = None,
    model: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    settings: AnswerSettings | None = None,
) -> None:
    """Start the chat on `host:port` (`qa serve`); the default index and settings unless given.

    A login is asked for when `QA_AUTH=user:password` is set; serving on an address other than
    loopback without one prints a warning naming the risk.
    """
    settings = settings or AnswerSettings()
    factory = default_qa
    if index or corpus or model or settings != AnswerSettings():

        def factory() -> QA:
            return QA.load(index, corpus=corpus, model=model, settings=settings)

    auth = auth_from_env()
    if auth is None and not is_loopback(host):
        print(exposure_warning(host), file=sys.stderr)
    demo = chat.build_app(factory)
    demo.launch(server_name=host, server_port=port, auth=auth, max_file_size=max_bytes(), **launch_options())


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any address


def exposure_warning(host: str) -> str:
    return (
        f"warning: serving on {host} without a login. Anyone who can reach this port can read every document, "
        "add, remove and restore documents and rebuild the index. Set QA_AUTH=user:password to ask for a "
        "login, or serve on 127.0.0.1."
    )


def auth_from_env() -> tuple[str, str] | None:
    """`QA_AUTH=user:password` asks for a login (Gradio's auth); unset means none."""
    value = os.environ.get("QA_AUTH", "")
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise SystemExit("QA_AUTH must be user:password")
    return user, password
