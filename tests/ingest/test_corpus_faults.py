"""Corpus faults: a huge file, a file that vanishes mid-build, thousands of tiny files."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from qa.api import QA, build, staleness
from qa.ingest import documents as documents_module
from qa.ingest.documents import read_document
from qa.settings import ChunkSettings
from tests.conftest import FakeEmbedder, assert_verifiable, write_corpus

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]

HUGE = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {root!r})
    from qa.api import build
    from tests.conftest import FakeEmbedder
    report = build({corpus!r}, {index!r}, embedder=FakeEmbedder())
    print(json.dumps({{
        "documents": sorted(report.manifest.documents),
        "skipped": [[s.path, s.reason] for s in report.skipped],
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forked parent (pytest, maybe large)
        "peak_mb": next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024,
    }}))
    """
)


def test_a_200_mb_file_is_skipped_by_name_in_bounded_memory(tmp_path):
    import json

    corpus = write_corpus(tmp_path / "corpus", {"small.txt": "The small file is indexed."})
    line = b"All work and no play makes a very large text file indeed. " * 16 + b"\n"
    with open(corpus / "huge.txt", "wb") as f:
        for _ in range(200 * 1024 * 1024 // len(line) + 1):
            f.write(line)
    assert (corpus / "huge.txt").stat().st_size >= 200 * 1024 * 1024
    code = HUGE.format(root=str(ROOT), corpus=str(corpus), index=str(tmp_path / "index"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["documents"] == ["small.txt"]
    ((path, reason),) = got["skipped"]
    assert path == "huge.txt" and "200 MB, larger than the 50 MB limit (QA_MAX_FILE_MB)" in reason
    assert got["peak_mb"] < 400, f"the huge file was read into memory: {got['peak_mb']:.0f} MB"


def test_a_file_that_vanishes_during_the_build_is_named_and_the_rest_indexed(tmp_path, monkeypatch):
    corpus = write_corpus(tmp_path / "corpus", {"a.txt": "Alpha stays here.", "b.txt": "Beta will vanish."})

    def vanish_then_read(corpus_dir, source):
        if source.path == "b.txt":
            (corpus / "b.txt").unlink()
        return read_document(corpus_dir, source)

    monkeypatch.setattr(documents_module, "read_document", vanish_then_read)
    report = build(corpus, tmp_path / "index", embedder=FakeEmbedder())
    assert list(report.manifest.documents) == ["a.txt"]
    assert [(s.path, "could not be read" in s.reason) for s in report.skipped] == [("b.txt", True)]
    assert staleness(report.manifest, corpus, FakeEmbedder().name, ChunkSettings()) == []


@pytest.mark.slow
def test_thousands_of_tiny_files(tmp_path):
    files = {f"notes/{i // 500}/n{i:04d}.txt": f"Locker {i} opens with code {i * 7 + 3}." for i in range(3000)}
    corpus = write_corpus(tmp_path / "corpus", files)
    report = build(corpus, tmp_path / "index", embedder=FakeEmbedder())
    assert report.manifest.counts["documents"] == 3000 and report.skipped == ()
    bot = QA.load(tmp_path / "index", embedder=FakeEmbedder(), on_stale="error")
    answer = bot.answer("Which code opens locker 1234?")
    assert answer.found and answer.source == "notes/2/n1234.txt" and "8641" in answer.text
    assert_verifiable(answer, corpus)
    again = build(corpus, tmp_path / "index", embedder=FakeEmbedder())
    assert len(again.kept) == 3000 and again.manifest == report.manifest
