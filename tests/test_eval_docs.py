"""The documentation question sets (eval/docs/): their files' form, the fetch script's extraction and the checker.

No network: the packages are made here; the committed question files are read as they are.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import lzma
import tarfile
from pathlib import Path

import pytest

from qa.evaluation import load_questions, normalize_answer

DOCS = Path(__file__).resolve().parent.parent / "eval" / "docs"


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"eval_docs_{name}", DOCS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fetch = _module("fetch")
check = _module("check")
MANIFEST = json.loads((DOCS / "manifest.json").read_text(encoding="utf-8"))["sets"]


# --- the committed sets ---------------------------------------------------------------------------
def test_manifest_pins_every_set_and_holds_one_out():
    assert len(MANIFEST) >= 3
    assert [name for name, s in MANIFEST.items() if s.get("held_out")] == ["git"]
    for spec in MANIFEST.values():
        assert spec["kind"] in ("apt", "pypi") and spec["version"] and len(spec["sha256"]) == 64
        paths = [f["path"] for f in spec["files"]]
        assert len(paths) == len(set(paths)) and all(len(f["sha256"]) == 64 for f in spec["files"])


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_question_file_is_well_formed(name):
    questions = load_questions(DOCS / name / "questions.jsonl")
    files = {f["path"] for f in MANIFEST[name]["files"]}
    assert len({q["id"] for q in questions}) == len(questions) >= check.MINIMA["all"]
    for q in questions:
        assert q["type"] in check.TYPES and set(q) <= check.FIELDS
        if q["type"] == "unanswerable":
            assert q["answers"] == [] and "source" not in q
        else:
            assert q["answers"] and q["source"] in files
            # a gold string that normalizes to nothing could never be matched by `qa eval`
            assert all(normalize_answer(a) for a in q["answers"]), q["id"]


def test_sets_together_hold_150_questions():
    assert sum(len(load_questions(DOCS / name / "questions.jsonl")) for name in MANIFEST) >= 150


# --- fetch.py: a .deb made here -----------------------------------------------------------------
def _tar_xz(members: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return lzma.compress(raw.getvalue())


def _ar(members: dict[str, bytes]) -> bytes:
    out = b"!<arch>\n"
    for name, data in members.items():
        header = f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode("ascii")
        out += header + data + (b"\n" if len(data) % 2 else b"")
    return out


def _deb(files: dict[str, bytes]) -> bytes:
    data = _tar_xz({f"./usr/share/doc/x/{k}": v for k, v in files.items()})
    return _ar({"debian-binary": b"2.0\n", "control.tar.xz": _tar_xz({}), "data.tar.xz": data})


def _spec(files: dict[str, bytes], listed: list[str]) -> dict:
    sha = {k: hashlib.sha256(v).hexdigest() for k, v in files.items()}
    files_listed = [{"path": p, "sha256": sha[p]} for p in listed]
    return {"kind": "apt", "package": "x-doc", "version": "1.0-1", "root": "usr/share/doc/x", "files": files_listed}


def test_extract_takes_exactly_the_listed_files(tmp_path):
    files = {"a.html": b"<p>one</p>", "sub/b.html": b"<p>two</p>", "c.html": b"<p>not listed</p>"}
    written = fetch.extract(_spec(files, ["a.html", "sub/b.html"]), _deb(files), tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == ["a.html", "sub/b.html"]
    assert (tmp_path / "sub" / "b.html").read_bytes() == b"<p>two</p>" and not (tmp_path / "c.html").exists()


def test_extract_refuses_a_changed_file(tmp_path):
    files = {"a.html": b"<p>one</p>"}
    spec = _spec(files, ["a.html"])
    spec["files"][0]["sha256"] = "0" * 64
    with pytest.raises(fetch.FetchError, match=r"a\.html has SHA-256"):
        fetch.extract(spec, _deb(files), tmp_path)
    assert not (tmp_path / "a.html").exists()


def test_extract_names_a_missing_file(tmp_path):
    files = {"a.html": b"<p>one</p>"}
    spec = _spec(files, ["a.html"])
    spec["files"].append({"path": "gone.html", "sha256": "0" * 64})
    with pytest.raises(fetch.FetchError, match=r"x-doc 1\.0-1 lacks listed files: gone\.html"):
        fetch.extract(spec, _deb(files), tmp_path)


# --- check.py -------------------------------------------------------------------------------------
def test_visible_text_of_html_drops_head_and_scripts_and_decodes_entities():
    html = "<html><head><title>T</title><script>x=1</script></head>"
    html += "<body><dl><dt>abs(X)</dt><dd>A &amp; B</dd></dl></body>"
    text = check.squash(check.visible_html(html))
    assert text == "abs(X) A & B"


def test_visible_text_of_markdown_keeps_code_spans_as_written():
    md = "Use `__token__` or **bold** [link](http://x) and `a_b`, see __init__ stays."
    assert check.visible_markdown(md) == "Use __token__ or bold link and a_b, see init stays."


def test_check_set_flags_an_answer_missing_from_its_source(tmp_path):
    (tmp_path / "p.html").write_text("<p>The default is <code>--soft</code>.</p>", encoding="utf-8")
    spec = {"files": [{"path": "p.html", "sha256": "0" * 64}], "has_tables": False}
    lines = [
        {"id": "a", "question": "q?", "type": "code", "answers": ["--soft"], "source": "p.html"},
        {"id": "b", "question": "q?", "type": "code", "answers": ["--hard"], "source": "p.html"},
        {"id": "c", "question": "q?", "type": "unanswerable", "answers": ["x"]},
    ]
    qdir = tmp_path / "sets" / "tiny"
    qdir.mkdir(parents=True)
    (qdir / "questions.jsonl").write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    errors, _, counts = check.check_set("tiny", spec, tmp_path, None, questions=qdir / "questions.jsonl")
    assert any("'--hard' is not in the visible text" in e for e in errors)
    assert not any("'--soft'" in e for e in errors)
    assert any("unanswerable question has answers" in e for e in errors)
    assert counts["code"] == 2
