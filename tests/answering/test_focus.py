"""A conversation's focus: the document it is about, its passages, and where in it the conversation is."""

from __future__ import annotations

import pytest

from qa.answering.conversation import Turn
from qa.answering.focus import Documents


@pytest.fixture(scope="module")
def documents(shared_bot) -> Documents:
    return Documents(shared_bot.store)


def test_the_focus_is_the_document_the_conversation_talks_about(documents):
    robots = [Turn("What does the Walker robot carry?", "boxes up to 40 kilograms")]
    money = [Turn("How much did Acme Robotics raise in its first funding round?", "$25 million")]
    assert documents.focus(robots).document == "notes/history.md"
    assert documents.focus(money).document == "acme.txt"
    assert 0 < documents.focus(money).margin <= 1


def test_the_latest_turns_weigh_most_so_a_new_topic_moves_the_focus(documents):
    earlier = [Turn("What does the Walker robot carry?", "boxes"), Turn("And the Lifter robot?", "pallets")]
    assert documents.focus(earlier).document == "notes/history.md"
    moved = [*earlier, Turn("How many engineers does Acme Robotics employ in Boston?", "120")]
    assert documents.focus(moved).document == "acme.txt"


def test_no_focus_without_words_the_documents_use(documents):
    assert documents.focus([Turn("Zyxxy quorbl?", "")]) is None


def test_a_documents_search_keeps_to_its_chunks_scored_as_the_retriever_scores_them(shared_bot, documents):
    query = "Who led the project?"
    qvec = shared_bot.embedder.encode_queries([query])[0]
    hits = documents.search("notes/history.md", query, qvec, 8)
    assert hits and {h.chunk.source for h in hits} == {"notes/history.md"}
    assert [h.rank for h in hits] == list(range(len(hits)))
    everywhere = {h.chunk.id: h for h in shared_bot.retriever.search(query, qvec, 20)}
    for h in hits:
        assert h.dense == pytest.approx(everywhere[h.chunk.id].dense)
        assert h.sentences == pytest.approx(everywhere[h.chunk.id].sentences)
    assert documents.search("notes/history.md", query, qvec, 8, exclude=lambda c: True) == []
    assert documents.search("nowhere.txt", query, qvec, 8) == []


def test_a_follow_up_falls_back_to_every_document_when_its_own_has_no_hit(shared_bot):
    """The conversation's document may hold none of the question's words: the question is searched everywhere."""
    from qa.answering.conversation import Reading

    reading = Reading("Zyxxy?", "Who led the project?", "Who led the project?", within="nowhere.txt")
    qvec = shared_bot.embedder.encode_queries([reading.query])[0]
    choice = shared_bot._try(reading, qvec, None, shared_bot.settings)
    assert choice.extract is not None and choice.extract.candidate.hit.chunk.source == "notes/history.md"


def test_a_follow_up_is_searched_in_its_document_of_an_sq8_index(tmp_path, shared_corpus, fake_embedder):
    """SQ8 indexes decode their sentence vectors in contiguous slices only; the focus reads them so."""
    from qa.api import QA, build
    from qa.settings import VectorSettings

    build(shared_corpus, tmp_path / "index", embedder=fake_embedder, vectors=VectorSettings(kind="hnsw-sq8"))
    bot = QA.load(tmp_path / "index", corpus=shared_corpus, embedder=fake_embedder, on_stale="error")
    history = [{"role": "user", "content": "Who founded Acme Robotics?"}, {"role": "assistant", "content": "Jane Doe"}]
    answer = bot.answer("How much did it raise in its first funding round?", history)
    assert answer.found and answer.source == "acme.txt" and "$25 million" in answer.text
