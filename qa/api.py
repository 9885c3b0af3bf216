"""On top of the three stages (ingest, index, answering): `QA` ties an index, its model and the settings together.

from qa import answer, QA
a = answer("Which company launched Pangu Chat?")
bot = QA.load("some/other/index")
bot.answer("What does it plan to build?", history=[...])
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from qa.answering.confidence import Calibration
from qa.answering.conversation import Reading, Resolver, Turn, readings, turns, with_questions
from qa.answering.conversation_model import ConversationModel, ReadingFeatures, reading_features
from qa.answering.extraction import Extract, extract
from qa.answering.fitted import default_reader, load_calibration, load_conversation_model, load_ranker
from qa.answering.focus import Documents, Focus
from qa.answering.ranking import Ranker
from qa.answering.reading import Reader
from qa.answering.retrieval import Retrieved, Retriever
from qa.answering.translation import Glossary, default_glossary, has_han
from qa.answers import Answer, Quote
from qa.errors import ConfigError, IndexCorruptError, IndexMissingError, QuestionError, StaleIndexError
from qa.index import LoadedIndex, read_manifest, sync_index
from qa.index.embedding import Embedder, default_model, fingerprint, load_embedder
from qa.index.store import Store
from qa.ingest.chunking import Chunk
from qa.ingest.documents import page_at
from qa.manage import (  # re-exported: qa.api.build, add, remove, restore, removed
    ON_STALE,
    PROJECT_ROOT,
    REMOVED,
    add,
    build,
    corpus_of,
    default_corpus,
    default_index,
    describe_changes,
    describe_form,
    open_index,
    other_form,
    remove,
    removed,
    resolve_paths,
    restore,
    staleness,
    store_commit,
)
from qa.settings import AnswerSettings, ChunkSettings
from qa.threads import pin_threads

__all__ = [
    "ON_STALE",
    "PROJECT_ROOT",
    "QA",
    "REMOVED",
    "Choice",
    "add",
    "answer",
    "build",
    "check_question",
    "corpus_of",
    "default_corpus",
    "default_index",
    "default_qa",
    "describe_changes",
    "open_index",
    "remove",
    "removed",
    "reset_default",
    "resolve_paths",
    "restore",
    "staleness",
    "store_commit",
]

log = logging.getLogger(__name__)


def check_question(question: object, max_chars: int = AnswerSettings.max_question_chars) -> str:
    """The question, stripped; QuestionError when it is not a question that can be asked."""
    if not isinstance(question, str):
        raise QuestionError(f"the question must be text, got {type(question).__name__}")
    question = question.strip()
    if not question:
        raise QuestionError("the question is empty; type a question about the documents")
    if len(question) > max_chars:
        raise QuestionError(
            f"the question is {len(question):,} characters long; the limit is {max_chars:,}. Ask a shorter question"
        )
    return question


@dataclass(frozen=True)
class Choice:
    """One reading of a question tried: its extract (None when nothing was retrieved), the extract's
    confidence and, for a follow-up, the features the conversation model judged it on and its score
    (P(right); for a question without history, the confidence)."""

    reading: Reading
    extract: Extract | None
    confidence: float
    features: ReadingFeatures | None = None
    score: float = 0.0


class QA:
    """An index with its model, ready to answer. Make one with `QA.load`."""

    def __init__(
        self,
        index: LoadedIndex | Store,
        embedder: Embedder,
        settings: AnswerSettings | None = None,
        calibration: Calibration | None = None,
        reader: Reader | None = None,
        ranker: Ranker | None = None,
        glossary: Glossary | None = None,
        conversation: ConversationModel | None = None,
    ) -> None:
        if embedder.name != index.manifest.model or embedder.dim != index.manifest.dim:
            raise StaleIndexError(
                f"index in {index.path} was built with {index.manifest.model!r} ({index.manifest.dim} dims), "
                f"not {embedder.name!r} ({embedder.dim} dims); run `qa index` to rebuild it"
            )
        if fingerprint(embedder) != index.manifest.model_fingerprint:
            raise StaleIndexError(
                f"index in {index.path} was built with another form of {embedder.name!r} "
                f"({describe_form(index.manifest.model_fingerprint)}), not {describe_form(fingerprint(embedder))}; "
                "run `qa index` to rebuild it"
            )
        self.index = index
        self.embedder = embedder
        self.settings = settings or AnswerSettings()
        self.calibration = calibration or load_calibration(embedder.name, reader=self.settings.read_sentences > 0)
        self.ranker = ranker or load_ranker(embedder.name)
        self.retriever = Retriever(index)
        self.store = self.retriever.store
        if reader is None and self.settings.read_sentences:
            reader = default_reader()
        self.reader = reader
        self.glossary = glossary  # CC-CEDICT, loaded on the first Chinese question when not given
        self.conversation = conversation or load_conversation_model(embedder.name)
        self.resolver = Resolver(self._likeness)
        self._phrase_vector = functools.lru_cache(maxsize=1024)(self._encode_phrase)  # an ellipsis' entities
        self._documents: Documents | None = None  # built on the first follow-up
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls,
        index_dir: str | Path | None = None,
        *,
        corpus: str | Path | None = None,
        model: str | None = None,
        embedder: Embedder | None = None,
        chunking: ChunkSettings | None = None,
        settings: AnswerSettings | None = None,
        on_stale: str = "rebuild",
        progress: bool = False,
    ) -> QA:
        """Load an index, building it first when it is missing or no longer matches the corpus.

        `on_stale="error"` raises StaleIndexError instead of rebuilding. The
        corpus folder defaults to the one the manifest names.
        """
        if on_stale not in ON_STALE:
            raise ConfigError(f"on_stale must be one of {', '.join(ON_STALE)}, got {on_stale!r}")
        index_dir = Path(index_dir or default_index())
        chunking = chunking or ChunkSettings()
        model = embedder.name if embedder else (model or default_model())
        problem: Exception | None = None
        try:
            manifest = read_manifest(index_dir)
            corpus_dir = Path(corpus) if corpus else corpus_of(manifest, index_dir)
            # a server over a shared Milvus store needs no copy of the corpus: it answers from what the store holds
            replica = manifest.store.get("kind") == "milvus" and not corpus_dir.exists()
            reasons = [] if replica else staleness(manifest, corpus_dir, model, chunking)
            if not reasons:  # the same name: the loaded model's fingerprint says whether the vectors are its own
                embedder = embedder or load_embedder(model)
                reasons = other_form(manifest, model, fingerprint(embedder))
            if reasons:
                problem = StaleIndexError(
                    f"index in {index_dir} is out of date: {'; '.join(reasons)}. Run `qa index` to rebuild it"
                )
            else:
                index = open_index(index_dir, manifest)
        except StaleIndexError as exc:  # the Milvus collections no longer hold what the manifest says
            problem = exc
        except (IndexMissingError, IndexCorruptError) as exc:
            if corpus is None and index_dir != default_index():
                raise
            corpus_dir = Path(corpus or default_corpus())
            problem = exc
        if problem is not None:
            if on_stale == "error":
                raise problem
            embedder = embedder or load_embedder(model)
            if isinstance(problem, IndexMissingError):
                bundled = Path(corpus_dir).resolve() == (PROJECT_ROOT / "corpus").resolve()
                log.warning(
                    "Building the index of %s in %s (first use%s)…",
                    corpus_dir,
                    index_dir,
                    "; the bundled article takes about a second" if bundled else "",
                )
            else:
                log.warning("rebuilding the index: %s", problem)
            sync_index(corpus_dir, index_dir, embedder, chunking, progress=progress, commit=store_commit(index_dir))
            index = open_index(index_dir)
        embedder = embedder or load_embedder(model)
        pin_threads(1)
        return cls(index, embedder, settings)

    def choose(
        self,
        question: str,
        history: list | None = None,
        *,
        exclude: Callable[[Chunk], bool] | None = None,
        settings: AnswerSettings | None = None,
    ) -> Choice:
        """The most confident reading of a question in its conversation, with its extract.

        `exclude(chunk)` true leaves a chunk out (used to measure and calibrate abstention).
        """
        question = check_question(question, self.settings.max_question_chars)
        return self._choose(question, history, exclude, settings or self.settings)

    def _choose(self, question: str, history, exclude, settings: AnswerSettings) -> Choice:
        """Try every likely reading of a question (`attempts`); keep the best scored."""
        return max(self._attempts(question, history, exclude, settings), key=lambda c: c.score)

    def attempts(self, question: str, history: list | None = None, *, exclude=None) -> list[Choice]:
        """Every reading of a question tried, with its extract and score (what `choose` picks from)."""
        question = check_question(question, self.settings.max_question_chars)
        return self._attempts(question, history, exclude, self.settings)

    def _attempts(self, question: str, history, exclude, settings: AnswerSettings) -> list[Choice]:
        """A question alone: its readings (one, or its English ones too), scored by confidence. A follow-up:
        its made-whole readings searched in the conversation's document, the question as asked in all of
        them, scored by the conversation model."""
        earlier = turns(history)
        focus = self._focus(earlier) if earlier else None
        found = self._readings(question, history, earlier, focus, settings)
        with self._lock:  # one batch for all the readings' queries
            vectors = self.embedder.encode_queries(list(dict.fromkeys(r.query for r in found)))
        qvecs = dict(zip(dict.fromkeys(r.query for r in found), vectors, strict=True))
        tried = [self._try(r, qvecs[r.query], exclude, settings) for r in found]
        if not earlier:
            return [replace(c, score=c.confidence) for c in tried]
        out = []
        for choice in tried:
            features = reading_features(choice, question, earlier, focus)
            out.append(replace(choice, features=features, score=self.conversation.score(features)))
        return out

    def _focus(self, earlier: list[Turn]) -> Focus | None:
        """The document the conversation is about (`Documents.focus`)."""
        return self._conversation_documents().focus(earlier)

    def _conversation_documents(self) -> Documents:
        if self._documents is None:
            self._documents = Documents(self.store)
        return self._documents

    def _encode_phrase(self, phrase: str):
        with self._lock:
            return self.embedder.encode_queries([phrase])[0]

    def _likeness(self, phrase: str, candidates: list[str]) -> list[float]:
        """How alike a phrase is to each candidate: the cosine of their vectors."""
        mine = self._phrase_vector(phrase)
        return [float(self._phrase_vector(c) @ mine) for c in candidates]

    def _readings(
        self, question: str, history, earlier: list[Turn], focus: Focus | None, settings: AnswerSettings
    ) -> list[Reading]:
        """The question's readings (`readings`) and, for a Chinese question or a follow-up to one, those of
        its English reading, made whole with the earlier questions read in English too (`translation`)."""
        document = focus.document if focus else None
        found = readings(question, history, self.resolver, document)
        chinese = has_han(question) or any(has_han(t.question) for t in earlier)
        if not (settings.translate and chinese):
            return found
        english = self._english(question) or question
        in_english = with_questions(history, lambda text: self._english(text) or text)
        queries = {r.query for r in found}
        english_readings = [
            replace(r, question=question) for r in readings(english, in_english, self.resolver, document)
        ]
        return found + [r for r in english_readings if r.query not in queries]

    def _english(self, question: str) -> str | None:
        """A Chinese question read as English in the documents' words (None for other questions)."""
        if not has_han(question):
            return None
        self.glossary = self.glossary or default_glossary()
        if self.glossary is None:
            return None
        return self.glossary.translate(question, self.retriever.idf.known)

    def _try(self, reading: Reading, qvec, exclude, settings: AnswerSettings) -> Choice:
        k, mode = settings.candidates, settings.retriever
        hits = []
        if reading.within is not None:  # the conversation's document only (all of them when it has no hit)
            hits = self._conversation_documents().search(reading.within, reading.query, qvec, k, mode, exclude)
        if hits:
            texts = self.store.document_texts([reading.within])
            found = Retrieved(tuple(hits), texts, self.retriever.idf)
        else:
            found = self.retriever.retrieve(reading.query, qvec, k, mode, exclude=exclude)
        got = extract(reading, found, self.reader, settings.read_sentences, self.ranker)
        return Choice(reading, got, self.calibration.confidence(got.features) if got is not None else 0.0)

    def answer(
        self,
        question: str,
        history: list | None = None,
        *,
        top_k: int | None = None,
        threshold: float | None = None,
    ) -> Answer:
        """Answer one question from the documents, using `history` for follow-ups.

        `top_k` (quotes returned) and `threshold` (confidence needed to answer)
        override the settings for this question.
        """
        question = check_question(question, self.settings.max_question_chars)
        settings = self.settings
        if top_k is not None:
            settings = settings.with_top_k(top_k)
        if threshold is not None:
            settings = replace(settings, threshold=threshold)
        choice = self._choose(question, history, None, settings)
        reading, got, confidence = choice.reading, choice.extract, choice.confidence
        query, how = reading.focus, reading.how
        yes_no = reading.yes_no
        if got is None:
            return Answer(question, False, "", 0.0, query=query, how=how, yes_no=yes_no)
        found = confidence >= settings.threshold
        best = got.candidate
        doc = self.index.texts[best.hit.chunk.source]
        quotes = self._quotes(got.ranked, settings.top_k, (got.start, got.end) if found else None)
        translation = query if has_han(question) and not has_han(query) else ""
        if not found:
            sentence = doc[best.start : best.end]
            return Answer(
                question,
                False,
                "",
                confidence,
                quotes,
                sentence=sentence,
                query=query,
                translation=translation,
                how=how,
                yes_no=yes_no,
            )
        # an answer taken from the sentence's context (a definition's term) comes with that context
        lo, hi = min(got.start, best.start), max(got.end, best.end)
        return Answer(
            question=question,
            found=True,
            text=doc[got.start : got.end],
            confidence=confidence,
            quotes=quotes,
            source=best.hit.chunk.source,
            start=got.start,
            end=got.end,
            sentence=doc[lo:hi],
            query=query,
            translation=translation,
            how=how,
            yes_no=yes_no,
        )

    def _quotes(self, ranked, k: int, highlight: tuple[int, int] | None) -> tuple[Quote, ...]:
        quotes: list[Quote] = []
        seen: set[int] = set()
        for i, cand in enumerate(ranked):
            chunk: Chunk = cand.hit.chunk
            if chunk.id in seen:
                continue
            seen.add(chunk.id)
            start, end, text = chunk.start, chunk.end, chunk.text
            if i == 0 and highlight is not None and not (start <= highlight[0] and highlight[1] <= end):
                # the answer is the chunk's context (the term above a long definition): the quote shows it
                start, end = min(start, highlight[0]), max(end, highlight[1])
                text = self.index.texts[chunk.source][start:end]
            quotes.append(
                Quote(
                    text=text,
                    source=chunk.source,
                    start=start,
                    end=end,
                    score=round(cand.score, 4),
                    paragraph=chunk.paragraph,
                    line=chunk.line,
                    heading=chunk.heading,
                    highlight=highlight if i == 0 else None,
                    page=page_at(self.index.pages.get(chunk.source, ()), chunk.start),
                    kind=chunk.kind,
                )
            )
            if len(quotes) == k:
                break
        return tuple(quotes)


_default: QA | None = None
_default_lock = threading.Lock()


def default_qa() -> QA:
    """The QA over the default index (built from the default corpus on first use), loaded once."""
    global _default
    with _default_lock:
        if _default is None:
            _default = QA.load()
        return _default


def reset_default() -> None:
    global _default
    with _default_lock:
        _default = None


def answer(
    question: str, history: list | None = None, *, top_k: int | None = None, threshold: float | None = None
) -> Answer:
    """Answer from the default index in `index/` (env QA_INDEX), built from `corpus/` (QA_CORPUS)."""
    return default_qa().answer(question, history, top_k=top_k, threshold=threshold)
