#!/usr/bin/env bash
# Create (or update) the virtual environment and install the project.
# Usage: bash scripts/setup.sh           what the chat needs (qa serve, qa ask, the Python API)
#        bash scripts/setup.sh --test    that, plus the test tools and Debian's Chromium for the browser tests
# (VENV=path to use another folder than .venv; PYTHON=the interpreter that makes it)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
TEST=0
for arg in "$@"; do
    case "$arg" in
        --test) TEST=1 ;;
        *) echo "usage: bash scripts/setup.sh [--test]" >&2; exit 2 ;;
    esac
done
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# torch first and pinned: 2.13.0 is the CPU build on this machine's disk; any other pulls a multi-GB CUDA build.
"$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
if [ "$TEST" = 1 ]; then
    # the test tools, and the optional stores and builders (Milvus, Ray) so that their tests run too
    "$VENV/bin/python" -m pip install --quiet -e ".[test,milvus,ray]"
    # The browser tests drive Debian's Chromium through Playwright (never `playwright install`); the int8
    # kernel tests run Python under qemu-user's emulated AVX2-only CPU (tests/e2e/test_int8_kernels.py).
    if [ ! -x /usr/bin/chromium ] || ! command -v qemu-x86_64 >/dev/null; then
        SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
        { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium qemu-user >/dev/null; } \
            || echo "warning: could not install them (apt-get install -y chromium qemu-user); some tests need them" >&2
    fi
else
    "$VENV/bin/python" -m pip install --quiet -e .
fi
echo "ready: $VENV"
