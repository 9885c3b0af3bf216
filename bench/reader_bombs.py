"""Hostile documents against the readers: peak memory and time of each, beside honest files of the same kind.

    .venv/bin/python bench/reader_bombs.py [--only NAME] [--seconds 60]

Each file is built here (tests/bombs.py: small on disk), put alone in a corpus
folder and read in its own child process the way `qa index` reads it
(`qa.ingest.documents.read_document`, limits from the environment); the child reports
its peak resident memory (VmHWM) and the seconds the read took. Prints a
Markdown table for docs/reliability.md. Not part of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = """
import json, sys, time
from pathlib import Path
from qa.ingest.documents import list_corpus, read_document
root = Path(sys.argv[1])
t = time.perf_counter()
(source,), _ = list_corpus(root)
got = read_document(root, source)
seconds = time.perf_counter() - t
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) * 1024
print(json.dumps({"read": hasattr(got, "text"), "chars": len(getattr(got, "text", "")),
                  "reason": getattr(got, "reason", ""), "peak": peak, "seconds": seconds}))
"""


def cases() -> dict[str, tuple[str, str, object]]:
    """name -> (file name, what it is, a function making its bytes)."""
    from tests import bombs
    from tests.conftest import make_docx, make_pdf

    sentence = "The depot in Ghent opened in 1998 and moved to Lyon in 2004, its manager said. "
    big_cell = "<table><tr><td>" + "x" * 100_000 + "</td><td>b</td></tr>" + "<tr><td>a</td><td>b</td></tr>" * 1000
    laughs = '<!DOCTYPE html [<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    return {
        "docx-honest": ("honest.docx", "honest Word file, 20,000 paragraphs", lambda: make_docx([sentence] * 20_000)),
        "docx-picture": ("picture.docx", "Word, linked picture of 1.5 GB of zeros", bombs.docx_picture_bomb),
        "docx-spaces": ("spaces.docx", "Word, document.xml of 1 GB of spaces", bombs.docx_text_bomb),
        "docx-picture-lie": (
            "picture-lie.docx",
            "Word, 1.5 GB picture declaring 1 KB",
            lambda: bombs.docx_picture_bomb(lie=True),
        ),
        "docx-spaces-lie": (
            "spaces-lie.docx",
            "Word, 1 GB of text declaring 1 KB",
            lambda: bombs.docx_text_bomb(lie=True),
        ),
        "docx-laughs": ("laughs.docx", "Word, billion laughs (nested entities)", bombs.docx_billion_laughs),
        "docx-paragraphs": (
            "paragraphs.docx",
            "Word, 3 million short paragraphs (126 MB of XML)",
            lambda: bombs.docx_many_paragraphs(3_000_000),
        ),
        "docx-parts": (
            "parts.docx",
            "Word, 20,001 zip members",
            lambda: bombs.zip_archive([bombs.member(f"p{i}", b"") for i in range(20_001)]),
        ),
        "pdf-honest": ("honest.pdf", "honest PDF, 300 pages of text", lambda: make_pdf([sentence * 30] * 300)),
        "pdf-honest-big": ("big.pdf", "honest PDF, 3,000 pages of text", lambda: make_pdf([sentence * 30] * 3000)),
        "pdf-stream": ("stream.pdf", "PDF, content stream of 1 GB of spaces", bombs.pdf_stream_bomb),
        "pdf-shared": (
            "shared.pdf",
            "PDF, 20 pages sharing one 1 MB content stream",
            lambda: bombs.pdf_shared_stream(20, 1),
        ),
        "pdf-pages": (
            "pages.pdf",
            "PDF, 50,000 pages",
            lambda: bombs.pdf_pages([0] * 50_000, [bombs._zlib_repeated(b"BT (x) Tj ET\n", 1)]),
        ),
        "html-honest": (
            "honest.html",
            "honest HTML, 20,000 paragraphs",
            lambda: ("<html><body>" + f"<p>{sentence}</p>" * 20_000 + "</body></html>").encode(),
        ),
        "html-deep": ("deep.html", "HTML, 1 million nested elements", lambda: bombs.html_deep(1_000_000)),
        "html-table": ("table.html", "HTML, a 2,000 x 2,000 table", lambda: bombs.html_table(2000, 2000)),
        "html-table-at-limit": (
            "cells.html",
            "HTML, a 310 x 320 table (99,200 cells, under the element limit)",
            lambda: bombs.html_table(310, 320),
        ),
        "html-padding": (
            "padding.html",
            "HTML, one 100,000-character cell over 1,000 rows",
            lambda: (big_cell + "</table>").encode(),
        ),
        "html-nested-tables": ("nested.html", "HTML, 2,000 nested tables", lambda: bombs.html_nested_tables(2000)),
        "html-laughs": (
            "laughs.html",
            "HTML, billion laughs",
            lambda: (laughs + "]><html><body><p>&l9;</p><p>Plain.</p></body></html>").encode(),
        ),
    }


def size(n: int) -> str:
    from qa.ingest.limits import size_text

    return size_text(n)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", action="append", help="run only these cases (repeatable)")
    p.add_argument("--seconds", type=float, default=None, help="QA_MAX_READ_SECONDS for the children")
    args = p.parse_args()
    env = dict(os.environ)
    if args.seconds is not None:
        env["QA_MAX_READ_SECONDS"] = str(args.seconds)
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), "")
    print(f"CPU: {model or platform.processor()}, {os.cpu_count()} cores; Python {platform.python_version()}\n")
    print("| file | on disk | result | peak memory | time |")
    print("| --- | ---: | --- | ---: | ---: |")
    for name, (filename, what, make) in cases().items():
        if args.only and name not in args.only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            data = make()
            (Path(tmp) / filename).write_bytes(data)
            out = subprocess.run(
                [sys.executable, "-c", CHILD, tmp], capture_output=True, text=True, env=env, cwd=ROOT, timeout=3600
            )
        if out.returncode:
            print(f"| {what} | {size(len(data))} | child failed: {out.stderr.strip()[-200:]} | | |", flush=True)
            continue
        got = json.loads(out.stdout.strip().splitlines()[-1])
        result = f"read ({got['chars']:,} characters)" if got["read"] else f"refused: {got['reason']}"
        print(f"| {what} | {size(len(data))} | {result} | {size(got['peak'])} | {got['seconds']:.2f} s |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
