"""ui.app's command line, without starting a server or loading a model."""

from __future__ import annotations

import pytest

from qa.api import default_qa
from qa.errors import ConfigError
from qa.settings import AnswerSettings
from ui import app


class FakeDemo:
    def __init__(self, factory):
        self.factory = factory
        self.launched: dict | None = None

    def launch(self, **kwargs):
        self.launched = kwargs


@pytest.fixture
def launched(monkeypatch):
    demos: list[FakeDemo] = []

    def fake_build_app(factory):
        demos.append(FakeDemo(factory))
        return demos[-1]

    monkeypatch.setattr(app, "build_app", fake_build_app)
    return demos


def test_defaults_bind_loopback_and_use_the_default_bot(launched, monkeypatch):
    monkeypatch.delenv("QA_AUTH", raising=False)
    app.main([])
    (demo,) = launched
    assert demo.launched == {
        "server_name": "127.0.0.1",
        "server_port": 7860,
        "auth": None,
        "max_file_size": 50 * 1024 * 1024,  # Gradio refuses bigger uploads before they reach the app
        **app.launch_options(),  # the theme, CSS and scrolling script the chat is designed with
    }
    assert demo.factory is default_qa


def test_index_and_corpus_options(launched, monkeypatch, tmp_path):
    monkeypatch.setenv("QA_AUTH", "ann:pw")
    calls = []
    monkeypatch.setattr(app.QA, "load", classmethod(lambda cls, *a, **kw: calls.append((a, kw)) or "bot"))
    app.main(["--index", str(tmp_path / "i"), "--corpus", str(tmp_path / "c"), "--host", "0.0.0.0", "--port", "9"])
    (demo,) = launched
    assert {k: demo.launched[k] for k in ("server_name", "server_port", "auth")} == {
        "server_name": "0.0.0.0",
        "server_port": 9,
        "auth": ("ann", "pw"),
    }
    assert demo.factory() == "bot"
    assert calls == [
        ((str(tmp_path / "i"),), {"corpus": str(tmp_path / "c"), "model": None, "settings": AnswerSettings()})
    ]


def test_there_is_no_share_option(launched):
    with pytest.raises(SystemExit):
        app.main(["--share"])


def test_auth_comes_from_the_environment(monkeypatch):
    from ui.app import auth_from_env

    monkeypatch.delenv("QA_AUTH", raising=False)
    assert auth_from_env() is None
    monkeypatch.setenv("QA_AUTH", "ann:s3cret:with:colons")
    assert auth_from_env() == ("ann", "s3cret:with:colons")
    monkeypatch.setenv("QA_AUTH", "no-password")
    with pytest.raises(SystemExit, match="user:password"):
        auth_from_env()


def test_reader_and_translation_options_reach_the_bot(launched, monkeypatch):
    calls = []
    monkeypatch.setattr(app.QA, "load", classmethod(lambda cls, *a, **kw: calls.append(kw) or "bot"))
    app.main(["--read-sentences", "0", "--no-translate"])
    (demo,) = launched
    assert demo.factory() == "bot"
    settings = calls[0]["settings"]
    assert settings.read_sentences == 0 and settings.translate is False


def test_a_bad_reader_option_stops_the_start_with_its_message(launched):
    with pytest.raises(ConfigError, match="read_sentences"):
        app.main(["--read-sentences", "99"])
    assert launched == []
