"""The `qa` command: exit codes, messages without tracebacks, index and ask end to end (FakeEmbedder)."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest

from qa import api, cli
from qa.index import read_manifest
from qa.index.embedding import SentenceTransformerEmbedder
from qa.ingest.documents import read_text
from qa.settings import BASE_MODEL
from tests.conftest import FakeEmbedder, write_corpus


@pytest.fixture
def fake_model(monkeypatch):
    """`qa` loads its model through SentenceTransformerEmbedder.load; give it a FakeEmbedder of that name."""
    loaded: list[str] = []

    def load(name=BASE_MODEL, **kwargs):
        loaded.append(name)
        return FakeEmbedder(name=name)

    monkeypatch.setattr(SentenceTransformerEmbedder, "load", staticmethod(load))
    monkeypatch.delenv("QA_MODEL", raising=False)
    monkeypatch.delenv("QA_INDEX", raising=False)
    monkeypatch.delenv("QA_CORPUS", raising=False)
    api.reset_default()
    return loaded


@pytest.fixture
def indexed(tmp_path, corpus_dir, fake_model, capsys):
    index = tmp_path / "idx"
    assert cli.main(["index", "--corpus", str(corpus_dir), "--index", str(index)]) == 0
    capsys.readouterr()
    return corpus_dir, index


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_empty_question_is_an_error_without_traceback(capsys, fake_model):
    code, out, err = run(capsys, "ask", "")
    assert code == 1
    assert err.startswith("error: ") and "empty" in err
    assert "Traceback" not in err and out == ""
    assert fake_model == []  # refused before any model is loaded


def test_ask_huge_question_is_an_error(capsys, fake_model):
    code, _, err = run(capsys, "ask", "why? " * 1000)
    assert code == 1 and "error:" in err and "characters long" in err and "Traceback" not in err


def test_index_builds_and_reports(tmp_path, corpus_dir, fake_model, capsys):
    (corpus_dir / "blob.txt").write_bytes(b"\x00\x01\x02")
    index = tmp_path / "idx"
    code, out, err = run(capsys, "index", "--corpus", str(corpus_dir), "--index", str(index))
    assert code == 0
    assert "indexed 2 documents" in out and BASE_MODEL in out
    assert "skipped blob.txt: binary file" in err
    manifest = read_manifest(index)
    assert manifest.model == BASE_MODEL
    assert set(manifest.documents) == {"acme.txt", "notes/history.md"}
    assert fake_model == [BASE_MODEL]


def test_index_chunking_options_are_recorded(tmp_path, corpus_dir, fake_model, capsys):
    index = tmp_path / "idx"
    argv = ["index", "--corpus", str(corpus_dir), "--index", str(index), "--max-chars", "150", "--overlap", "0"]
    code, _, _ = run(capsys, *argv)
    assert code == 0
    chunking = read_manifest(index).chunking
    assert chunking["max_chars"] == 150 and chunking["overlap_sentences"] == 0


def test_index_with_a_named_model(tmp_path, corpus_dir, fake_model, capsys):
    code, out, _ = run(capsys, "index", "--corpus", str(corpus_dir), "--index", str(tmp_path / "i"), "--model", "m2")
    assert code == 0 and "m2" in out
    assert read_manifest(tmp_path / "i").model == "m2"


@pytest.mark.parametrize(
    ("argv", "phrase"),
    [
        (["index", "--max-chars", "5"], "max_chars"),
        (["index", "--overlap", "9"], "overlap_sentences"),
        (["ask", "Who?", "--threshold", "2"], "threshold"),
        (["ask", "Who?", "--top-k", "0"], "top_k"),
        (["ask", "Who?", "--read-sentences", "9"], "read_sentences"),
    ],
)
def test_bad_options_are_errors(tmp_path, corpus_dir, fake_model, capsys, argv, phrase):
    argv = [*argv, "--corpus", str(corpus_dir), "--index", str(tmp_path / "idx")]
    code, _, err = run(capsys, *argv)
    assert code == 1
    assert err.startswith("error: ") and phrase in err and "Traceback" not in err


def test_index_of_a_missing_corpus(tmp_path, fake_model, capsys):
    code, _, err = run(capsys, "index", "--corpus", str(tmp_path / "nope"), "--index", str(tmp_path / "idx"))
    assert code == 1 and "not found" in err and "nope" in err and "Traceback" not in err


def test_ask_on_a_missing_index_without_corpus(tmp_path, fake_model, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, "ask", "Who?", "--index", str(tmp_path / "empty"))
    assert code == 1 and "qa index" in err and "Traceback" not in err


def test_ask_json(indexed, capsys):
    corpus, index = indexed
    code, out, err = run(capsys, "ask", "Who founded Acme Robotics?", "--index", str(index), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["found"] is True
    assert "Jane Doe" in data["text"]
    assert data["source"] == "acme.txt"
    doc = read_text(corpus / data["source"])
    assert doc[data["start"] : data["end"]] == data["text"]
    assert 1 <= len(data["quotes"]) <= 3
    for q in data["quotes"]:
        assert read_text(corpus / q["source"])[q["start"] : q["end"]] == q["text"]
    assert data["quotes"][0]["highlight"] == [data["start"], data["end"]]


def test_ask_text_output_and_top_k(indexed, capsys):
    _, index = indexed
    code, out, _ = run(capsys, "ask", "Who founded Acme Robotics?", "--index", str(index), "--top-k", "2")
    assert code == 0
    lines = out.splitlines()
    assert "Jane Doe" in lines[0]
    assert "confidence" in lines[1] and "acme.txt" in lines[1]
    assert out.count("[1] ") == 1 and out.count("[2] ") == 1 and "[3] " not in out
    assert "acme.txt, paragraph 1 (line 1), characters 0-" in out


def test_ask_unanswerable_says_not_found(indexed, capsys):
    _, index = indexed
    code, out, _ = run(capsys, "ask", "What is the tallest mountain in Japan?", "--index", str(index))
    assert code == 0
    assert out.startswith("Not found in the documents")


@pytest.mark.parametrize("retriever", ["dense", "bm25", "hybrid"])
def test_ask_with_each_retriever(indexed, capsys, retriever):
    _, index = indexed
    code, out, _ = run(capsys, "ask", "Who founded Acme Robotics?", "--index", str(index), "--retriever", retriever)
    assert code == 0 and "Jane Doe" in out.splitlines()[0]


@pytest.mark.parametrize("n", ["0", "1", "2"])
def test_ask_with_or_without_the_reader(indexed, capsys, n):
    corpus, index = indexed
    code, out, _ = run(
        capsys, "ask", "When was Acme Robotics founded?", "--index", str(index), "--json", "--read-sentences", n
    )
    assert code == 0
    data = json.loads(out)
    assert data["found"] and "March 2019" in data["text"]
    assert read_text(corpus / data["source"])[data["start"] : data["end"]] == data["text"]
    if n != "0":
        assert data["text"] == "March 2019", "the reader's words, not the sentence"


def test_ask_rebuilds_a_stale_index(indexed, capsys):
    corpus, index = indexed
    (corpus / "zeta.txt").write_text("Bob Stone founded Zeta Corp in 1999.\n", encoding="utf-8")
    code, out, _ = run(capsys, "ask", "Who founded Zeta Corp?", "--index", str(index), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["source"] == "zeta.txt" and "Bob Stone" in data["text"]
    assert "zeta.txt" in read_manifest(index).documents


def test_default_paths_come_from_the_environment(tmp_path, fake_model, capsys, monkeypatch):
    corpus = write_corpus(tmp_path / "envcorpus")
    monkeypatch.setenv("QA_CORPUS", str(corpus))
    monkeypatch.setenv("QA_INDEX", str(tmp_path / "envindex"))
    code, _, _ = run(capsys, "index")
    assert code == 0 and (tmp_path / "envindex" / "manifest.json").is_file()
    code, out, _ = run(capsys, "ask", "Who founded Acme Robotics?")
    assert code == 0 and "Jane Doe" in out


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["ask"], ["ask", "q", "--retriever", "x"]])
def test_usage_errors_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert "usage: qa" in capsys.readouterr().err


def test_keyboard_interrupt_exits_130(capsys, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_ask", interrupted)
    code, _, err = run(capsys, "ask", "Who?")
    assert code == 130 and "interrupted" in err


def test_ask_over_a_corpus_without_sentences_has_no_traceback(tmp_path, fake_model, capsys):
    corpus = write_corpus(tmp_path / "c", {"list.md": "# Shopping\n- Apples\n- Pears\n"})
    index = str(tmp_path / "idx")
    code, _, err = run(capsys, "index", "--corpus", str(corpus), "--index", index)
    if code == 0:
        code, _, err = run(capsys, "ask", "What is on the shopping list?", "--index", index)
    assert code in (0, 1)
    assert "Traceback" not in err


def test_eval_on_a_question_set_writes_a_report(indexed, tmp_path, capsys):
    corpus, index = indexed
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"question": "Who founded Acme Robotics?", "answers": ["Jane Doe"]}\n'
        '{"question": "What is the tallest mountain in Japan?", "answers": []}\n',
        encoding="utf-8",
    )
    report = tmp_path / "out" / "report.json"
    argv = ["eval", "--questions", str(questions), "--index", str(index), "--corpus", str(corpus)]
    code, out, _ = run(capsys, *argv, "--report", str(report))
    assert code == 0
    assert "answer_accuracy" in out and str(report) in out
    (data,) = json.loads(report.read_text(encoding="utf-8"))
    assert set(data["summary"]) == {"hybrid", "dense", "bm25"}
    assert data["summary"]["hybrid"]["questions"] == 2
    assert data["summary"]["hybrid"]["answer_accuracy"] == 1.0
    curve = data["summary"]["hybrid"]["recall_curve"]  # a chunk holding the gold answer within the top k
    assert len(curve) == 10 and curve[0] == 1.0
    png = report.with_suffix(".png")
    assert f"plot: {png}" in out and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_on_a_squad_file(tmp_path, fake_model, capsys, monkeypatch):
    from qa import evaluation

    monkeypatch.setattr(evaluation, "CACHE", tmp_path / "cache")
    squad = {
        "data": [
            {
                "title": "Acme",
                "paragraphs": [
                    {
                        "context": "Acme Robotics was founded by Jane Doe in March 2019.",
                        "qas": [
                            {"id": "a1", "question": "Who founded Acme Robotics?", "answers": [{"text": "Jane Doe"}]}
                        ],
                    }
                ],
            },
            {
                "title": "Zeta",
                "paragraphs": [
                    {
                        "context": "Bob Stone founded Zeta Corp in 1999. Zeta makes valves.",
                        "qas": [{"id": "z1", "question": "What does Zeta make?", "answers": [{"text": "valves"}]}],
                    }
                ],
            },
        ]
    }
    path = tmp_path / "tiny-squad.json"
    path.write_text(json.dumps(squad), encoding="utf-8")
    report = tmp_path / "r.json"
    code, _, _ = run(capsys, "eval", "--squad", str(path), "--report", str(report))
    assert code == 0
    assert (tmp_path / "cache" / "tiny-squad" / "index" / "manifest.json").is_file()
    (data,) = json.loads(report.read_text(encoding="utf-8"))
    hybrid = data["summary"]["hybrid"]
    assert hybrid["questions"] == 2
    assert "recall@1" in hybrid and hybrid["recall@5"] == 1.0


def test_serve_passes_its_options_to_the_app(monkeypatch, tmp_path, corpus_dir, fake_model):
    import ui.app

    launched = {}

    class App:
        def launch(self, **kwargs):
            launched.update(kwargs)

    def build_app(factory):
        launched["factory"] = factory
        return App()

    monkeypatch.setattr(ui.app, "build_app", build_app)
    monkeypatch.delenv("QA_AUTH", raising=False)
    argv = ["serve", "--index", str(tmp_path / "i"), "--corpus", str(corpus_dir), "--model", "m2", "--port", "7999"]
    assert cli.main(argv) == 0
    assert launched["server_name"] == "127.0.0.1" and launched["server_port"] == 7999
    assert launched["auth"] is None
    bot = launched["factory"]()  # loads (here: builds) the index with the named model
    assert bot.index.manifest.model == "m2"
    assert bot.settings.read_sentences == 2 and bot.settings.translate is True


def test_serve_passes_the_reader_and_translation_settings(monkeypatch, tmp_path, corpus_dir, fake_model):
    import ui.app

    factories = []
    monkeypatch.setattr(ui.app, "build_app", lambda factory: factories.append(factory) or SimpleNamespace(launch=dict))
    argv = ["serve", "--index", str(tmp_path / "i"), "--corpus", str(corpus_dir), "--read-sentences", "0"]
    assert cli.main([*argv, "--no-translate"]) == 0
    bot = factories[-1]()
    assert bot.settings.read_sentences == 0 and bot.settings.translate is False
    assert bot.reader is None


def test_index_again_reports_what_changed(indexed, capsys):
    corpus, index = indexed
    code, out, _ = run(capsys, "index", "--index", str(index))
    assert code == 0 and "(no change)" in out
    write_corpus(corpus, {"new.md": "A new note about gearboxes."})
    (corpus / "acme.txt").write_text("Acme Robotics was founded by John Roe.", encoding="utf-8")
    code, out, _ = run(capsys, "index", "--index", str(index))
    assert code == 0 and "(1 added, 1 changed; 1 unchanged)" in out
    code, out, _ = run(capsys, "index", "--index", str(index), "--full")
    assert code == 0 and "indexed 3 documents" in out


def test_add_remove_and_sources(tmp_path, indexed, capsys):
    from tests.conftest import make_pdf

    corpus, index = indexed
    src = write_corpus(tmp_path / "src", {"report.pdf": make_pdf(["The Ghent depot opened in 1998."]), "x.exe": "MZ"})
    code, out, err = run(capsys, "add", str(src / "report.pdf"), str(src / "x.exe"), "--index", str(index))
    assert code == 0
    assert "added report.pdf as report.pdf" in out and "1 added" in out
    assert "refused x.exe: not a supported type" in err
    assert (corpus / "report.pdf").is_file()

    code, out, _ = run(capsys, "sources", "--index", str(index))
    assert code == 0
    assert "indexed  report.pdf  (pdf; 1 chunks, indexed " in out and "acme.txt" in out

    code, out, _ = run(capsys, "sources", "--index", str(index), "--json")
    rows = {r["path"]: r for r in json.loads(out)}
    assert rows["report.pdf"]["format"] == "pdf" and rows["report.pdf"]["chunks"] == 1

    code, out, _ = run(capsys, "ask", "When did the Ghent depot open?", "--index", str(index), "--json")
    data = json.loads(out)
    assert data["found"] and data["source"] == "report.pdf" and data["quotes"][0]["page"] == 1

    code, out, _ = run(capsys, "remove", "report.pdf", "--index", str(index))
    assert code == 0 and "1 removed" in out and not (corpus / "report.pdf").exists()
    code, _, err = run(capsys, "remove", "../acme.txt", "--index", str(index))
    assert code == 1 and "error: '../acme.txt' is not a document of the corpus" in err


def test_add_with_nothing_accepted_exits_1(tmp_path, indexed, capsys):
    _, index = indexed
    src = write_corpus(tmp_path / "src", {"x.exe": "MZ"})
    code, out, err = run(capsys, "add", str(src / "x.exe"), "--index", str(index))
    assert code == 1 and "refused x.exe" in err and out == ""


def test_index_type_option(indexed, capsys):
    _, index = indexed
    code, out, _ = run(capsys, "index", "--index", str(index), "--index-type", "hnsw")
    assert code == 0 and "(no change)" in out
    assert read_manifest(index).vector_index["type"] == "hnsw"
    code, out, _ = run(capsys, "ask", "Who founded Acme Robotics?", "--index", str(index))
    assert code == 0 and "Jane Doe" in out


def test_ask_in_chinese_shows_the_english_reading(indexed, capsys):
    """The real CC-CEDICT reads the question; --no-translate reads it only as it is."""
    _, index = indexed
    code, out, _ = run(capsys, "ask", "谁创立了Acme Robotics？", "--index", str(index))
    assert code == 0
    lines = out.splitlines()
    assert "Jane Doe" in lines[0]
    assert lines[1].startswith("  (read in English, word by word, as: who is ") and "Acme Robotics?" in lines[1]
    code, out, _ = run(capsys, "ask", "谁创立了Acme Robotics？", "--index", str(index), "--no-translate")
    assert code == 0 and "read in English" not in out


def test_remove_says_how_to_restore_and_restore_brings_it_back(tmp_path, indexed, capsys):
    corpus, index = indexed
    write_corpus(corpus, {"a/notes.txt": "Alpha notes about gearboxes.", "b/notes.txt": "Beta notes about pumps."})
    run(capsys, "index", "--index", str(index))
    code, out, _ = run(capsys, "remove", "a/notes.txt", "b/notes.txt", "--index", str(index))
    assert code == 0 and "2 removed" in out
    names = re.findall(r"`qa restore (\S+)` brings it back", out)
    assert len(set(names)) == 2

    code, out, _ = run(capsys, "removed", "--index", str(index))
    assert code == 0 and all(name in out for name in names) and "(a/notes.txt; 28 bytes; removed 20" in out
    code, out, _ = run(capsys, "removed", "--index", str(index), "--json")
    assert {e["path"] for e in json.loads(out)} == {"a/notes.txt", "b/notes.txt"}

    code, out, _ = run(capsys, "restore", names[0], "b/notes.txt", "--index", str(index))
    assert code == 0 and "restored a/notes.txt" in out and "restored b/notes.txt" in out and "2 added" in out
    assert (corpus / "a" / "notes.txt").read_text() == "Alpha notes about gearboxes."
    assert set(read_manifest(index).documents) >= {"a/notes.txt", "b/notes.txt"}
    code, out, err = run(capsys, "removed", "--index", str(index))
    assert code == 0 and out == "" and "nothing removed" in err
    code, _, err = run(capsys, "restore", names[0], "--index", str(index))
    assert code == 1 and err.startswith("error: nothing removed is called")
