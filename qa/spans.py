"""Answer types and typed candidate spans inside a sentence.

A question's wording says what kind of words answer it: a name for "who", a
date for "when", a number for "how many", a list for "which ... are". Inside
the chosen sentence, spans of that kind that are not the question's own words
are candidates; the one nearest to the question's words in the sentence wins.
No confident candidate means the whole sentence (or clause) stays the answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.text import STOPWORDS, WORD, terms

NAME, DATE, NUMBER, OTHER = "name", "date", "number", "other"

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_YEAR = r"(?:1[0-9]{3}|20[0-9]{2})(?:s|’s|'s)?"
_DATE = re.compile(
    rf"\b(?:(?:early|mid|late|the end of|the beginning of)[\s-]+)?"
    rf"(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+{_YEAR}|\d{{1,2}}\s+{_MONTH},?\s+{_YEAR}|"
    rf"{_MONTH},?\s+{_YEAR}|{_YEAR}(?:\s*[–-]\s*\d{{2,4}})?|\d{{1,2}}(?:st|nd|rd|th)\s+century|"
    rf"{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?)\b"
)
_NUMBER_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "twenty thirty forty fifty hundred hundreds thousand thousands million millions billion dozen dozens"
)
_NUMBER = re.compile(
    r"(?:\b(?:about|over|nearly|almost|around|approximately|more than|less than|up to|at least)\s+)?"
    r"(?:[$£€¥]\s?)?(?:\d[\d,]*(?:\.\d+)?|\b(?:" + "|".join(_NUMBER_WORDS.split()) + r")\b)"
    r"(?:\s?(?:%|percent|per cent|million|billion|trillion|thousand))?"
    r"(?:\s+(?!and\b|or\b|of\b|in\b|to\b|the\b|by\b|from\b)[a-z][a-z-]+){0,1}"
)
_CAP = r"(?:[A-Z][\w’'&.-]*[\w.]|[A-Z]|\d+[A-Za-z][\w-]*)"
_NAME = re.compile(rf"{_CAP}(?:(?:\s+(?:of|for|and|the|de|la|von|van|&|on))*\s+{_CAP})*")
_QUOTED = re.compile(r"“([^”]{2,120})”|\"([^\"]{2,120})\"")
_LEADING = frozenset(STOPWORDS) | frozenset(
    [
        "meanwhile",
        "notably",
        "similarly",
        "likewise",
        "however",
        "furthermore",
        "lastly",
        "concurrently",
        "despite",
        "according",
        "following",
        "among",
        "although",
        "because",
        "before",
        "after",
        "during",
        "since",
        "while",
    ]
)

_DATE_Q = re.compile(
    r"^\s*(?:when|since when|until when)\b|\b(?:what|which|in what|in which)\s+(?:year|month|date|day|decade|"
    r"century|period|time)\b",
    re.I,
)
_NUMBER_Q = re.compile(
    r"\bhow\s+(?:many|much|long|old|far|big|large|tall|high|often)\b|\b(?:what|which)\s+(?:percentage|percent|"
    r"number|share|proportion|amount|fraction|age|population)\b",
    re.I,
)
_NAME_Q = re.compile(
    r"^\s*(?:who|whom|whose|where)\b|\bwhich\s+(?!of\b)[a-z]|\b(?:which|what)\s+(?:[\w-]+\s+){0,2}?(?:company|companies|firm|firms|"
    r"organi[sz]ations?|agency|agencies|body|bodies|institutions?|universit(?:y|ies)|person|people|city|cities|"
    r"country|countries|state|states|team|teams|group|groups|brand|product|model|models|chatbot|chat robot|"
    r"startups?|platform|engine|name|names|individual|leader|founder|player|players|network|band|artist|"
    r"place|region|province|nation|nations|river|school|church|club|party|title)\b|\bwhat\s+is\s+the\s+name\b|"
    r"\b(?:called|named|known as|dubbed|nicknamed)\b",
    re.I,
)
_PLURAL_Q = re.compile(
    r"\b(?:which|what|who)\s+(?:\w+\s+){0,2}?(?:are|were)\b|\b(?:which|what)\s+(?:\w+\s+){0,2}?\w+(?<!s)s\b"
    r"|\bwhich\s+(?:two|three|four|five)\b|\blist\b",
    re.I,
)


def answer_type(question: str) -> str:
    if _DATE_Q.search(question):
        return DATE
    if _NUMBER_Q.search(question):
        return NUMBER
    if _NAME_Q.search(question):
        return NAME
    return OTHER


def wants_list(question: str) -> bool:
    return bool(_PLURAL_Q.search(question))


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str
    score: float


def _names(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out = []
    for m in _NAME.finditer(text, start, end):
        a, b = m.start(), m.end()
        while a < b:
            first = re.match(r"[\w’'&.-]+", text[a:b])
            if first and first.group().lower().rstrip(".") in _LEADING:
                a += first.end()
                while a < b and text[a].isspace():
                    a += 1
            else:
                break
        b = a + len(text[a:b].rstrip(".’'"))
        if b > a and text[a:b].rstrip("s").lower() not in _LEADING:
            out.append((a, b))
    for m in _QUOTED.finditer(text, start, end):
        g = 1 if m.group(1) is not None else 2
        out.append((m.start(g), m.end(g)))
    return out


def _merge_lists(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join name spans separated by ', ', ' and ', ', and ' into one list span."""
    spans = sorted(set(spans))
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and re.fullmatch(
            r"(?:,\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+|”?\s*(?:and|,)\s*(?:a\s+)?“?)", text[merged[-1][1] : a]
        ):
            merged[-1] = (merged[-1][0], b)
        elif not merged or a >= merged[-1][1]:
            merged.append((a, b))
    return merged


def candidate_spans(text: str, start: int, end: int, kind: str, plural: bool) -> list[tuple[int, int]]:
    if kind == DATE:
        return [(m.start(), m.end()) for m in _DATE.finditer(text, start, end)]
    if kind == NUMBER:
        return [
            (m.start(), m.end())
            for m in _NUMBER.finditer(text, start, end)
            if any(c.isdigit() for c in m.group()) or m.group().split()[-1].lower() in _NUMBER_WORDS.split()
        ]
    if kind == NAME:
        names = _names(text, start, end)
        return _merge_lists(text, names) + names if plural else names
    return []


def _strip_span(text: str, a: int, b: int) -> tuple[int, int]:
    while b > a and text[b - 1] in " ,;:.’'”\"":
        if text[b - 1] == "." and re.search(r"\b(?:[A-Z]\.)+$|\b(?:Ltd|Inc|Co|Corp|Jr|Sr)\.$", text[a:b]):
            break
        b -= 1
    return a, b


def best_span(question: str, text: str, start: int, end: int, idf=None, context: str = "") -> Span | None:
    """The typed span of sentence text[start:end] that answers `question`, or None.

    `idf(term)` (0..1, rarer is higher) favours informative spans over common words;
    `context` (earlier turns of a conversation) adds words an answer should not repeat.
    """
    kind = answer_type(question)
    if kind == OTHER:
        return None
    plural = wants_list(question)
    q_terms = set(terms(question)) | set(terms(context))
    tokens = [(m.start(), m.end()) for m in WORD.finditer(text, start, end)]
    anchors = [i for i, (a, b) in enumerate(tokens) if set(terms(text[a:b])) & q_terms]
    best: Span | None = None
    for a, b in candidate_spans(text, start, end, kind, plural):
        a, b = _strip_span(text, a, b)
        span_terms = set(terms(text[a:b]))
        if not span_terms and kind == NAME:
            continue
        if span_terms and span_terms <= q_terms:
            continue
        novel = len(span_terms - q_terms) / max(1, len(span_terms))
        first = next((i for i, t in enumerate(tokens) if t[1] > a), len(tokens))
        last = max((i for i, t in enumerate(tokens) if t[0] < b), default=first)
        gaps = [first - i if i < first else i - last for i in anchors if i < first or i > last]
        distance = min(gaps, default=20)
        informative = max((idf(t) for t in span_terms - q_terms), default=0.0) if idf else 0.5
        score = novel + 0.5 * informative - 0.04 * min(distance, 20)
        if plural and re.search(r",|\band\b", text[a:b]):
            score += 0.3
        if best is None or score > best.score:
            best = Span(a, b, kind, score)
    return best
