"""Pick the words of the retrieved passages that answer the question.

The best sentences of the retrieved chunks (by dense similarity of their own
vectors and how much of the question's weighted terms they and their passages
contain) are ordered by a fitted `qa.answering.ranking.Ranker`. The span reader
(`qa.answering.reading`) reads the best few; the ranker orders them again with its scores,
and in the sentence that wins, the reader's span is the extract when the reader
thinks the sentence answers. Otherwise a typed span (`qa.answering.spans`), or the clause
window that carries the question's terms, or the sentence itself is. The
winner's `ConfidenceFeatures` go with it, for `qa.answering.confidence` to read.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from qa.answering.confidence import ConfidenceFeatures
from qa.answering.conversation import Reading
from qa.answering.ranking import COVERAGE_SLACK, SURE, Ranker, SentenceFeatures, reader_feature
from qa.answering.reading import Reader, ReadSpan
from qa.answering.retrieval import Hit, Idf, Retrieved
from qa.answering.spans import OTHER, best_span, classify, has_span
from qa.answering.technical import fits, is_howto, structured_answer, widen
from qa.ingest.chunking import Chunk
from qa.text import QUESTION_NAMES, terms

MAX_ANSWER_CHARS = 300
SPAN_MARGIN = 0.1  # a typed span must beat the next candidate by this much to stand alone
CANDIDATES = 16  # sentences scored, read and ranked per question
_CLAUSES = re.compile(r",\s+(?:and|but|while|whereas)\s+|;\s+|\s+[—–]\s+")  # where a sentence's clauses part
_CLAUSE_BREAK = re.compile(r"[,;:—–][”’\"']?\s+|\s+[—–]\s+|\s\((?=\w)")


@dataclass(frozen=True)
class Candidate:
    """One sentence of a retrieved chunk with the features it was first ordered by."""

    hit: Hit
    start: int
    end: int
    dense: float
    coverage: float
    context: float
    score: float


@dataclass(frozen=True)
class Scored:
    """A candidate sentence as the ranker scored it: `score` over `features`; `typed_span` when a span of
    the asked-for kind is in it."""

    score: float
    candidate: Candidate
    typed_span: bool
    features: SentenceFeatures


@dataclass(frozen=True)
class Extract:
    """The chosen sentence, the extract inside it, the features its confidence is read from, and every
    candidate in the final order."""

    candidate: Candidate
    start: int
    end: int
    features: ConfidenceFeatures
    ranked: tuple[Candidate, ...]


def weighted_coverage(query_terms: list[str], text_terms: set[str], idf: Callable[[str], float]) -> float:
    """Share of the query's IDF mass whose terms occur in `text_terms` (summed in term order: the same
    float whatever the hash seed)."""
    unique = sorted(set(query_terms))
    total = sum(idf(t) for t in unique)
    if total == 0:
        return 0.0
    return sum(idf(t) for t in unique if t in text_terms) / total


def candidates(query: str, found: Retrieved) -> list[Candidate]:
    """All sentences of the hits, best first."""
    q_terms = terms(query)
    seen: set[tuple[str, int]] = set()
    out: list[Candidate] = []
    for hit in found.hits:
        chunk = hit.chunk
        text = found.texts[chunk.source]
        context_terms = set(terms(chunk.embedding_text()))
        context = weighted_coverage(q_terms, context_terms, found.idf)
        for offset, (s, e) in enumerate(chunk.sentences):
            if (chunk.source, s) in seen:
                continue
            seen.add((chunk.source, s))
            dense = hit.sentences[offset]
            coverage = weighted_coverage(q_terms, set(terms(text[s:e])), found.idf)
            score = dense + 0.6 * coverage + 0.3 * context + 0.2 * hit.dense
            out.append(Candidate(hit, s, e, dense, coverage, context, score))
    out.sort(key=lambda c: c.score, reverse=True)
    return out


def name_coverage(question: str, sentence: str, heading: str) -> float:
    """Share of the question's proper names found in the sentence (or its heading); 1 if it names none."""
    names = {t for m in QUESTION_NAMES.finditer(question.strip()) for t in terms(m.group())}
    if not names:
        return 1.0
    return len(names & set(terms(sentence + " " + heading))) / len(names)


def _reread(
    reading: Reading, scored: list[Scored], n: int, reader: Reader, texts: Mapping[str, str], ranker: Ranker
) -> tuple[list[Scored], ReadSpan]:
    """Read the best `n` of `scored`; re-rank all with `ranker.after`.

    A sentence is not read when its score could not change the choice (it lacks the first
    one's question terms, or even the reader's highest score would not lift it to the top)
    or when the reader is already sure of the first (score >= SURE). Unread sentences keep
    a reader score of 0. The reader reads `reading.focus`, in the clause that names its entity
    (`_near`), never answering with the earlier answers it avoids. Returns the re-ranked list
    and the winner's reading (offsets into the sentence).
    """
    read = lambda c: read_sentence(reading, c, reader, texts[c.hit.chunk.source])  # noqa: E731
    reads = {0: read(scored[0].candidate)}
    feats = [s.features for s in scored]
    feats[0] = feats[0].with_reading(reads[0].score)
    totals = [ranker.score(feats[0], True)] + [ranker.score(f, True) for f in feats[1:]]
    # a sentence that lacks question terms the first one has (locker "1234") can't win on the reader alone
    floor = scored[0].candidate.coverage - COVERAGE_SLACK
    for i in range(1, min(n, len(scored))):
        cand = scored[i].candidate
        if cand.coverage < floor or reads[0].score >= SURE or ranker.best_after_reading(feats[i]) <= max(totals):
            continue  # not read: it gets no reader score, or could not win with one, or no need
        reads[i] = read(cand)
        feats[i] = feats[i].with_reading(reads[i].score)
        totals[i] = ranker.score(feats[i], True)
    order = sorted(range(len(scored)), key=lambda i: totals[i], reverse=True)
    if order[0] not in reads:
        reads[order[0]] = read(scored[order[0]].candidate)
    return [Scored(totals[i], scored[i].candidate, scored[i].typed_span, feats[i]) for i in order], reads[order[0]]


def rarest_held(question: str, chunk: Chunk, idf: Idf) -> float:
    """1.0 when the question's rarest term (by IDF over the chunks; a term none holds is rarest of all) is in
    the chunk's text or context; 1.0 too for a question without content terms."""
    q_terms = sorted(set(terms(question)))
    if not q_terms:
        return 1.0
    rarest = max(q_terms, key=lambda t: (not idf.known(t), idf(t) if idf.known(t) else 0.0, t))
    return 1.0 if rarest in set(terms(chunk.embedding_text())) else 0.0


def sentence_at(cand: Candidate) -> int:
    """Which sentence of its chunk a candidate is."""
    return cand.hit.chunk.sentences.index((cand.start, cand.end))


def read_sentence(reading: Reading, cand: Candidate, reader: Reader, text: str) -> ReadSpan:
    """The reader's span in candidate sentence text[cand.start:cand.end] (offsets into the sentence): it reads
    `reading.focus` in the clause that names its entity (`_near`), never answering with what it avoids."""
    a, b = _near(text, cand.start, cand.end, reading.entity)
    got = reader.read(reading.focus, [text[a:b]], reading.avoid)[0]
    return ReadSpan(got.start + a - cand.start, got.end + a - cand.start, got.score)


def _not_answered_before(reading: Reading, ranked: list[Candidate], texts: Mapping[str, str]) -> list[Candidate]:
    """Without the sentences that hold an earlier answer this reading avoids and do not name its entity: "And
    Huawei's?" after Alibaba's Tongyi is not answered from the sentence about Alibaba (unless none is left)."""
    if not reading.avoid or not reading.entity:
        return ranked
    avoided = [a.lower() for a in reading.avoid]
    entity = reading.entity.lower()

    def answered_before(c: Candidate) -> bool:
        sentence = texts[c.hit.chunk.source][c.start : c.end].lower()
        return entity not in sentence and any(a in sentence for a in avoided)

    return [c for c in ranked if not answered_before(c)] or ranked


def _said(reading: Reading) -> str:
    """The words an answer to this reading should not repeat: its query's and the earlier answers it avoids."""
    return " ".join((reading.query, *reading.avoid))


def _near(text: str, start: int, end: int, entity: str) -> tuple[int, int]:
    """The clause of sentence text[start:end] that names `entity` ("former Sogou CEO Wang Xiaochuan initiated
    Baichuan Smart Company" of a sentence about two people), or the whole sentence when it does not."""
    at = text.find(entity, start, end) if entity else -1
    if at < 0:
        return start, end
    cuts = [m.end() for m in _CLAUSES.finditer(text, start, end)]
    a = max([start] + [c for c in cuts if c <= at])
    b = min([end] + [c for c in cuts if c > at + len(entity)])
    return (a, b) if b - a >= len(entity) + 10 else (start, end)


def scored_candidates(
    reading: Reading, ranked: list[Candidate], texts: Mapping[str, str], ranker: Ranker
) -> list[Scored]:
    """The best CANDIDATES of `ranked`, scored by `ranker` before reading, best first."""
    qtype = classify(reading.focus)
    typed = qtype.kind != OTHER or qtype.plural
    scored = []
    for cand in ranked[:CANDIDATES]:
        text = texts[cand.hit.chunk.source]
        has = typed and has_span(reading.focus, text, cand.start, cand.end, context=_said(reading))
        has = has or fits(reading.focus, cand.hit.chunk, sentence_at(cand), text)
        feats = SentenceFeatures(
            dense=cand.dense,
            coverage=cand.coverage,
            context=cand.context,
            chunk_dense=cand.hit.dense,
            typed_span=1.0 if has else 0.0,
            name_coverage=name_coverage(reading.focus, text[cand.start : cand.end], cand.hit.chunk.heading),
        )
        scored.append(Scored(ranker.score(feats, False), cand, has, feats))
    scored.sort(key=lambda x: x.score, reverse=True)
    return scored


def extract(
    reading: Reading,
    found: Retrieved,
    reader: Reader | None = None,
    read_sentences: int = 0,
    ranker: Ranker | None = None,
) -> Extract | None:
    """Pick the sentence and the words in it that answer the question as `reading` reads it, from what
    retrieval `found` (the hits, their documents' texts and the idf: plain data, no store).

    `ranker` orders the candidate sentences (default: the hand-set rules). With a `reader`,
    the best `read_sentences` are read and all are re-ranked with its scores (`_reread`).
    A yes/no question (`Reading.yes_no`) is answered with the sentence (or its clause) that
    says which: the evidence, not a span of it.
    """
    ranker = ranker or Ranker.rules()
    ranked = _not_answered_before(reading, candidates(reading.query, found), found.texts)
    if not ranked:
        return None
    focus = reading.focus
    scored = scored_candidates(reading, ranked, found.texts, ranker)
    qtype = classify(focus)
    read: ReadSpan | None = None
    if reader is not None and read_sentences > 0:
        scored, read = _reread(reading, scored, read_sentences, reader, found.texts, ranker)
    best, has = scored[0].candidate, scored[0].typed_span
    text = found.texts[best.hit.chunk.source]
    # the winner's typed span, scored (only its existence was needed to rank the candidates)
    idf = lambda t: found.idf(t) / found.idf.max_idf  # noqa: E731
    span = best_span(focus, text, best.start, best.end, idf=idf, context=_said(reading)) if has else None
    read_span = (best.start + read.start, best.start + read.end) if read is not None and read.score > 0 else None
    structured = (
        None if reading.yes_no else structured_answer(focus, best.hit.chunk, sentence_at(best), text, read_span)
    )
    if structured is not None:
        start, end = structured  # a table cell, a term's name, a command line: from the chunk's structure
    elif reading.yes_no or is_howto(focus):  # yes/no: the evidence; "how do I ...?": the statement
        start, end = clause_window(text, best.start, best.end, focus, found.idf, reading.context)
    elif read is not None and read.score > 0:
        start, end = best.start + read.start, best.start + read.end
        if span is not None and span.start < end and start < span.end:
            # the reader's words inside a typed span (a whole name, date or list): answer with both
            whole = min(start, span.start), max(end, span.end)
            if whole[1] - whole[0] <= MAX_ANSWER_CHARS:
                start, end = whole
    elif span is not None and (span.margin >= SPAN_MARGIN or span.rival is None):
        start, end = span.start, span.end
    elif span is not None and max(span.end, span.rival[1]) - min(span.start, span.rival[0]) <= MAX_ANSWER_CHARS:
        # two candidates nearly tied: answer with the stretch of the sentence that holds both
        start, end = min(span.start, span.rival[0]), max(span.end, span.rival[1])
    else:
        start, end = clause_window(text, best.start, best.end, focus, found.idf, reading.context)
    if best.start <= start < end <= best.end:  # whole code-like words, without backticks or marks around them
        start, end = widen(text, start, end, best.start, best.end, loose=bool(best.hit.chunk.sentence_kinds))
    features = ConfidenceFeatures(
        dense=best.dense,
        coverage=best.coverage,
        context=best.context,
        chunk_dense=best.hit.dense,
        margin=scored[0].score - scored[1].score if len(scored) > 1 else 0.5,
        type_missing=1.0 if qtype.strict and span is None else 0.0,
        name_coverage=name_coverage(focus, text[best.start : best.end], best.hit.chunk.heading),
        reader=reader_feature(read.score) if read is not None else 0.0,
        structured=1.0 if structured is not None else 0.0,
        rarest=rarest_held(focus, best.hit.chunk, found.idf),
    )
    first = [x.candidate for x in scored]
    taken = {id(c) for c in first}
    order = first + [c for c in ranked if id(c) not in taken]
    return Extract(best, start, end, features, tuple(order))


def clause_window(
    text: str, start: int, end: int, question: str, idf: Callable[[str], float], context: str = ""
) -> tuple[int, int]:
    """The part of sentence text[start:end] that answers, at most MAX_ANSWER_CHARS long.

    Clause windows are scored by the share of the question's terms they hold,
    less half the share of the conversation's earlier terms (`context`): a
    follow-up wants the new part of the sentence, not the part already said;
    a little credit for words that are new to both keeps empty clauses out.
    """
    if end - start <= MAX_ANSWER_CHARS:
        return start, end
    cuts = [start] + [m.end() for m in _CLAUSE_BREAK.finditer(text, start, end)] + [end]
    pieces = [(a, b) for a, b in itertools.pairwise(cuts) if b > a]
    q_terms = terms(question)
    c_terms = [t for t in terms(context) if t not in set(q_terms)]
    best, best_key = (start, start + MAX_ANSWER_CHARS), (-2.0, 0)
    for i in range(len(pieces)):
        for j in range(i, len(pieces)):
            a, b = pieces[i][0], pieces[j][1]
            if b - a > MAX_ANSWER_CHARS:
                break
            window = set(terms(text[a:b]))
            new = len(window - set(q_terms) - set(c_terms))
            score = (
                weighted_coverage(q_terms, window, idf)
                - 0.5 * weighted_coverage(c_terms, window, idf)
                + 0.2 * min(1.0, new / 8)
            )
            key = (round(score, 6), b - a)
            if key > best_key:
                best, best_key = (a, b), key
    a, b = best
    while b > a and text[b - 1] in " ,;:—–(":
        b -= 1
    return a, b
