#!/usr/bin/env bash
# Create (or update) the virtual environment and install the project with its test tools.
# Usage: bash scripts/setup.sh        (VENV=path to use another folder than .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# torch first and pinned: 2.13.0 is the CPU build on this machine's disk; any other pulls a multi-GB CUDA build.
"$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
"$VENV/bin/python" -m pip install --quiet -e ".[test]"
# The optional stores and builders (issue 18), so that the tests of Milvus and Ray run too.
"$VENV/bin/python" -m pip install --quiet -e ".[milvus,ray]"
# The browser tests drive Debian's Chromium through Playwright (never `playwright install`).
# Not fatal: the chat itself does not need it; without it the browser tests fail and say so.
if [ ! -x /usr/bin/chromium ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null; } \
        || echo "warning: could not install chromium (apt-get install -y chromium); the browser tests need it" >&2
fi
echo "ready: $VENV"
