"""Stage 6: pick the words of the retrieved passages that answer the question.

The best sentences of the retrieved chunks (by dense similarity of their own
vectors and how much of the question's weighted terms they and their passages
contain) are ordered by a fitted `qa.ranking.Ranker`. The span reader
(`qa.reading`) reads the best few; the ranker orders them again with its scores,
and in the sentence that wins, the reader's span is the extract when the reader
thinks the sentence answers. Otherwise a typed span (`qa.spans`), or the clause
window that carries the question's terms, or the sentence itself is. A
confidence in [0, 1] comes from a logistic model over features of the winner,
the reader's score among them. Both models are fitted per embedder and kept in
`qa/models/`.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from qa.ranking import Ranker, reader_feature, sentence_features, with_reading
from qa.reading import Reader, ReadSpan
from qa.retrieval import Hit, Retrieved
from qa.spans import OTHER, best_span, classify, has_span
from qa.text import terms

log = logging.getLogger(__name__)
_WARNED: set[tuple] = set()  # models already warned about having no confidence model or ranker of their own

MAX_ANSWER_CHARS = 300
SPAN_MARGIN = 0.1  # a typed span must beat the next candidate by this much to stand alone
MODELS = Path(__file__).with_name("models")  # the fitted confidence models, one per embedder and reader setting
FALLBACK_MODEL = "all-MiniLM-L6-v2+int8"  # whose confidence model serves an embedder without one of its own
COVERAGE_SLACK = 0.15  # the reader's score counts for a sentence holding the first one's question terms, less this
SURE = 3.0  # once the first sentence's reader score reaches this, the others are not read (same answers, less time)
FEATURES = ("dense", "coverage", "context", "chunk_dense", "margin", "type_missing", "name_coverage", "reader")
_CLAUSE_BREAK = re.compile(r"[,;:—–][”’\"']?\s+|\s+[—–]\s+|\s\((?=\w)")


@dataclass(frozen=True)
class Candidate:
    """One sentence of a retrieved chunk with the features it was scored on."""

    hit: Hit
    start: int
    end: int
    dense: float
    coverage: float
    context: float
    score: float


@dataclass(frozen=True)
class Calibration:
    """Logistic weights turning candidate features into a confidence.

    The features' scale depends on the embedder (E5's cosine similarities sit far
    higher than MiniLM's) and on whether the span reader ran, so a model is fitted
    for each (`qa eval --squad FILE --fit-calibration [--model M] [--read-sentences 0]`).
    """

    weights: tuple[float, ...]
    bias: float
    type_missing_factor: float = 0.25
    model: str | None = None  # the embedder it was fitted for

    @classmethod
    def load(cls, path: Path | None = None, *, model: str = FALLBACK_MODEL, reader: bool = True) -> Calibration:
        """The model in `path`; by default the one fitted for embedder `model` with the reader on or off.

        An embedder without one of its own gets FALLBACK_MODEL's, with a warning: its
        confidences then mean less (and the full-precision MiniLM's are near enough).
        """
        if path is None:
            tried = [
                calibration_path(m, r) for m, r in ((model, reader), (FALLBACK_MODEL, reader), (FALLBACK_MODEL, True))
            ]
            hint = "" if reader else " --read-sentences 0"
            path = _fitted(tried, model, "confidence model" + ("" if reader else " without the reader"), hint)
            path = path or tried[-1]  # none at all: the error below names the missing file
        d = json.loads(path.read_text(encoding="utf-8"))
        return cls(tuple(float(w) for w in d["weights"]), float(d["bias"]), model=d.get("model"))

    def confidence(self, features: tuple[float, ...]) -> float:
        """P(the documents answer the question), from the logistic model.

        A rule on top: a question that asks for a date, number or amount whose chosen
        sentence holds none ("type_missing") keeps only a quarter of that probability.
        """
        z = self.bias + sum(w * f for w, f in zip(self.weights, features, strict=True))
        p = 1.0 / (1.0 + math.exp(-z))
        return p * self.type_missing_factor if features[FEATURES.index("type_missing")] else p


def calibration_path(model: str, reader: bool = True) -> Path:
    """Where the confidence model fitted for embedder `model`, with the span reader on or off, is kept."""
    return MODELS / f"confidence-{slug(model)}{'' if reader else '-no-reader'}.json"


def ranker_path(model: str) -> Path:
    """Where the sentence ranker fitted for embedder `model` is kept."""
    return MODELS / f"ranker-{slug(model)}.json"


def load_ranker(model: str = FALLBACK_MODEL) -> Ranker:
    """The sentence ranker fitted for embedder `model`; another embedder gets FALLBACK_MODEL's, with a warning."""
    path = _fitted([ranker_path(model), ranker_path(FALLBACK_MODEL)], model, "sentence ranker")
    if path is None:  # none fitted at all (a fresh fit is about to make one): the hand-set rules
        log.warning("no sentence ranker in %s; ordering sentences by the hand-set rules", MODELS)
        return Ranker.rules()
    return Ranker.load(path)


def _fitted(tried: list[Path], model: str, what: str, hint: str = "") -> Path | None:
    """The first file of `tried` that exists: the model's own first, then FALLBACK_MODEL's.

    Warns once when it is not the model's own (MiniLM's full-precision and int8 forms
    share theirs): its scores then mean less.
    """
    path = next((p for p in tried if p.is_file()), None)
    same_model = model.removesuffix("+int8") == FALLBACK_MODEL.removesuffix("+int8")
    own = path == tried[0] or (same_model and path == tried[1])
    if path is not None and not own and (what, model) not in _WARNED:
        _WARNED.add((what, model))
        log.warning(
            "no %s was fitted for %r; using %s, so its scores mean less "
            "(fit one: qa eval --squad FILE --fit-calibration --model %s%s)",
            what,
            model,
            path.name,
            model,
            hint,
        )
    return path


def slug(model: str) -> str:
    """A model name or path as a plain file name part."""
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", Path(model).name) or "model"


def weighted_coverage(query_terms: list[str], text_terms: set[str], idf: Callable[[str], float]) -> float:
    """Share of the query's IDF mass whose terms occur in `text_terms`."""
    unique = set(query_terms)
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


_PROPER = re.compile(r"(?<!^)(?<![.?!]\s)\b(?:[A-Z][\w’'-]*|[a-z]+[A-Z][\w-]*)")


@dataclass(frozen=True)
class Extract:
    """The chosen sentence, the extract inside it, and the features its confidence is read from."""

    candidate: Candidate
    start: int
    end: int
    features: tuple[float, ...]
    ranked: tuple[Candidate, ...]


def name_coverage(question: str, sentence: str, heading: str) -> float:
    """Share of the question's proper names found in the sentence (or its heading); 1 if it names none."""
    names = {t for m in _PROPER.finditer(question.strip()) for t in terms(m.group())}
    if not names:
        return 1.0
    return len(names & set(terms(sentence + " " + heading))) / len(names)


def _reread(
    question: str, scored: list, n: int, reader: Reader, texts: Mapping[str, str], ranker: Ranker
) -> tuple[list, ReadSpan]:
    """Read the best `n` of `scored` (key, candidate, has a typed span, features); re-rank all with `ranker.after`.

    A sentence is not read when its score could not change the choice (it lacks the first
    one's question terms, or even the reader's highest score would not lift it to the top)
    or when the reader is already sure of the first (score >= SURE). Unread sentences keep
    a reader score of 0. Returns the re-ranked list and the winner's reading.
    """
    read = lambda c: reader.read(question, [texts[c.hit.chunk.source][c.start : c.end]])[0]  # noqa: E731
    reads = {0: read(scored[0][1])}
    feats = [f for *_, f in scored]
    feats[0] = with_reading(feats[0], reads[0].score)
    totals = [ranker.score(feats[0], True)] + [ranker.score(f, True) for f in feats[1:]]
    # a sentence that lacks question terms the first one has (locker "1234") can't win on the reader alone
    floor = scored[0][1].coverage - COVERAGE_SLACK
    for i in range(1, min(n, len(scored))):
        cand = scored[i][1]
        if cand.coverage < floor or reads[0].score >= SURE or ranker.best_after_reading(feats[i]) <= max(totals):
            continue  # not read: it gets no reader score, or could not win with one, or no need
        reads[i] = read(cand)
        feats[i] = with_reading(feats[i], reads[i].score)
        totals[i] = ranker.score(feats[i], True)
    order = sorted(range(len(scored)), key=lambda i: totals[i], reverse=True)
    if order[0] not in reads:
        reads[order[0]] = read(scored[order[0]][1])
    return [(totals[i], *scored[i][1:3], feats[i]) for i in order], reads[order[0]]


def scored_candidates(question: str, query: str, ranked: list[Candidate], texts: Mapping[str, str], ranker: Ranker):
    """The best 8 of `ranked` as (score before reading, candidate, has a typed span, features), best first."""
    qtype = classify(question)
    typed = qtype.kind != OTHER or qtype.plural
    scored = []
    for cand in ranked[:8]:
        text = texts[cand.hit.chunk.source]
        has = typed and has_span(question, text, cand.start, cand.end, context=query)
        names = name_coverage(question, text[cand.start : cand.end], cand.hit.chunk.heading)
        feats = sentence_features(cand, has, names)
        scored.append((ranker.score(feats, False), cand, has, feats))
    scored.sort(key=lambda x: x[0], reverse=True)
    return scored


def extract(
    question: str,
    query: str,
    found: Retrieved,
    reader: Reader | None = None,
    read_sentences: int = 0,
    ranker: Ranker | None = None,
) -> Extract | None:
    """Pick the sentence and the words in it that answer `question` (made whole as `query`) from what
    retrieval `found` (the hits, their texts and the idf: plain data, no store).

    `ranker` orders the candidate sentences (default: the hand-set rules). With a `reader`,
    the best `read_sentences` are read and all are re-ranked with its scores (`_reread`).
    """
    ranker = ranker or Ranker.rules()
    ranked = candidates(query, found)
    if not ranked:
        return None
    typed_question = question if query.startswith(question) else query
    scored = scored_candidates(typed_question, query, ranked, found.texts, ranker)
    qtype = classify(typed_question)
    read: ReadSpan | None = None
    if reader is not None and read_sentences > 0:
        scored, read = _reread(typed_question, scored, read_sentences, reader, found.texts, ranker)
    key, best, has, _ = scored[0]
    text = found.texts[best.hit.chunk.source]
    # the winner's typed span, scored (only its existence was needed to rank the candidates)
    idf = lambda t: found.idf(t) / found.idf.max_idf  # noqa: E731
    span = best_span(typed_question, text, best.start, best.end, idf=idf, context=query) if has else None
    if read is not None and read.score > 0:
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
        context = query[len(question) :] if query.startswith(question) else ""
        start, end = clause_window(text, best.start, best.end, typed_question, found.idf, context)
    margin = key - scored[1][0] if len(scored) > 1 else 0.5
    feats = (
        best.dense,
        best.coverage,
        best.context,
        best.hit.dense,
        margin,
        1.0 if qtype.strict and span is None else 0.0,
        name_coverage(typed_question, text[best.start : best.end], best.hit.chunk.heading),
        reader_feature(read.score) if read is not None else 0.0,
    )
    first = [c for _, c, *_ in scored]
    taken = {id(c) for c in first}
    order = first + [c for c in ranked if id(c) not in taken]
    return Extract(best, start, end, feats, tuple(order))


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
