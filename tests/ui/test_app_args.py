"""ui.app's command line (the `qa serve` parser) and its warnings, without starting a server or loading a model."""

from __future__ import annotations

import pytest

from qa.api import default_qa
from qa.settings import AnswerSettings
from ui import app
from ui.look import launch_options


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
        **launch_options(),  # the theme, CSS and scrolling script the chat is designed with
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
    from ui.serve import auth_from_env

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


def test_a_bad_reader_option_stops_the_start_with_its_message(launched, capsys):
    assert app.main(["--read-sentences", "99"]) == 1
    assert "error: read_sentences must be" in capsys.readouterr().err
    assert launched == []


def test_one_parser_for_qa_serve_and_python_m_ui_app(launched, monkeypatch, capsys):
    """`python -m ui.app` takes exactly `qa serve`'s options: its parser is the CLI's."""
    from qa import cli

    monkeypatch.delenv("QA_AUTH", raising=False)
    argv = ["--port", "9", "--read-sentences", "1", "--no-translate"]
    assert app.main(argv) == 0 and cli.main(["serve", *argv]) == 0
    assert launched[0].launched == launched[1].launched
    with pytest.raises(SystemExit):
        app.main(["--help"])
    assert "qa serve" in capsys.readouterr().out


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.org"])
def test_an_exposed_host_without_a_login_gets_a_warning_naming_the_risk(launched, monkeypatch, capsys, host):
    monkeypatch.delenv("QA_AUTH", raising=False)
    assert app.main(["--host", host]) == 0
    err = capsys.readouterr().err
    assert f"warning: serving on {host} without a login" in err
    assert "can read every document" in err and "QA_AUTH=user:password" in err
    assert launched[0].launched["server_name"] == host  # a warning, not a refusal


@pytest.mark.parametrize(("host", "auth"), [("127.0.0.1", ""), ("localhost", ""), ("::1", ""), ("0.0.0.0", "a:b")])
def test_loopback_or_a_login_gets_no_warning(launched, monkeypatch, capsys, host, auth):
    monkeypatch.setenv("QA_AUTH", auth)
    assert app.main(["--host", host]) == 0
    assert "warning" not in capsys.readouterr().err
