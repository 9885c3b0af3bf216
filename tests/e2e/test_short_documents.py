"""End to end: a one-line note added with `qa add` is found by `qa ask`, with the real model and a real index."""

from __future__ import annotations

import json

import pytest

from qa import cli

pytestmark = pytest.mark.e2e


def test_the_wifi_note(tmp_path, capsys):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    note = tmp_path / "wifi.txt"
    note.write_bytes(b"The wifi password is hunter2\n")  # printf "The wifi password is hunter2\n" > wifi.txt
    where = ["--corpus", str(corpus), "--index", str(index)]
    assert cli.main(["add", str(note), *where]) == 0
    out = capsys.readouterr().out
    assert "added wifi.txt as wifi.txt" in out and "indexed 1 documents, 1 chunks" in out
    assert cli.main(["sources", *where]) == 0
    assert "indexed  wifi.txt  (text; 1 chunks" in capsys.readouterr().out
    assert cli.main(["ask", "What is the wifi password?", *where, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["found"] and answer["source"] == "wifi.txt" and "hunter2" in answer["text"], answer
