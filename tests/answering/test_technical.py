"""Answer types of technical text, and answers taken from a chunk's structure (terms, table cells, commands)."""

from __future__ import annotations

import pytest

from qa.answering.confidence import ConfidenceFeatures
from qa.answering.technical import (
    DEFAULT,
    HOWTO,
    IDENT,
    ask,
    code_tokens,
    command_line,
    default_value,
    table_cell,
    term_name,
    widen,
)
from qa.api import QA
from tests.conftest import FakeEmbedder, assert_verifiable, write_corpus
from tests.ingest.test_structure_readers import MKDOCS, SPHINX, SQLITE


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Which exception is raised when the server did not send any data?", IDENT),
        ("Which Session method registers a connection adapter to a URL prefix?", IDENT),
        ("Which environment variable selects the environment to use?", IDENT),
        ("What table qualifier refers to the value that would have been inserted?", IDENT),
        ("How do I build only the wheel?", HOWTO),
        ("How can I generate a globally unique identifier?", HOWTO),
        ("What is the default page size of a new database?", DEFAULT),
        ("Since which release can Visual Studio Code find it?", ""),
        ("Who founded Acme Robotics?", ""),
    ],
)
def test_ask_reads_the_technical_answer_type(question, kind):
    assert ask(question).kind == kind


def words(text: str, spans) -> list[str]:
    return [text[a:b] for a, b in spans]


def test_code_tokens_keep_meaningful_punctuation_and_drop_markup():
    text = (
        "Use `.venv`, run `cargo clippy --fix` or set re.S (see ~/.netrc). The HATCH_ENV variable¶ and json_replace()."
    )
    assert words(text, code_tokens(text, 0, len(text))) == [
        ".venv",
        "--fix",
        "re.S",
        "~/.netrc",
        "HATCH_ENV",
        "json_replace()",
    ]
    plain = "The U.S. Department of Energy awarded a grant to Acme Robotics in October 2020."
    assert code_tokens(plain, 0, len(plain), loose=False) == [], "prose has no code in it"


@pytest.mark.parametrize(
    ("text", "cut", "whole"),
    [
        ("Create it in .venv first.", "venv", ".venv"),
        ("Run cargo clippy --fix now.", "fix", "--fix"),
        ("Pass the flag re.S to it.", "S", "re.S"),
        ("The name is `HATCH_CONFIG`.", "CONFIG", "HATCH_CONFIG"),
    ],
)
def test_widen_makes_a_cut_code_word_whole(text, cut, whole):
    a = text.index(cut)
    start, end = widen(text, a, a + len(cut), 0, len(text))
    assert text[start:end] == whole


@pytest.mark.parametrize(
    ("term", "name"),
    [
        ("exception requests.ReadTimeout(*args, **kwargs)", "requests.ReadTimeout"),
        ("class requests.Session", "requests.Session"),
        ("iter_lines(chunk_size=512, decode_unicode=False)", "iter_lines"),
        ("property is_redirect", "is_redirect"),
        ("PRAGMA schema.user_version;", "schema.user_version"),
        ("coalesce(X,Y,...)", "coalesce"),
    ],
)
def test_term_name_is_the_identifier_without_keywords_or_parameters(term, name):
    a, b = term_name(term, 0, len(term))
    assert term[a:b] == name


def test_table_cell_is_the_one_under_the_asked_for_column():
    header = "Level | Default style"
    text = "warning | bold yellow"
    cell = table_cell("What is the default style of the warning level?", text, (0, len(text)), header)
    assert text[cell[0] : cell[1]] == "bold yellow"
    header = "Segments | New version"
    text = "micro patch fix | 1.0.1"
    cell = table_cell("Which new version does the micro segment make of 1.0.0?", text, (0, len(text)), header)
    assert text[cell[0] : cell[1]] == "1.0.1"


def test_command_line_drops_the_prompt_and_skips_output():
    code = "$ hatch build -t wheel\n[wheel]\ndist/hatch_demo-1rc0-py3-none-any.whl"
    a, b = command_line("How do I build only the wheel?", code, 0, len(code))
    assert code[a:b] == "hatch build -t wheel"


def test_default_value_from_a_signature_and_a_default_mark():
    sig = "iter_lines(chunk_size=512, decode_unicode=False, delimiter=None)"
    a, b = default_value("What is the default chunk_size of Response.iter_lines()?", sig, 0, len(sig))
    assert sig[a:b] == "512"
    row = "HATCH_PYTHON_VARIANT_CPU | Linux | v1 v2 v3 (default) v4"
    a, b = default_value("What is the default of HATCH_PYTHON_VARIANT_CPU?", row, 0, len(row))
    assert row[a:b] == "v3"


@pytest.fixture(scope="module")
def docs_bot(tmp_path_factory):
    root = tmp_path_factory.mktemp("docs")
    corpus = write_corpus(root / "corpus", {"api.html": SPHINX, "faq.html": SQLITE, "config.md": MKDOCS})
    return QA.load(root / "index", corpus=corpus, embedder=FakeEmbedder()), corpus


@pytest.mark.parametrize(
    ("question", "answer", "source"),
    [
        (
            "Which exception is raised when the server did not send any data in the allotted time?",
            "requests.ReadTimeout",
            "api.html",
        ),
        ("Which Session method registers a connection adapter to a prefix?", "mount", "api.html"),
        ("In the table of output levels, what is the default style of the warning level?", "bold yellow", "config.md"),
        ("Which affinity does the type name DECIMAL(10,5) get?", "NUMERIC", "faq.html"),
        ("How do I build only the wheel?", "hatch build -t wheel", "config.md"),
    ],
)
def test_answers_come_from_the_structure_and_are_exact_slices_of_their_file(docs_bot, question, answer, source):
    bot, corpus = docs_bot
    got = bot.answer(question, threshold=0.0)
    assert got.text == answer and got.source == source
    assert_verifiable(got, corpus)


def test_the_confidence_features_of_a_doc_style_question(docs_bot):
    bot, _ = docs_bot
    features = bot.choose("Which exception is raised when the server did not send any data in the allotted time?")
    got = features.extract.features
    assert isinstance(got, ConfidenceFeatures)
    assert got.structured == 1.0, "the answer is the definition's term: taken from the structure"
    assert got.coverage > 0.5 and got.type_missing == 0.0
    prose = bot.choose("Hatch uses what to start quickly?").extract.features
    assert prose.structured == 0.0
