"""The pipeline behind `qa.answer` and `QA`: answers, quotes, staleness and rebuilds."""

from __future__ import annotations

import json
import threading

import pytest

import qa
from qa import api
from qa.answering.translation import Glossary
from qa.api import QA, build, check_question, staleness
from qa.errors import QuestionError, StaleIndexError
from qa.index import load_index, read_manifest
from qa.index.embedding import SentenceTransformerEmbedder
from qa.settings import BASE_MODEL, AnswerSettings, ChunkSettings
from tests.conftest import FakeEmbedder, assert_verifiable, write_corpus

FACTS = [
    ("Who founded Acme Robotics?", "Jane Doe", "acme.txt"),
    ("When was Acme Robotics founded?", "March 2019", "acme.txt"),
    ("How much did Acme Robotics raise in its first funding round?", "$25 million", "acme.txt"),
    ("How many engineers does Acme Robotics employ?", "120", "acme.txt"),
    ("When did the U.S. Department of Energy award a grant to Acme Robotics?", "October 2020", "notes/history.md"),
    ("Who led the project at the time?", "Dr. Smith", "notes/history.md"),
    ("Who are the partners of Acme Robotics?", "Zenith Labs, Orbit Systems, and Nova Works", "acme.txt"),
]


@pytest.mark.parametrize(("question", "expected", "source"), FACTS)
def test_answers_are_found_quoted_and_verifiable(shared_bot, shared_corpus, question, expected, source):
    answer = shared_bot.answer(question)
    assert answer.found, f"{question!r}: confidence {answer.confidence:.2f}, sentence {answer.sentence!r}"
    assert expected in answer.text
    assert answer.source == source
    assert answer.question == question
    assert answer.query == question
    assert 1 <= len(answer.quotes) <= 3
    assert answer.quotes[0].highlight == (answer.start, answer.end)
    assert all(q.highlight is None for q in answer.quotes[1:])
    assert len({(q.source, q.start) for q in answer.quotes}) == len(answer.quotes)
    assert_verifiable(answer, shared_corpus)


def test_unanswerable_question_is_not_found_but_shows_nearest_passages(shared_bot, shared_corpus):
    answer = shared_bot.answer("What is the tallest mountain in Japan?")
    assert not answer.found
    assert answer.text == ""
    assert answer.source is None and answer.start is None and answer.end is None
    assert answer.confidence < shared_bot.settings.threshold
    assert answer.quotes and all(q.highlight is None for q in answer.quotes)
    assert_verifiable(answer, shared_corpus)


def test_question_is_stripped(shared_bot):
    answer = shared_bot.answer("   Who founded Acme Robotics?\n")
    assert answer.question == "Who founded Acme Robotics?"
    assert "Jane Doe" in answer.text


def test_top_k_limits_the_quotes(shared_bot, shared_corpus):
    for k in (1, 2, 5):
        answer = shared_bot.answer("Acme Robotics robots", top_k=k)
        assert 1 <= len(answer.quotes) <= k
        assert_verifiable(answer, shared_corpus)
    assert len(shared_bot.answer("Acme Robotics robots", top_k=5).quotes) == 5  # the corpus has 5 chunks


def test_top_k_up_to_its_documented_limit_works(shared_bot, shared_corpus):
    """AnswerSettings says top_k may be 1..20; answer(top_k=10) must not trip over the default candidates=8."""
    answer = shared_bot.answer("Acme Robotics robots", top_k=10)
    assert 1 <= len(answer.quotes) <= 10
    assert_verifiable(answer, shared_corpus)


def test_threshold_decides_found(shared_index, shared_corpus):
    always = QA.load(shared_index, corpus=shared_corpus, embedder=FakeEmbedder(), settings=AnswerSettings(threshold=0))
    never = QA.load(shared_index, corpus=shared_corpus, embedder=FakeEmbedder(), settings=AnswerSettings(threshold=1))
    a = always.answer("What is the tallest mountain in Japan?")
    b = never.answer("Who founded Acme Robotics?")
    assert a.found and a.text
    assert not b.found and b.text == ""
    assert_verifiable(a, shared_corpus)
    assert_verifiable(b, shared_corpus)


@pytest.mark.parametrize("retriever", ["dense", "bm25", "hybrid"])
def test_every_retriever_answers(shared_index, shared_corpus, retriever):
    bot = QA.load(
        shared_index, corpus=shared_corpus, embedder=FakeEmbedder(), settings=AnswerSettings(retriever=retriever)
    )
    answer = bot.answer("Who founded Acme Robotics?")
    assert "Jane Doe" in answer.text
    assert_verifiable(answer, shared_corpus)


def test_bm25_only_with_no_known_word_is_not_found(shared_index, shared_corpus):
    bot = QA.load(
        shared_index, corpus=shared_corpus, embedder=FakeEmbedder(), settings=AnswerSettings(retriever="bm25")
    )
    answer = bot.answer("Zyxxy quorbl?")
    assert not answer.found and answer.text == "" and answer.quotes == ()
    assert_verifiable(answer, shared_corpus)


def test_follow_up_with_a_pronoun(shared_bot, shared_corpus):
    history = [
        {"role": "user", "content": "Who founded Acme Robotics?"},
        {"role": "assistant", "content": "**Jane Doe** (confidence 0.99)"},
    ]
    answer = shared_bot.answer("When did she found it?", history)
    assert "Jane Doe" in answer.query and "Acme Robotics" in answer.query
    assert answer.found and "March 2019" in answer.text
    assert_verifiable(answer, shared_corpus)


def test_a_follow_up_is_read_made_whole_in_the_conversations_document(shared_bot, shared_corpus):
    history = [
        {"role": "user", "content": "Who founded Acme Robotics?"},
        {"role": "assistant", "content": "**Jane Doe** (confidence 0.99)"},
    ]
    answer = shared_bot.answer("What does it build?", history)
    assert (answer.query, answer.how) == ("What does Acme Robotics build?", "with what it refers to")
    assert answer.found and answer.source == "acme.txt" and "warehouse robots" in answer.text
    tried = shared_bot.attempts("What does it build?", history)
    assert tried[0].reading.within == "acme.txt" and tried[0].features.in_focus == 1.0
    assert all(0.0 <= c.score <= 1.0 for c in tried)
    assert_verifiable(answer, shared_corpus)


def test_a_first_question_is_scored_by_its_confidence(shared_bot):
    (only,) = shared_bot.attempts("Who founded Acme Robotics?")
    assert only.score == only.confidence and only.features is None and only.reading.within is None


def test_a_yes_no_question_is_answered_with_its_evidence_sentence(shared_bot, shared_corpus):
    answer = shared_bot.answer("Does Acme Robotics employ 120 engineers in Boston?")
    assert answer.yes_no and answer.found
    assert answer.text == "It employs 120 engineers in Boston."  # the sentence that says so, not a "yes"
    assert not shared_bot.answer("How many engineers does Acme Robotics employ?").yes_no
    assert_verifiable(answer, shared_corpus)


def test_answer_to_dict_is_json(shared_bot):
    answer = shared_bot.answer("Who founded Acme Robotics?")
    d = json.loads(json.dumps(answer.to_dict()))
    assert d["text"] == answer.text and d["found"] is True
    assert d["quotes"][0]["source"] == answer.quotes[0].source
    assert d["quotes"][0]["highlight"] == [answer.start, answer.end]


def test_quote_citation(shared_bot):
    q = shared_bot.answer("Who founded Acme Robotics?").quotes[0]
    assert q.citation() == f"acme.txt, paragraph {q.paragraph} (line {q.line}), characters {q.start}-{q.end}"


def test_concurrent_answers_agree_with_sequential_ones(shared_bot):
    questions = [q for q, _, _ in FACTS] * 3
    expected = {q: shared_bot.answer(q).text for q, _, _ in FACTS}
    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def work(i: int, q: str) -> None:
        try:
            results[i] = shared_bot.answer(q).text
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, q)) for i, q in enumerate(questions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert [results[i] for i in range(len(questions))] == [expected[q] for q in questions]


# --- loading, staleness and rebuilds -----------------------------------------------------------------


def test_staleness_reasons(index_dir, corpus_dir, fake_embedder):
    manifest = read_manifest(index_dir)
    assert staleness(manifest, corpus_dir, fake_embedder.name, ChunkSettings()) == []
    (corpus_dir / "new.txt").write_text("A new document.", encoding="utf-8")
    (corpus_dir / "acme.txt").write_text("Changed.", encoding="utf-8")
    (corpus_dir / "notes" / "history.md").unlink()
    reasons = staleness(manifest, corpus_dir, "other-model", ChunkSettings(max_chars=500))
    text = "\n".join(reasons)
    assert "'other-model'" in text and fake_embedder.name in text
    assert "chunking" in text and "500" in text
    assert "added since it was built: new.txt" in text
    assert "changed since it was built: acme.txt" in text
    assert "removed since it was built: notes/history.md" in text
    assert len(reasons) == 5


def test_load_rebuilds_after_a_document_is_added(index_dir, corpus_dir, fake_embedder):
    old_build = read_manifest(index_dir).build_id
    (corpus_dir / "news.md").write_text(
        "# News\n\nAcme Robotics opened a new factory in Denver in June 2024.\n", encoding="utf-8"
    )
    bot = QA.load(index_dir, corpus=corpus_dir, embedder=fake_embedder, on_stale="rebuild")
    manifest = read_manifest(index_dir)
    assert manifest.build_id != old_build
    assert "news.md" in manifest.documents
    answer = bot.answer("Where did Acme Robotics open a new factory?")
    assert answer.found and answer.source == "news.md"
    assert "Denver" in answer.text or "Denver" in answer.sentence
    assert_verifiable(answer, corpus_dir)
    # and the corpus folder is remembered: the next load needs no corpus argument and finds it fresh
    again = QA.load(index_dir, embedder=fake_embedder, on_stale="error")
    assert "news.md" in again.index.texts


def test_load_rebuilds_after_a_document_changes(index_dir, corpus_dir, fake_embedder):
    (corpus_dir / "acme.txt").write_text("Acme Robotics was founded by John Roe in 2001.\n", encoding="utf-8")
    bot = QA.load(index_dir, embedder=fake_embedder)  # corpus from the manifest, rebuild by default
    answer = bot.answer("Who founded Acme Robotics?")
    assert "John Roe" in answer.text
    assert_verifiable(answer, corpus_dir)


def test_load_rebuilds_for_another_model(index_dir, corpus_dir):
    other = FakeEmbedder(name="other-fake", dim=48)
    bot = QA.load(index_dir, corpus=corpus_dir, embedder=other)
    assert read_manifest(index_dir).model == "other-fake"
    assert bot.index.vectors.d == 48
    assert_verifiable(bot.answer("Who founded Acme Robotics?"), corpus_dir)


def test_load_rebuilds_for_other_chunking(index_dir, corpus_dir, fake_embedder):
    settings = ChunkSettings(max_chars=100, overlap_sentences=0)
    bot = QA.load(index_dir, corpus=corpus_dir, embedder=fake_embedder, chunking=settings)
    assert read_manifest(index_dir).chunking == settings.to_dict()
    assert all(c.end - c.start <= 100 or len(c.sentences) == 1 for c in bot.index.chunks)


def test_load_builds_a_missing_index_when_a_corpus_is_given(tmp_path, corpus_dir, fake_embedder):
    bot = QA.load(tmp_path / "fresh-index", corpus=corpus_dir, embedder=fake_embedder)
    assert (tmp_path / "fresh-index" / "manifest.json").is_file()
    assert_verifiable(bot.answer("Who founded Acme Robotics?"), corpus_dir)


def test_load_rebuilds_a_damaged_index_when_a_corpus_is_given(index_dir, corpus_dir, fake_embedder):
    manifest = read_manifest(index_dir)
    (index_dir / manifest.segments["acme.txt"]["json"]["name"]).write_bytes(b"{}")
    bot = QA.load(index_dir, corpus=corpus_dir, embedder=fake_embedder)
    assert bot.index.manifest.segments.keys() == manifest.segments.keys()  # loaded and checked: whole again
    assert_verifiable(bot.answer("Who founded Acme Robotics?"), corpus_dir)


def test_a_fresh_index_is_not_rebuilt(index_dir, corpus_dir, fake_embedder):
    before = read_manifest(index_dir).build_id
    calls = fake_embedder.passage_calls
    QA.load(index_dir, corpus=corpus_dir, embedder=fake_embedder)
    assert read_manifest(index_dir).build_id == before
    assert fake_embedder.passage_calls == calls


def test_an_embedder_that_does_not_match_the_index(index_dir):
    from qa.index import load_index

    with pytest.raises(StaleIndexError, match="run `qa index`"):
        QA(load_index(index_dir), FakeEmbedder(dim=32))


@pytest.mark.parametrize("question", ["", "   ", None, 42, "x" * 2001])
def test_check_question_refuses(question):
    with pytest.raises(QuestionError):
        check_question(question)


def test_check_question_strips_and_respects_its_limit():
    assert check_question("  Why?  ") == "Why?"
    assert check_question("x" * 2000) == "x" * 2000
    with pytest.raises(QuestionError):
        check_question("x" * 11, max_chars=10)


def test_max_question_chars_setting_is_used(shared_index, shared_corpus):
    bot = QA.load(
        shared_index, corpus=shared_corpus, embedder=FakeEmbedder(), settings=AnswerSettings(max_question_chars=20)
    )
    with pytest.raises(QuestionError, match="limit is 20"):
        bot.answer("Who founded Acme Robotics, and when?")


# --- the module-level default ------------------------------------------------------------------------


@pytest.fixture
def default_env(tmp_path, monkeypatch):
    """QA_CORPUS / QA_INDEX point at a tmp corpus; the model loader gives a FakeEmbedder of the asked name."""
    corpus = write_corpus(tmp_path / "corpus")
    monkeypatch.setenv("QA_CORPUS", str(corpus))
    monkeypatch.setenv("QA_INDEX", str(tmp_path / "index"))
    monkeypatch.delenv("QA_MODEL", raising=False)
    loaded: list[str] = []

    def load(name=BASE_MODEL, **kwargs):
        loaded.append(name)
        return FakeEmbedder(name=name)

    monkeypatch.setattr(SentenceTransformerEmbedder, "load", staticmethod(load))
    api.reset_default()
    yield corpus, tmp_path / "index", loaded
    api.reset_default()


def test_module_level_answer_builds_and_reuses_the_default_index(default_env):
    corpus, index, loaded = default_env
    answer = qa.answer("Who founded Acme Robotics?")
    assert "Jane Doe" in answer.text
    assert_verifiable(answer, corpus)
    assert read_manifest(index).model == BASE_MODEL
    bot = api.default_qa()
    assert qa.answer("When was Acme Robotics founded?").found
    assert api.default_qa() is bot  # loaded once
    assert loaded == [BASE_MODEL]  # the model was loaded once, for the build and the answers


def test_build_with_defaults(default_env):
    _, index, loaded = default_env
    manifest = build().manifest
    assert (index / "manifest.json").is_file()
    assert set(manifest.documents) == {"acme.txt", "notes/history.md"}
    assert loaded == [BASE_MODEL]


def test_qa_model_environment_variable_names_the_model(default_env, monkeypatch):
    _, index, loaded = default_env
    monkeypatch.setenv("QA_MODEL", "my-org/my-model")
    build()
    assert read_manifest(index).model == "my-org/my-model"
    assert loaded == ["my-org/my-model"]


def test_a_second_corpus_does_not_disturb_the_first(tmp_path, shared_bot, fake_embedder):
    corpus = write_corpus(tmp_path / "other", {"x.txt": "Bob Stone founded Zeta Corp in 1999.\n"})
    other = QA.load(tmp_path / "idx", corpus=corpus, embedder=fake_embedder)
    assert "Bob Stone" in other.answer("Who founded Zeta Corp?").text
    assert "Jane Doe" in shared_bot.answer("Who founded Acme Robotics?").text


def test_crlf_bom_and_emoji_documents_give_exact_offsets(tmp_path, fake_embedder):
    corpus = write_corpus(
        tmp_path / "c",
        {
            "win.txt": "\ufeffZeta Corp History\r\n\r\nBob Stone 🚀 founded Zeta Corp in 1999.\r\n"
            "The firm makes “smart” valves — mostly for ships.\r\n",
        },
    )
    bot = QA.load(tmp_path / "i", corpus=corpus, embedder=fake_embedder)
    for question, expected in [("Who founded Zeta Corp?", "Bob Stone"), ("When was Zeta Corp founded?", "1999")]:
        answer = bot.answer(question)
        assert answer.found and expected in answer.text
        assert answer.quotes[0].line == 3
        assert_verifiable(answer, corpus)


@pytest.mark.parametrize(
    "history",
    [
        [None, "x", {"role": "user"}, {"content": "y"}],
        [{"role": "user", "content": None}],
        [{"role": "assistant", "content": [None, 3]}],
        [{"role": "user", "content": "Who founded Acme Robotics?"}],  # no reply yet
    ],
)
def test_odd_histories_do_not_break_answering(shared_bot, shared_corpus, history):
    answer = shared_bot.answer("What does it build?", history)
    assert answer.question == "What does it build?"
    assert_verifiable(answer, shared_corpus)


def test_a_corpus_without_any_sentence_fails_cleanly(tmp_path, fake_embedder):
    """A document that is all headings ('# Shopping', 'Apples') has no chunk: that is a QAError the
    CLI and UI can show, or an index that answers 'not found'; never a crash from inside a library.
    (Plain text: in Markdown, read with its structure, '- Apples' is a list item, text to answer from.)"""
    from qa.errors import QAError

    corpus = write_corpus(tmp_path / "c", {"list.txt": "# Shopping\n- Apples\n- Pears\n"})
    try:
        build(corpus, tmp_path / "i", embedder=fake_embedder)
        bot = QA.load(tmp_path / "i", corpus=corpus, embedder=fake_embedder, on_stale="error")
    except QAError as exc:
        assert "list.txt" in str(exc) or "qa index" in str(exc)
        return
    answer = bot.answer("What is on the shopping list?")
    assert answer.found is False


GLOSSARY = Glossary.from_records(
    [
        ("誰", "谁", "shei2", ["who"]),
        ("創立", "创立", "chuang4 li4", ["to establish", "to found"]),
        ("它", "它", "ta1", ["it"]),
        ("什麼時候", "什么时候", "shen2 me5 shi2 hou5", ["when?"]),
    ]
)


def test_a_chinese_question_is_also_read_in_english(shared_bot, shared_corpus):
    bot = QA(shared_bot.index, shared_bot.embedder, glossary=GLOSSARY)
    answer = bot.answer("谁创立了Acme Robotics？")
    assert answer.translation == answer.query == "who is found Acme Robotics?"
    assert answer.found and "Jane Doe" in answer.text
    assert_verifiable(answer, shared_corpus)
    english = bot.answer("Who founded Acme Robotics?")
    assert english.translation == "" and english.query == "Who founded Acme Robotics?"


def test_translation_can_be_turned_off(shared_bot):
    bot = QA(shared_bot.index, shared_bot.embedder, AnswerSettings(translate=False), glossary=GLOSSARY)
    answer = bot.answer("谁创立了Acme Robotics？")
    assert answer.translation == "" and answer.query == "谁创立了Acme Robotics？"


def test_a_chinese_follow_up_is_made_whole_in_english(shared_bot, shared_corpus):
    bot = QA(shared_bot.index, shared_bot.embedder, glossary=GLOSSARY)
    history = [
        {"role": "user", "content": "谁创立了Acme Robotics？"},
        {"role": "assistant", "content": "**Jane Doe** (confidence 0.90)"},
    ]
    answer = bot.answer("它什么时候创立的？", history)  # "When was it founded?"
    assert answer.query == answer.translation == "when did Acme Robotics found?"  # 'it' read in the English history
    assert answer.found and "March 2019" in answer.text
    english = bot.answer("When was it founded?", history)  # an English follow-up reads the history in English
    assert english.query == "When was Acme Robotics founded?" and english.translation == ""
    assert english.found and "March 2019" in english.text


def test_an_ellipsis_is_not_answered_from_the_sentence_that_answered_the_old_subject(shared_bot, shared_corpus):
    history = [
        {"role": "user", "content": "What does the Walker robot carry?"},
        {"role": "assistant", "content": "boxes up to 40 kilograms"},
    ]
    answer = shared_bot.answer("And the Lifter robot?", history)
    assert answer.query == "What does the Lifter robot carry?"
    assert "Lifter" in answer.sentence and "40 kilograms" not in answer.text
    assert_verifiable(answer, shared_corpus)


class FingerprintedEmbedder(FakeEmbedder):
    """The same name, another form of the model: an int8 file with another hash (qa.index.embedding.fingerprint)."""

    def __init__(self, sha256: str) -> None:
        super().__init__()
        self.fingerprint = {"file": "model-int8.onnx", "sha256": sha256, "onnxruntime": "1.0", "quantization": "q"}


def test_another_form_of_the_query_model_makes_the_index_stale(corpus_dir, tmp_path):
    built_with = FingerprintedEmbedder("aaa")
    build(corpus_dir, tmp_path / "index", embedder=built_with)
    assert read_manifest(tmp_path / "index").model_fingerprint == built_with.fingerprint
    assert QA.load(tmp_path / "index", embedder=FingerprintedEmbedder("aaa"), on_stale="error")
    other = FingerprintedEmbedder("bbb")  # same name and size: only the fingerprint tells them apart
    with pytest.raises(StaleIndexError, match=r"another form of 'fake-hash-64' \(model-int8.onnx sha256 aaa"):
        QA.load(tmp_path / "index", embedder=other, on_stale="error")
    with pytest.raises(StaleIndexError, match="another form"):
        QA(load_index(tmp_path / "index"), other)
    bot = QA.load(tmp_path / "index", embedder=other)  # rebuilt: every document embedded again, none reused
    assert other.passage_calls > 0 and set(other.passage_texts) >= set(built_with.passage_texts)
    assert bot.index.manifest.model_fingerprint == other.fingerprint
    m = read_manifest(tmp_path / "index")
    assert staleness(m, corpus_dir, m.model, ChunkSettings(), other.fingerprint) == []
    assert staleness(m, corpus_dir, m.model, ChunkSettings(), built_with.fingerprint)


def test_a_full_precision_index_has_no_fingerprint_and_an_old_int8_index_is_stale(corpus_dir, tmp_path):
    build(corpus_dir, tmp_path / "index", embedder=FakeEmbedder())
    raw = json.loads((tmp_path / "index" / "manifest.json").read_text(encoding="utf-8"))
    assert raw["model_fingerprint"] == {}
    del raw["model_fingerprint"]  # an index written before fingerprints: its int8 vectors' form is unknown
    (tmp_path / "index" / "manifest.json").write_text(json.dumps(raw), encoding="utf-8")
    assert QA.load(tmp_path / "index", embedder=FakeEmbedder(), on_stale="error")
    with pytest.raises(StaleIndexError, match="another form"):
        QA.load(tmp_path / "index", embedder=FingerprintedEmbedder("aaa"), on_stale="error")
