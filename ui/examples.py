"""Example questions a person would ask, made from sentences of the indexed documents.

A sentence that states a fact in a plain shape gives a question whose answer
is a typed span of it (qa/answering/spans.py): a date ("In April 2023, SenseTime unveiled
its plan" -> "When did SenseTime unveil its plan?"), a count ("The depot shipped
4,200 pallets" -> "How many pallets did the depot ship?"), a name ("X, founded
by Y," -> "Who founded X?") or a definition ("SQLite is a library ..." ->
"What is SQLite?"). Sentences come from at most EXAMPLE_CHUNKS chunks spread
over the corpus, documents take turns, and each question is asked before it is
shown: it is kept only when the bot finds an answer inside the span it was made
from. Asking stops after `max_asked` questions or `budget_s` seconds, so a chat
over a million chunks starts about as fast as one over a few.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from qa.answering.spans import COUNT, DATE, QuestionType, candidate_spans
from qa.errors import QAError
from qa.text import STOPWORDS

EXAMPLE_CHUNKS = 300  # chunks read for example questions, spread over the corpus (a big one is never read whole)

WHEN, HOW_MANY, WHO, WHAT = "when", "how_many", "who", "what"
_PRIORITY = {WHEN: 0, HOW_MANY: 1, WHO: 2, WHAT: 3}

_IRREGULAR = {
    "began": "begin",
    "became": "become",
    "bought": "buy",
    "brought": "bring",
    "built": "build",
    "chose": "choose",
    "drew": "draw",
    "fell": "fall",
    "found": "find",
    "gave": "give",
    "grew": "grow",
    "held": "hold",
    "kept": "keep",
    "led": "lead",
    "left": "leave",
    "lost": "lose",
    "made": "make",
    "met": "meet",
    "paid": "pay",
    "ran": "run",
    "rose": "rise",
    "sent": "send",
    "sold": "sell",
    "spent": "spend",
    "split": "split",
    "took": "take",
    "taught": "teach",
    "told": "tell",
    "won": "win",
    "wrote": "write",
}
_PARTICIPLES = frozenset(
    "begun built bought brought chosen drawn found given grown held kept led lost made met paid sent sold "
    "spent split taken taught told won written known born seen shown".split()
)
_NOT_VERBS = frozenset("red bed need seed speed feed breed hundred kindred shed sled".split())
_VOWELS = "aeiou"
# the last consonant of a stem after one vowel (CVC) -> whether the bare verb ends in a silent e
_SILENT_E = {c: True for c in "bcdgkmpsvz"}
_SILENT_E.update({c: False for c in "fhjlnqrtwxy"})
_E_AFTER = {  # endings that take an e after all, or are too ambiguous to guess (None)
    "at": True,
    "ut": True,
    "ot": True,
    "it": None,
    "et": None,
    "ar": True,
    "ir": True,
    "ur": True,
    "or": None,
    "il": True,
    "ol": True,
    "ul": True,
    "al": None,
    "in": True,
    "un": True,
    "on": None,
    "yp": True,
}
_E_STEMS = {"creat": True, "debut": False, "focus": False, "explor": True, "ignor": True, "restor": True, "stor": True}


def _silent_e(stem: str) -> bool | None:
    """Whether the bare verb of a regular past-tense `stem` ('releas', 'unveil') ends in e; None if unsure."""
    if stem in _E_STEMS:
        return _E_STEMS[stem]
    last, vowel, before = stem[-1], stem[-2], stem[-3] if len(stem) > 2 else ""
    if last in _VOWELS:
        return last == "u"  # issued, continued
    if last in "cvz" or stem.endswith(("aus", "eas", "ois", "ous", "uis", "ias")):
        return not stem.endswith(("ias", "ous"))  # introduced, received, realized, released, caused
    if vowel not in _VOWELS + "y":
        if (last in "gs" and vowel in "nrl") or (last == "g" and vowel == "d"):
            return not stem.endswith(("ong", "ing", "ung", "eng"))  # changed, licensed, merged; belonged
        # handled, settled, tackled take an e (curled, pulled, crawled do not); launched, founded, formed neither
        return last == "l" and vowel not in "lrw"
    if before == "u" and stem[-4:-3] == "q":
        before = "q"  # acquired, required: the u of "qu" is no vowel here
    if stem.endswith(("iat", "uat")):
        return True  # negotiated, graduated
    if stem.endswith("elop"):
        return False  # developed
    if before and before in _VOWELS:
        return False  # unveiled, treated, seemed, gained
    rule = _E_AFTER.get(vowel + last)
    if rule is not None or vowel + last in _E_AFTER:
        return rule
    return _SILENT_E.get(last, False)


def base_form(verb: str) -> str | None:
    """The bare infinitive of a past-tense or third-person verb ('unveiled' -> 'unveil'), None if unsure."""
    v = verb.lower()
    if v in _IRREGULAR:
        return _IRREGULAR[v]
    if v.endswith("ed") and len(v) > 3 and v not in _NOT_VERBS:
        stem = v[:-2]
        if stem.endswith("i"):
            return stem + "e" if len(stem) <= 2 else stem[:-1] + "y"  # died; applied
        if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] in "bgmnprt":
            return stem[:-1]  # planned, admitted
        if stem.endswith("ll") and not stem.endswith("all") and len(re.findall(r"[aeiouy]+", stem[:-2])) > 1:
            return stem[:-1]  # controlled, compelled (called, spelled stay)
        if stem.endswith("e"):
            return stem  # agreed
        e = _silent_e(stem)
        return None if e is None else stem + "e" if e else stem
    if v.endswith("s") and not v.endswith(("ss", "us", "is")) and len(v) > 3:
        if v.endswith(("ches", "shes", "sses", "xes", "zes")):
            return v[:-2]
        return v[:-1]  # consists
    return None


def _past(word: str) -> bool:
    w = word.lower()
    return w in _IRREGULAR or (w.endswith("ed") and len(w) > 3 and w not in _NOT_VERBS)


_CAP = r"(?:[A-Z][\w’'&.-]*|[a-z]+[A-Z][\w-]*)"
_NAME_RUN = rf"{_CAP}(?:\s+(?:{_CAP}|of|and|for|de|&))*(?<=[\w.])"
_FUNCTION_WORDS = "|".join(w.capitalize() for w in sorted(STOPWORDS) if w.isalpha())
_FUNCTION = re.compile(rf"(?:{_FUNCTION_WORDS})\b")
_NAME_AT = re.compile(rf"(?:[Tt]he\s+)?(?!(?:{_FUNCTION_WORDS})\b){_NAME_RUN}")
_NOUN_AT = re.compile(r"[Tt]he\s+((?:[\w’'-]+\s+){0,3}?)")
_CONNECTIVE = re.compile(r"(?P<first>[\w’'-]+)(?:\s+[\w’'.-]+){0,4},\s+")
_CONNECTIVE_WORDS = frozenset(
    "meanwhile however moreover furthermore additionally also notably similarly likewise lastly finally first "
    "second third then thus therefore consequently instead indeed today currently recently later earlier "
    "subsequently in on at for by after before during since as with according under following despite unlike "
    "like among from of once when while until".split()
)
_DATE_LEAD = re.compile(r"(?:[Ii]n|[Oo]n|[Bb]y|[Ss]ince|[Dd]uring)\s+")
_APPOSITIVE = re.compile(r",\s+(?:a|an|the|[a-z][\w-]*)\b[^,]{0,60},\s+")
_ADVERB = re.compile(
    r"(?:also|then|later|subsequently|recently|eventually|finally|initially|originally|formally|officially|"
    r"successfully|reportedly|briefly|quickly|soon|first|once|immediately|gradually|publicly|jointly|"
    r"previously|further|already)\s+"
)
_WORD = re.compile(r"[\w’'-]+")
_OBJECT_STOP = re.compile(
    r",(?!\s*(?:Ltd|Inc|LLC|Corp|Co)\b|\d)|;|:(?!\d)|\.\s*$|(?<![^\s])(?:which|that|who|whose|while|but|and|as|after|"
    r"before|because|since|following|to|when|where|with|despite|through|including|if|so|than|stating|saying|"
    r"pertaining|concerning|regarding|according|using|making)\b"
)
_TRAILING = re.compile(
    r"(?:\s+(?:in|on|at|by|during|since|from|of|the|a|an|until|till|between|around|about|early|late|mid|year|years|"
    r"later|again|also|there|here|too|then|first|for|to|with|[a-z]+ly|[a-z]+ed))+\s*$"
)
_FINITE = re.compile(r"\b(?:is|are|was|were|has|have|had|will|would|can|could|not|never)\b")
_PLAIN = re.compile(r"[\w\s’'\"“”,&()$%/-]+")
_BY = re.compile(
    rf"^(?:[Tt]he\s+)?(?P<thing>{_NAME_RUN}),\s+(?P<verb>[a-z]+ed|{'|'.join(_PARTICIPLES)})\s+by\s+(?P<agent>{_NAME_RUN})"
)
_DEFINITION = re.compile(rf"^(?P<name>{_CAP}(?:\s+{_CAP}){{0,3}})\s+is\s+(?:a|an|the)\s+")
_PRONOUNS = re.compile(
    r"\b(?:it|its|itself|they|their|them|themselves|he|his|him|himself|she|her|herself|this|these|those|we|our|us|"
    r"you|your|me|my|one)\b",
    re.I,
)
_MAX_OBJECT_WORDS = 9


@dataclass(frozen=True)
class Candidate:
    """A question made from a sentence of `source` whose answer should overlap `expected` (document offsets)."""

    question: str
    kind: str
    source: str
    expected: tuple[int, int]
    position: int  # where the sentence starts, to keep document order


def _spans(text: str, kind: str) -> list[tuple[int, int]]:
    return candidate_spans(text, 0, len(text), QuestionType(kind, False, frozenset()))


def _lead(text: str, dates: list[tuple[int, int]]) -> tuple[int, tuple[int, int] | None]:
    """Where the subject starts after lead-ins ("Meanwhile, ", "In April 2023, "), and a date among them."""
    pos, date = 0, None
    for _ in range(3):
        prep = _DATE_LEAD.match(text, pos)
        at = prep.end() if prep else pos
        d = next((d for d in dates if d[0] == at), None)
        if d and re.match(r",\s+", text[d[1] :]):
            pos, date = d[1] + len(re.match(r",\s+", text[d[1] :]).group()), d
            continue
        connective = _CONNECTIVE.match(text, pos)
        first = connective.group("first").lower() if connective else ""
        if connective and (first in _CONNECTIVE_WORDS or first.endswith("ly")):
            pos = connective.end()
            continue
        break
    return pos, date


def _verb_after(text: str, pos: int) -> re.Match | None:
    """The verb group at `pos`: "was founded", "unveiled", "consists" (an adverb before it is skipped)."""
    adverb = _ADVERB.match(text, pos)
    if adverb:
        pos = adverb.end()
    m = re.compile(r"(?:(was|were)\s+([a-z]+)|([a-z]+))\b\s*").match(text, pos)
    if not m:
        return None
    if m.group(1):
        return m if _past(m.group(2)) or m.group(2) in _PARTICIPLES else None
    verb = m.group(3)
    if verb in ("is", "are", "has", "have", "was", "were", "does", "do", "had"):
        return None
    return m if base_form(verb) and (_past(verb) or verb.endswith("s")) else None


def _subject(text: str, pos: int) -> tuple[str, int, re.Match, bool] | None:
    """(subject as asked, its end, the verb match, is a name) for the subject starting at `pos`."""
    name = _NAME_AT.match(text, pos)
    tries = []
    if name:
        tries.append((name.group(), name.end(), True))
    noun = _NOUN_AT.match(text, pos)
    if noun:
        end = noun.end()
        for w in _WORD.finditer(text, end, min(len(text), end + 40)):
            tries.append((text[pos : w.end()], w.end(), False))
            if len(tries) > 4:
                break
    for subject, end, is_name in tries:
        if _PRONOUNS.fullmatch(subject.split()[-1]) or _FINITE.search(subject):
            continue
        after = end
        appositive = _APPOSITIVE.match(text, after)
        if appositive and is_name:
            after = appositive.end()
        elif re.match(r"\s+", text[after:]):
            after += len(re.match(r"\s+", text[after:]).group())
        else:
            continue
        verb = _verb_after(text, after)
        if verb:
            asked = "the" + subject[3:] if subject.startswith("The ") else subject
            return asked, end, verb, is_name
    return None


def _object(text: str, start: int) -> tuple[str, int]:
    """The verb's object: text from `start` up to a clause boundary; it and where it ends."""
    stop = _OBJECT_STOP.search(text, start)
    end = stop.start() if stop else len(text)
    return _TRAILING.sub("", text[start:end].strip().rstrip(".")), end


def _balanced(text: str) -> bool:
    """No quote or bracket left open: a cut inside a title would read badly."""
    pairs = ("“”", "()", "[]", "‘’")
    return all(text.count(a) == text.count(b) for a, b in pairs) and text.count('"') % 2 == 0


def _common(word: str, context: str) -> str:
    """A sentence's capitalized first word in lower case when `context` uses it so ("Injectors" -> "injectors")."""
    if " " in word or not re.fullmatch(r"[A-Z][a-z-]+", word):
        return word
    if re.search(rf"[\w,;]\s+{word}\b", context):  # capitalized inside a sentence: a name
        return word
    plural = word.endswith("s") and not word.endswith("ss")  # "Farms", "Motorists": nouns, not names
    return word.lower() if plural or re.search(rf"\b{word.lower()}\b", context) else word


def _question_from(text: str, context: str = "") -> list[tuple[str, str, tuple[int, int]]]:
    """(question, kind, expected span in `text`) for one sentence; [] when its shape is not plain enough.

    `context` (the text around the sentence) tells a capitalized common noun from a name.
    """
    out: list[tuple[str, str, tuple[int, int]]] = []
    by = _BY.match(text)
    if by:
        out.append((f"Who {by.group('verb')} {by.group('thing')}?", WHO, by.span("agent")))
    definition = _DEFINITION.match(text)
    if definition and not _PRONOUNS.search(definition.group("name")) and not _FUNCTION.match(text):
        name = _common(definition.group("name"), context)
        name = "the" + name[3:] if name.startswith("The ") else name
        out.append((f"What is {name}?", WHAT, (definition.end(), len(text))))
    dates = _spans(text, DATE)
    pos, lead_date = _lead(text, dates)
    found = _subject(text, pos)
    if found is None:
        return out
    subject, subject_end, verb_m, is_name = found
    if pos == 0:
        subject = _common(subject, context)
    after = verb_m.end()
    if verb_m.group(1):  # passive: "The university was founded in 1858."
        date = next((d for d in dates if re.fullmatch(r"(?:in|on)\s+", text[after : d[0]])), None)
        if date is None and lead_date and re.match(r"\s*(?:[,.;]|$)", text[after:]):
            date = lead_date
        if date:
            out.append((f"When {verb_m.group(1)} {subject} {verb_m.group(2)}?", WHEN, date))
        return out
    verb = verb_m.group(3)
    base = base_form(verb)
    past = _past(verb)
    aux = "did" if past else "does"
    prep = re.match(r"(?:(of|about|to|with)\s+)?", text[after:])
    number = next((n for n in _spans(text, COUNT) if n[0] == after + prep.end()), None)
    if number and not re.search(r"\d{4}\b|%|percent", text[number[0] : number[1]]):
        noun = re.match(r"[\d,.]+\s+([a-z][\w-]*s)\b", text[number[0] : number[1] + 30])
        if noun:
            tail = f" {prep.group(1)}" if prep.group(1) else ""
            out.append((f"How many {noun.group(1)} {aux} {subject} {base}{tail}?", HOW_MANY, number))
    obj, obj_end = _object(text, after)
    in_object = [d for d in dates if after <= d[0] < obj_end]
    if in_object:  # "publicized its Comfort Model for beta testing in May 2023": the date ends the object
        date = in_object[0]
        obj = _TRAILING.sub("", " " + text[after : date[0]]).strip()
    else:
        date = lead_date or next((d for d in dates if re.fullmatch(r"\s*(?:in|on)\s+", text[obj_end : d[0]])), None)
    if len(obj.split()) > _MAX_OBJECT_WORDS or _spans(obj, DATE) or not _balanced(obj) or _FINITE.search(obj):
        return out
    if obj and (not _PLAIN.fullmatch(obj) or obj[-1].isdigit()):
        return out
    if date and past:
        out.append((f"When did {subject} {base} {obj}".rstrip() + "?", WHEN, date))
    elif is_name and past and obj and not _PRONOUNS.search(obj) and not subject.lower().startswith("the "):
        out.append((f"Who {verb} {obj}?", WHO, (pos, subject_end)))
    return out


def candidates(chunks: Iterable) -> list[Candidate]:
    """Questions made from the chunks' sentences, documents taking turns, the surest shapes first."""
    per_doc: dict[str, list[Candidate]] = {}
    seen: set[tuple[str, int]] = set()
    asked: set[str] = set()
    for chunk in chunks:
        for s, e in chunk.sentences:
            if (chunk.source, s) in seen or e - s > 400:
                continue
            seen.add((chunk.source, s))
            raw = chunk.text[s - chunk.start : e - chunk.start]
            lead = len(raw) - len(raw.lstrip())
            for question, kind, (a, b) in _question_from(raw.strip(), chunk.text):
                if question.lower() in asked or len(question) > 110:
                    continue
                asked.add(question.lower())
                cand = Candidate(question, kind, chunk.source, (s + lead + a, s + lead + b), s)
                per_doc.setdefault(chunk.source, []).append(cand)
    ordered = [sorted(c, key=lambda c: (_PRIORITY[c.kind], c.position)) for c in per_doc.values()]
    width = max(map(len, ordered), default=0)
    return [docs[i] for i in range(width) for docs in ordered if i < len(docs)]


def candidate_questions(chunks: Iterable) -> list[str]:
    """The questions of `candidates` (not yet checked by asking)."""
    return [c.question for c in candidates(chunks)]


def spread(chunks: Sequence, k: int = EXAMPLE_CHUNKS) -> list:
    """At most `k` of `chunks`, evenly spaced from the first (all of them when there are no more)."""
    n = len(chunks)
    return [chunks[i * n // k] for i in range(k)] if n > k else list(chunks)


def answers_it(answer, cand: Candidate) -> bool:
    """Whether `answer` is found and its extract overlaps the span the question was made from."""
    if not answer.found or answer.source != cand.source or answer.start is None:
        return False
    return answer.start < cand.expected[1] and answer.end > cand.expected[0]


def document_chunks(bot, documents: Iterable[str], k: int = EXAMPLE_CHUNKS) -> list:
    """At most `k` chunks of these documents, spread over them, found by position: the index holds each
    document's chunks together, in path order. An index laid out otherwise gives [] (then no document
    goes first)."""
    wanted, positions, at = set(documents), [], 0
    for path, segment in sorted(bot.index.manifest.segments.items()):
        n = int(segment.get("chunks", 0))
        if path in wanted:
            positions.extend(range(at, at + n))
        at += n
    if at != len(bot.index.chunks):
        return []
    picked = [bot.index.chunks[i] for i in spread(positions, k)]
    return picked if all(c.source in wanted for c in picked) else []


def example_questions(
    bot, n: int = 4, max_asked: int = 16, budget_s: float = 3.0, first: Sequence[str] = ()
) -> list[str]:
    """Up to `n` questions about the indexed corpus that `bot` answers from the sentence each was made from.

    Questions about the documents `first` (the ones just added) come before the others'. Asks at most
    `max_asked` candidates and stops asking after `budget_s` seconds.
    """
    shown: list[str] = []
    deadline = time.monotonic() + budget_s
    ordered = candidates(document_chunks(bot, first)) if first else []
    ordered += [c for c in candidates(spread(bot.index.chunks)) if c.source not in set(first)]
    for asked, cand in enumerate(ordered):
        if len(shown) == n or asked == max_asked or time.monotonic() > deadline:
            break
        try:
            answer = bot.answer(cand.question)
        except QAError:  # a candidate the bot refuses is no example; a bug is not hidden here
            continue
        if answers_it(answer, cand):
            shown.append(cand.question)
    return shown
