"""Using the chatbot in a fresh clone leaves the repository's files as they are: `git status` stays empty."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from qa.api import PROJECT_ROOT
from tests.conftest import BUNDLED

pytestmark = pytest.mark.e2e


def test_answering_adding_and_removing_leave_a_fresh_clone_clean(tmp_path, bundled):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(PROJECT_ROOT), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("QA_INDEX", "QA_CORPUS", "QA_MODEL", "QA_ONNX")}
    env["PYTHONPATH"] = str(clone)  # the clone's own code, with the tests' model cache (QA_CACHE)
    memo = tmp_path / "memo.txt"
    memo.write_text("The canteen reopened on 4 March 2024 after repairs.\n", encoding="utf-8")

    def qa(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "qa.cli", *args], cwd=clone, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    assert "Building the index of" in qa("ask", "Which company launched Pangu Chat?")  # first use builds it
    assert "Huawei" in qa("ask", "Which company launched Pangu Chat?")
    assert "added memo.txt" in qa("add", str(memo))
    assert "4 March 2024" in qa("ask", "When did the canteen reopen?")
    qa("remove", "memo.txt")
    qa("index")
    status = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True, check=True)
    assert status.stdout == "", status.stdout
    assert (clone / "index" / "manifest.json").is_file()  # the index is there, ignored
    assert "memo.txt" in qa("removed")  # kept in the index folder, which git ignores
    assert (clone / "corpus").is_dir() and [p.name for p in (clone / "corpus").iterdir()] == [BUNDLED]
