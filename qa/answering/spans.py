"""Answer types and typed candidate spans inside a sentence.

A question's wording says what kind of words answer it: a name for "who", a
date for "when", a count for "how many", money for "how much did ... pay", a
list for "which ... are". Inside a sentence, spans of that kind that are not
just the question's own words are candidates; they are scored by how new and
informative their words are, how close they stand to the question's words in
the sentence, and whether they carry the question's focus noun ("which
*university*" -> "Tsinghua University"). No candidate means the sentence (or
its best clause) stays the answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from qa.text import DOCUMENT_NAME_WORD, STOPWORDS, WORD, terms

NAME, DATE, NUMBER, COUNT, MONEY, OTHER = "name", "date", "number", "count", "money", "other"

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
_MONTH_WORDS = frozenset(
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday".split()
)
_NUMBER_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen twenty thirty "
    "forty fifty sixty seventy eighty ninety hundred hundreds thousand thousands million millions billion "
    "billions dozen dozens"
).split()
_SCALE = r"(?:\s?(?:%|(?:percent|per cent|million|billion|trillion|thousand)\b))?"
_NUMBER = re.compile(
    r"(?:\b(?:about|over|nearly|almost|around|approximately|more than|less than|up to|at least)\s+)?"
    r"(?:[$£€¥]\s?)?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\b(?:"
    + "|".join(_NUMBER_WORDS)
    + r")\b)"
    + _SCALE
    + r"(?:\s+(?!(?:and|or|of|in|to|the|by|from|at|on|for|with|was|were|is|are)\b)[a-z][a-z-]+)?"
)
_MONEY_WORDS = re.compile(r"[$£€¥]|\b(?:dollars?|yuan|rmb|euros?|pounds?|cents?|usd|cny)\b", re.I)
_NAME = re.compile(
    rf"{DOCUMENT_NAME_WORD}(?:(?:[ \t]+(?:of|for|the|de|la|von|van|&|on|at))*[ \t]+{DOCUMENT_NAME_WORD})*"
)
_QUOTED = re.compile(r"“([^”]{2,120})”|\"([^\"]{2,120})\"")
_LEADING = STOPWORDS | frozenset(
    "meanwhile notably similarly likewise however furthermore lastly concurrently despite according "
    "following among although because before after during since while for in on at as by".split()
)
_ORG_WORDS = frozenset(
    "company companies technology technologies university department government administration institute "
    "bank group inc ltd corporation council ministry commission center centre laboratory school".split()
)
_STRONG_TRIGGER = re.compile(r"\b(?:including|include|includes|such as|like|namely|covering|comprising)\s+|:\s*", re.I)
_WEAK_TRIGGER = re.compile(r"\b(?:in|on|of|are|were|as|by|from|with)\s+", re.I)
_AUX = r"(?:do|does|did|is|are|was|were|has|have|had|can|could|will|would|should|to)\b"

_DATE_Q = re.compile(
    r"^\s*(?:when|since when|until when)\b|\b(?:what|which|in what|in which)\s+(?:year|month|date|day|decade|"
    r"century|time)\b|\bhow long ago\b",
    re.I,
)
_MONEY_Q = re.compile(
    r"\bhow much (?:money|funding|capital)\b|\bhow much\b.*\b(?:pay|paid|raise|raised|cost|spend|spent|invest|"
    r"fine|fined|earn|worth|sell|sold|charge)\b|\b(?:what|which) (?:is |was )?(?:the )?(?:price|cost|fine)\b",
    re.I,
)
_COUNT_Q = re.compile(r"\bhow many\b|\b(?:what|which) number\b", re.I)
_NUMBER_Q = re.compile(
    r"\bhow\s+(?:much|long|old|far|big|large|tall|high|often)\b|\b(?:what|which)\s+(?:percentage|percent|"
    r"share|proportion|amount|fraction|age|population|size)\b",
    re.I,
)
_NAME_Q = re.compile(
    r"^\s*(?:who|whom|whose|where)\b|\bwhich\s+[a-z]|\bwhat\s+(?:[\w-]+\s+){0,2}?(?:company|companies|"
    r"firm|firms|organi[sz]ations?|agency|agencies|body|institution|universit(?:y|ies)|person|people|city|"
    r"cities|country|countries|state|team|brand|product|model|chatbot|robot|startup|platform|engine|name|names|"
    r"nickname|title|lab|laboratory|nation|place|region|group)\b|\b(?:called|named|known as|dubbed|nicknamed)\b",
    re.I,
)
_SUBJECT_Q = re.compile(rf"^\s*(?:who|(?:which|what)\s+[\w’'-]+)\s+(?!{_AUX})([a-z-]+(?:ed|s))\b", re.I)
_FOCUS = re.compile(rf"\b(?:which|what|whose)\s+((?:[\w’'-]+\s+){{0,4}}?)(?={_AUX})", re.I)
_FOCUS_ONE = re.compile(
    r"\b(?i:which|what|whose)\s+((?:[a-z][\w’'-]*\s+){0,2}?[a-z][\w’'-]*)"
    r"(?=\s+(?:of|in|on|for|from|to|by|did|does|do|is|are|was|were|has|have|had|[A-Z])|\s*\?|\s+[a-z]+ed\b)"
    r"|\b(?i:which|what|whose)\s+([\w’'-]+)"
)
_PLURAL_Q = re.compile(
    r"^\s*(?:who|what|which)\s+(?:are|were)\b|\b(?:which|what)\s+(?:two|three|four|five|six|several)\b|\blist\b"
    r"|\bwhich of\b",
    re.I,
)
_GENERIC_FOCUS = frozenset(
    "area way field sector role aspect kind type part method manner reason purpose extent respect form step "
    "effect impact problem issue challenge concern".split()
)
_ORG_FOCUS = frozenset(
    "company compani firm agenc agency organ organis organiz bodi body institut univers laboratori lab "
    "startup government depart".split()
)
_OBJECT_VERB = re.compile(
    r"\b(?:did|does|do|was|were|is|are|has|have|had)\s+(?:(?:[A-Z][\w’'.-]*|the|a|an|its|their|his|her|this|that)"
    r"\s+)*([a-z][a-z-]+)\b"
)


def _is_plural_noun(word: str) -> bool:
    w = word.lower()
    return len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is", "'s", "’s"))


@dataclass(frozen=True)
class QuestionType:
    """What kind of words answer a question; `focus` holds the stems of its wh-noun phrase."""

    kind: str
    plural: bool
    focus: frozenset[str]
    duration: bool = False
    strict: bool = False  # the answer must be of this type: a sentence without one does not answer


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str
    score: float
    margin: float = 1.0  # over the best other candidate that does not overlap it
    rival: tuple[int, int] | None = None  # where that candidate is


def classify(question: str) -> QuestionType:
    m = _FOCUS.search(question) or _FOCUS_ONE.search(question)
    focus_words = [w for w in (m.group(m.lastindex) if m else "").split() if not w[:1].isupper()]
    focus = frozenset(terms(" ".join(focus_words)))
    if re.search(r"\bname\b", question, re.I):
        focus |= {"name"}
    plural = bool(_PLURAL_Q.search(question)) or bool(focus_words and _is_plural_noun(focus_words[-1]))
    if (
        focus_words
        and focus_words[-1].lower() in _GENERIC_FOCUS
        and re.match(r"\s*(?:in\s+)?(?:which|what)\b", question, re.I)
    ):
        return QuestionType(OTHER, plural, focus)
    for kind, pattern in ((DATE, _DATE_Q), (MONEY, _MONEY_Q), (COUNT, _COUNT_Q), (NUMBER, _NUMBER_Q)):
        if pattern.search(question):
            duration = bool(re.search(r"\bhow long\b", question, re.I))
            loose = kind == NUMBER and re.search(r"\bhow (?:big|large|tall|high|far|often|old)\b", question, re.I)
            return QuestionType(kind, False, focus, duration=duration, strict=not loose)
    if _NAME_Q.search(question):
        return QuestionType(NAME, plural, focus)
    return QuestionType(OTHER, plural, focus)


def _trim_leading(text: str, a: int, b: int) -> int:
    while a < b:
        first = re.match(r"[\w’'&.-]+", text[a:b])
        if not first or first.group().lower().rstrip(".") not in _LEADING:
            break
        a += first.end()
        while a < b and text[a].isspace():
            a += 1
    return a


def _names(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out = []
    for m in _NAME.finditer(text, start, end):
        a = _trim_leading(text, m.start(), m.end())
        b = m.end()
        if b > a and text[a:b].lower().rstrip(".") not in _MONTH_WORDS | _LEADING:
            out.append((a, b))
    for m in _QUOTED.finditer(text, start, end):
        g = 1 if m.group(1) is not None else 2
        out.append((m.start(g), m.end(g)))
    return out


_JOINER = re.compile(r"(?:”?\s*,\s*(?:and\s+|or\s+)?(?:an?\s+|the\s+)?“?|”?\s+(?:and|or)\s+(?:an?\s+|the\s+)?“?)")


def _extend_with_focus(text: str, a: int, b: int, end: int, focus: frozenset[str]) -> tuple[int, int]:
    """'SenseNova' + ' large model system' when the question asks for a 'large model system'."""
    for _ in range(4):
        m = re.match(r"\s+([\w’'-]+)", text[b:end])
        if not m or not set(terms(m.group(1))) & focus:
            break
        b += m.end()
    return a, b


def _merge_lists(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join name spans separated by ', ', ' and ', ', and ' into list spans."""
    merged: list[tuple[int, int]] = []
    for a, b in sorted(set(spans)):
        if merged and a >= merged[-1][1] and _JOINER.fullmatch(text[merged[-1][1] : a]):
            merged[-1] = (merged[-1][0], b)
        elif not merged or a >= merged[-1][1]:
            merged.append((a, b))
    return [s for s in merged if re.search(r",|\band\b|\bor\b", text[s[0] : s[1]])]


def _list_start(text: str, start: int, first_end: int) -> int | None:
    """Where the items of a list ending before `first_end` begin.

    Walks back over short comma-separated items to the nearest introducing word:
    a strong one ("including", "such as", ":") anywhere in the last few items wins,
    else a preposition ("in", "of") in the first item, else the first short item.
    """
    pos, items_start, fallback = first_end, None, None
    for _ in range(8):
        comma = text.rfind(",", start, pos)
        seg_start = comma + 1 if comma >= 0 else start
        strong = _STRONG_TRIGGER.search(text, seg_start, pos)
        if strong:
            return strong.end()
        n_words = len(text[seg_start:pos].split())
        if fallback is None:
            weak = list(_WEAK_TRIGGER.finditer(text, seg_start, pos))
            if weak:
                fallback = weak[-1].end()
            elif n_words > 4:
                fallback = items_start
        if n_words > 8 or comma < 0:
            break
        items_start, pos = seg_start, comma
    return fallback if fallback is not None else items_start


def _enumerations(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Lists of short phrases: 'content generation, data labeling, and 2D/3D digital human generation'."""
    out = []
    for m in re.finditer(r",?\s+(?:and|or)\s+", text[start:end]):
        last_start = start + m.end()
        stop = re.search(r"[,.;:!?”)]|\s(?:which|that|while|who|to|in|for|with)\s", text[last_start:end])
        last_end = last_start + (stop.start() if stop else end - last_start)
        first = _list_start(text, start, start + m.start())
        if first is None or len(text[last_start:last_end].split()) > 6:
            continue
        first = _trim_leading(text, first, last_end)
        if first < last_end and "," in text[first : start + m.start()]:
            out.append((first, last_end))
    return out


def candidate_spans(text: str, start: int, end: int, qtype: QuestionType) -> list[tuple[int, int]]:
    kind = qtype.kind
    if kind == DATE:
        return [(m.start(), m.end()) for m in _DATE.finditer(text, start, end)]
    if kind in (NUMBER, COUNT, MONEY):
        spans = (
            []
            if not qtype.duration
            else [
                (m.start() - (6 if text[max(0, m.start() - 6) : m.start()].lower() == "since " else 0), m.end())
                for m in _DATE.finditer(text, start, end)
            ]
        )
        for m in _NUMBER.finditer(text, start, end):
            value = m.group()
            if not any(c.isdigit() for c in value) and not set(value.lower().split()) & set(_NUMBER_WORDS):
                continue
            if kind == MONEY and not _MONEY_WORDS.search(text[max(start, m.start() - 2) : m.end() + 12]):
                continue
            if kind == COUNT and (re.search(r"%|percent", value) or re.fullmatch(_YEAR, value.strip())):
                continue
            spans.append((m.start(), m.end()))
        return spans
    if kind == NAME:
        names = [_extend_with_focus(text, a, b, end, qtype.focus) for a, b in _names(text, start, end)]
        return names + _merge_lists(text, names) + (_enumerations(text, start, end) if qtype.plural else [])
    if qtype.plural:
        return _enumerations(text, start, end)
    return []


def _strip_span(text: str, a: int, b: int) -> tuple[int, int]:
    while b > a and text[b - 1] in " ,;:.’'”\"":
        if text[b - 1] == "." and re.search(r"\b(?:[A-Z]\.)+$|\b(?:Ltd|Inc|Co|Corp|Jr|Sr)\.$", text[a:b]):
            break
        b -= 1
    while a < b and text[a] in ' “"‘(':
        a += 1
    return a, b


def _person_like(span: str) -> bool:
    parts = span.split()
    return 2 <= len(parts) <= 4 and all(p[:1].isupper() for p in parts) and not {p.lower() for p in parts} & _ORG_WORDS


def _asked(question: str, context: str, qtype: QuestionType) -> set[str]:
    """The terms an answer should not repeat: the question's and the conversation's, less its focus."""
    return (set(terms(question)) | set(terms(context))) - qtype.focus


def _typed(text: str, start: int, end: int, qtype: QuestionType, asked: set[str]):
    """(start, end, terms) of each typed span of text[start:end] that says more than the question."""
    for a, b in candidate_spans(text, start, end, qtype):
        a, b = _strip_span(text, a, b)
        span_terms = set(terms(text[a:b]))
        if b <= a or (span_terms and span_terms <= asked) or (not span_terms and qtype.kind == NAME):
            continue
        yield a, b, span_terms


def has_span(question: str, text: str, start: int, end: int, context: str = "") -> bool:
    """Whether `best_span` finds a span in text[start:end], without scoring them (the ranker's feature)."""
    qtype = classify(question)
    return next(_typed(text, start, end, qtype, _asked(question, context, qtype)), None) is not None


def best_span(question: str, text: str, start: int, end: int, idf=None, context: str = "") -> Span | None:
    """The typed span of sentence text[start:end] that answers `question`, or None.

    `idf(term)` (0..1, rarer is higher) favours informative spans over common words;
    `context` (earlier turns of a conversation) adds words an answer should not repeat.
    """
    qtype = classify(question)
    q_terms = _asked(question, context, qtype)
    tokens = [(m.start(), m.end()) for m in WORD.finditer(text, start, end)]
    anchors = [i for i, (a, b) in enumerate(tokens) if set(terms(text[a:b])) & q_terms]
    who = re.match(r"\s*(?:who|whom)\b", question, re.I) is not None
    subject = _SUBJECT_Q.match(question)
    verb = set(terms(subject.group(1))) if subject else set()
    verb_at = next((t[0] for t in tokens if verb and set(terms(text[t[0] : t[1]])) & verb), None)
    obj = None if subject else _OBJECT_VERB.search(question)
    obj_verb = set(terms(obj.group(1))) if obj else set()
    obj_at = next((i for i, t in enumerate(tokens) if obj_verb and set(terms(text[t[0] : t[1]])) & obj_verb), None)
    wants_org = bool(qtype.focus & _ORG_FOCUS)
    scored: list[Span] = []
    for a, b, span_terms in _typed(text, start, end, qtype, q_terms):
        novel = len(span_terms - q_terms) / max(1, len(span_terms))
        first = next((i for i, t in enumerate(tokens) if t[1] > a), len(tokens))
        last = max((i for i, t in enumerate(tokens) if t[0] < b), default=first)
        gaps = [first - i if i < first else i - last for i in anchors if i < first or i > last]
        distance = min(gaps, default=20)
        informative = max((idf(t) for t in span_terms - q_terms), default=0.0) if idf else 0.5
        score = novel + 0.5 * informative - 0.04 * min(distance, 20)
        if span_terms & qtype.focus:
            score += 0.3
        if who and _person_like(text[a:b]):
            score += 0.25
        if verb_at is not None and b <= verb_at:
            score += 0.3
        if obj_at is not None and 0 < first - obj_at <= 4:
            score += 0.3
        if wants_org and {w.lower().rstrip(".,") for w in text[a:b].split()} & _ORG_WORDS:
            score += 0.2
        is_list = bool(re.search(r",|\band\b|\bor\b", text[a:b]))
        if is_list:
            score += 0.3 if qtype.plural else -0.3
        scored.append(Span(a, b, qtype.kind, score))
    if not scored:
        return None
    scored.sort(key=lambda sp: sp.score, reverse=True)
    best = scored[0]
    rival = next((sp for sp in scored[1:] if sp.end <= best.start or sp.start >= best.end), None)
    if rival is None:
        return best
    return replace(best, margin=best.score - rival.score, rival=(rival.start, rival.end))
