"""What a follow-up refers to: each question of a conversation read against the turns before it.

- a pronoun ("he", "its", "they", "there") stands for an entity of an earlier turn that
  agrees with it: usually the previous answer, else the previous question's subject, else
  older ones (the other way round when the previous question's own pronoun stood for its
  subject: the conversation is about that one); "What was his previous role?" ->
  "What was Wang Xiaochuan's previous role?";
- an ellipsis ("And Tencent?", "What about X?") keeps the previous question's intent and
  puts X in the place of whichever of its entities (or of its answer) is of X's kind and
  most like it: "And Tencent?" after "Which company launched Pangu Chat?" (answer: Huawei)
  reads "What was launched by Tencent?", never "Which company launched Tencent?";
- a question word alone ("Why?", "To where?") asks it of what the previous turn said, and
  "What else?" asks the previous question again for another answer.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from qa.text import DOCUMENT_NAME_WORD, QUESTION_NAMES, QUESTION_WORDS, STOPWORDS, terms, words

AS_ASKED = "as asked"
RESOLVED = "with what it refers to"
WITH_PREVIOUS_TURN = "with the previous turn"
NEW_SUBJECT = "the previous question with a new subject"
SAME_QUESTION = "the previous question, for another answer"

CONVERSATIONS_KEPT = 256  # conversations whose reading is kept: a chat's next turn reads the same history again
PERSON, THING, PLACE, TIME, GROUP, QUANTITY = "person", "thing", "place", "time", "group", "quantity"
# a pronoun: the kinds of entity it can stand for, and how it is written in its place ("{}" is the entity)
_PRONOUNS = {
    "he": ({PERSON}, "{}"),
    "him": ({PERSON}, "{}"),
    "his": ({PERSON}, "{}'s"),
    "himself": ({PERSON}, "{}"),
    "she": ({PERSON}, "{}"),
    "hers": ({PERSON}, "{}'s"),
    "herself": ({PERSON}, "{}"),
    "it": ({THING, PLACE}, "{}"),
    "its": ({THING, GROUP, PLACE}, "{}'s"),
    "itself": ({THING}, "{}"),
    "they": ({GROUP, PERSON}, "{}"),
    "them": ({GROUP, PERSON}, "{}"),
    "their": ({GROUP, PERSON}, "{}'s"),
    "theirs": ({GROUP, PERSON}, "{}'s"),
    "there": ({PLACE}, "{}"),
}
_FEMALE = frozenset(
    "she her hers herself woman women girl girls mother mom mum daughter sister wife queen aunt "
    "grandmother grandma lady ladies mrs ms miss princess".split()
)
_MALE = frozenset(
    "he him his himself man men boy boys father dad son brother husband king uncle grandfather "
    "grandpa mr sir prince".split()
)
_GROUP_WORDS = frozenset(
    "people family families team teams company companies government parents children kids "
    "friends students group groups army police crowd".split()
)
_ORG_WORDS = frozenset(
    "company technology university department government institute bank group inc ltd "
    "corporation council ministry commission center centre laboratory school".split()
)
_REFERRING = frozenset(_PRONOUNS) | {"this", "that", "these", "those", "former", "latter", "same", "her"}
_ELLIPSIS = re.compile(
    r"^\s*(?:and what about|and how about|what about|how about|same for|what of|and|also)\b[\s,]*", re.I
)
_ANOTHER = frozenset("else another other others more one any anything anyone anybody".split())
# the words of a question that asks only its question word of the previous turn ("Why?", "To where?", "How so?")
_ASKS_ONLY = frozenset(
    "what which who whom whose when where why how to with else so exactly about like for from doing long many much "
    "often old far not then since one ones kind type and or".split()
)
_WH = frozenset("what which who whom whose when where why how".split())
_NAME_OR_NUMBER = rf"(?:{DOCUMENT_NAME_WORD}|\d[\d,.]*)"
_NAME_RUN = re.compile(rf"{_NAME_OR_NUMBER}(?:\s+(?:{_NAME_OR_NUMBER}|of|and))*")
_OWNED = re.compile(rf"{_NAME_OR_NUMBER}(?:\s+{_NAME_OR_NUMBER})*['’]s\s+[a-z][\w-]*")
_DETERMINED = re.compile(
    r"\b(?:the|a|an|his|her|their|its|my|our|your|this|that|these|those)\s+"
    r"((?:(?!(?:of|in|on|at|to|for|with|from|by|and|or|that|who|which|is|was|are|were|do|does|did|has|have|had|"
    r"be|been|when|where|why|how)\b)[\w’'-]+\s*){1,4})",
    re.I,
)
_PAST = (
    r"(?:[a-z][\w-]*(?:ed|s)|wrote|began|took|gave|ate|saw|drove|chose|drew|flew|grew|knew|threw|spoke|broke|"
    r"stole|rode|hid|forgot|got|sang|ran|came|became|went|wore|made|built|bought|found|held|led|sold|told|won|"
    r"met|left|said|sent|kept|brought|thought|caught|taught|paid|lost|heard|set|put|hit|cut|let|read)"
)
# a question that asks for its subject: "Who returned", "Which company launched Pangu Chat?" (wh, verb, rest)
_SUBJECT_WH = re.compile(
    rf"^\s*((?i:who|what|which)|(?i:which|what)\s+[a-z][\w’'-]*)\s+(?!(?:is|was|has|does|did|do|are|were|had|have)\b)({_PAST})\b(?:\s+(.+?))?\s*[?.!]*$"
)
_EXISTENTIAL = re.compile(
    r"\b(?:is|are|was|were|be|been|isn't|aren't|wasn't|weren't)\s+there\b|\bthere\s+(?:is|are|"
    r"was|were|will|would|has|have|had|'s|’s)\b",
    re.I,
)
_PARTICIPLES = {
    "wrote": "written", "began": "begun", "took": "taken", "gave": "given", "ate": "eaten", "saw": "seen",
    "drove": "driven", "chose": "chosen", "drew": "drawn", "flew": "flown", "grew": "grown", "knew": "known",
    "threw": "thrown", "spoke": "spoken", "broke": "broken", "stole": "stolen", "rode": "ridden", "hid": "hidden",
    "forgot": "forgotten", "got": "gotten", "sang": "sung", "ran": "run", "came": "come", "became": "become",
    "did": "done", "went": "gone", "wore": "worn", "swam": "swum", "rang": "rung", "drank": "drunk",
}  # fmt: skip
_QUANTITY_ASKED = re.compile(r"\bhow\s+(?:many|much|long|old|far|big|large|often)\b", re.I)
_QUANTITY = re.compile(
    r"\s*(?:about|over|nearly|almost|around|only|just)?\s*(?:\d|(?:one|two|three|four|five|six|seven|eight|nine|ten|"
    r"eleven|twelve|twenty|thirty|hundred|thousand|million|a few|several|many)\b)",
    re.I,
)
_NOT_ANSWERS = frozenset(["yes", "no", "unknown", ""])


@dataclass(frozen=True)
class Turn:
    """One earlier exchange: the question and the first line of the reply ('' when it found nothing)."""

    question: str
    answer: str


# --- entities ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mention:
    """An entity the conversation has named: its words and the kinds of pronoun it can stand behind."""

    text: str
    kinds: frozenset[str]


def _kinds(text: str, asked_by: str = "") -> frozenset[str]:
    """What kinds of entity `text` can be: from how the question that it answers asked, and its words."""
    low = words(text)
    wh = next((w for w in words(asked_by) if w in _WH), "")
    if not low:
        return frozenset()
    if low[0] in ("in", "at", "on", "to", "from", "near", "inside", "into") or wh == "where":
        return frozenset({PLACE, THING})
    if _QUANTITY_ASKED.search(asked_by) or _QUANTITY.match(text):
        return frozenset({QUANTITY})
    if wh == "when" or re.fullmatch(r"(?:in\s+)?\d{4}s?|(?:in\s+)?\w+\s+\d{4}", text.strip(), re.I):
        return frozenset({TIME})
    asked_for = re.search(r"\b(?:which|what)\s+([a-z]+)", asked_by, re.I)
    if asked_for and asked_for.group(1).lower() in _ORG_WORDS | {"firm", "organization", "organisation", "agency"}:
        return frozenset({THING, GROUP})  # "Which company launched Pangu Chat?": Huawei
    kinds = set()
    gendered = set(low) & (_MALE | _FEMALE)
    if wh in ("who", "whom") and not gendered:  # "Who is his sister?" answers with a woman
        gendered = set(words(asked_by)) & (_MALE | _FEMALE) - {"he", "him", "his", "she", "her", "hers"}
    names = [w for w in text.split() if w[:1].isupper()]
    is_name = 0 < len(names) == len(text.split()) <= 3 and not set(low) & _ORG_WORDS
    if gendered:
        kinds |= {PERSON, "female" if gendered & _FEMALE else "male"}
    elif wh in ("who", "whom", "whose"):
        kinds |= {PERSON, "female", "male"}  # who answers with a person ("Huang Minlie")
    elif is_name:
        kinds |= {PERSON, "female", "male", THING}  # "Mickey", "Acme Robotics": a person or a thing
    else:
        kinds.add(THING)
    if set(low) & _GROUP_WORDS or re.search(r"\band\b|,", text) or (low[-1].endswith("s") and len(low[-1]) > 3):
        kinds.add(GROUP)
    return frozenset(kinds)


def _agrees(pronoun: str, mention: Mention) -> bool:
    wanted, _ = _PRONOUNS[pronoun]
    if not wanted & mention.kinds:
        return False
    if pronoun in ("he", "him", "his", "himself"):
        return "male" in mention.kinds or PERSON not in mention.kinds
    if pronoun in ("she", "her", "hers", "herself"):
        return "female" in mention.kinds or PERSON not in mention.kinds
    return True


def _gendered(pronoun: str, mention: Mention) -> bool:
    """Whether a person is known to be of the pronoun's gender (it then stands for them before the others)."""
    gender = {"he": "male", "him": "male", "his": "male", "himself": "male"}.get(pronoun) or (
        "female" if pronoun in ("she", "hers", "herself") else None
    )
    return gender is not None and mention.kinds & {"male", "female"} == {gender}


def _entity_like(text: str) -> bool:
    """Whether an answer names something a pronoun can stand for (not a clause or a long passage)."""
    low = words(text)
    return 0 < len(low) <= 6 and low[0] not in _REFERRING and " ".join(low) not in _NOT_ANSWERS


def subject(question: str) -> str:
    """What a question is about: its first name (skipping its first word), else its first noun phrase."""
    first = question.split(maxsplit=1)
    offset = len(question) - len(first[1]) if len(first) == 2 else len(question)
    name = _NAME_RUN.search(question, offset)
    if name:
        return name.group().removesuffix("'s").removesuffix("’s")
    phrase = _DETERMINED.search(question)
    if phrase:
        return phrase.group().strip(" ?!.").removesuffix("'s").removesuffix("’s")
    return ""


def _phrases(question: str, owned: bool = False) -> list[str]:
    """The entities of a question: its name runs and noun phrases (and, `owned`, what a name owns first:
    "Robin Li's age")."""
    found = [m.group() for m in _OWNED.finditer(question)] if owned else []
    found += [m.group() for m in _NAME_RUN.finditer(question) if m.start() > 0]
    for m in _DETERMINED.finditer(question):  # "the Walker robot carry": "the Walker robot" may be the phrase
        phrase = m.group().strip(" ?!.").split()
        found += [" ".join(phrase[:n]) for n in range(len(phrase), 1, -1)]
    return [f.removesuffix("'s").removesuffix("’s") for f in dict.fromkeys(found) if terms(f)]


# --- resolving ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Resolved:
    """A question read in its conversation: its words made whole (`text`), what it is about, how it was read,
    earlier answers its answer must not repeat, and the entity each pronoun stood for."""

    text: str
    about: Mention | None
    how: str
    avoid: tuple[str, ...] = ()
    replaced: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class _Said:
    """An earlier turn as resolved: the question made whole, what it was about, its answer, and whether it
    continued an entity of the turns before it (its pronoun stood for it: the conversation's topic)."""

    question: str
    about: Mention | None
    answer: Mention | None
    continued: bool = False
    reply: str = ""  # the answer as said, an entity or not ("he quit his job")


class Resolver:
    """Reads each question of a conversation against the turns before it.

    `likeness(phrase, candidates)` scores how alike `phrase` is to each candidate (the
    pipeline uses the embedder's cosine); without it, a phrase is most like a candidate
    of the same kind, else the previous question's subject.
    """

    def __init__(self, likeness: Callable[[str, list[str]], list[float]] | None = None) -> None:
        self.likeness = likeness
        self._said: OrderedDict[tuple[Turn, ...], list[_Said]] = OrderedDict()  # conversations read lately
        self._lock = threading.Lock()

    def conversation(self, earlier: list[Turn]) -> list[_Said]:
        """The earlier turns resolved in order, each against those before it (a conversation read before,
        or its beginning, is not read again)."""
        key = tuple(earlier)
        with self._lock:
            known = next((n for n in range(len(key), 0, -1) if key[:n] in self._said), 0)
            said = list(self._said[key[:known]]) if known else []
        for turn in earlier[known:]:
            r = self.resolve(turn.question, said)
            text = turn.answer.strip(" .,;:!?")
            answer = _answered(text, r.text) if _entity_like(text) else None
            said.append(_Said(r.text, r.about, answer, bool(r.replaced), text))
        with self._lock:
            self._said[key] = said
            self._said.move_to_end(key)
            while len(self._said) > CONVERSATIONS_KEPT:
                self._said.popitem(last=False)
        return list(said)

    def resolve(self, question: str, said: list[_Said]) -> Resolved:
        if not said:
            return Resolved(question, _own_subject(question), AS_ASKED)
        previous = said[-1]
        lead = _ELLIPSIS.match(question)
        rest = question[lead.end() :] if lead else question
        tokens = words(rest)
        whole_question = bool(set(tokens) & _WH) and len(tokens) > 3
        if lead and whole_question and not re.search(r"\babout\b", lead.group(), re.I):
            question, lead = rest, None  # "And who is its CEO?": a whole question after "and"
        tokens = words(rest)
        if tokens and set(tokens) <= _ASKS_ONLY and set(tokens) & _WH:
            return self._question_word(rest, said)
        if lead or (tokens and len(tokens) <= 3 and not set(tokens) & QUESTION_WORDS):
            if not tokens or set(tokens) <= _ANOTHER:
                return self._again(previous)
            return self._swap(rest, said)
        return self._pronouns(question, said)

    def _again(self, previous: _Said) -> Resolved:
        """Another answer ("What else?", "And another?"): the previous question, not answered as before."""
        avoid = (previous.answer.text,) if previous.answer else ()
        return Resolved(previous.question, previous.about, SAME_QUESTION, avoid)

    def _question_word(self, rest: str, said: list[_Said]) -> Resolved:
        """A question word alone ("Why?", "To where?", "With who?"), asked of what the previous turn said."""
        previous, tokens = said[-1], words(rest)
        if set(tokens) & _ANOTHER:
            return self._again(previous)
        asked = rest.strip(" ?!./>").strip()
        answer = previous.reply if " ".join(words(previous.reply)) not in _NOT_ANSWERS else ""
        text = f"{asked[:1].upper()}{asked[1:]} {_statement(previous.question, answer)}?"
        resolved = self._pronouns(text, said)
        return Resolved(resolved.text, previous.about, RESOLVED, replaced=resolved.replaced)

    def _swap(self, rest: str, said: list[_Said]) -> Resolved:
        """An ellipsis ("And Tencent?"): the previous question with Tencent in the place of what it is most like
        (an entity of the question, or its answer); its answer must not be the earlier ones."""
        previous = said[-1]
        new = rest.strip(" ?!.>").removesuffix("'s").removesuffix("’s").strip()
        new = self._pronouns(new, said).text if new else new  # "his salary" -> "Robin Li's salary"
        owned = bool(re.search(r"['’]s\b", new))  # "And his salary?" takes the place of "Robin Li's age"
        places = [Mention(p, _kinds(p)) for p in _phrases(previous.question, owned)]
        candidates = places + ([previous.answer] if previous.answer else [])
        if not new or not candidates:
            return Resolved(f"{previous.question.rstrip(' ?')} {new}?".strip(), previous.about, WITH_PREVIOUS_TURN)
        about = Mention(new, _kinds(new))
        if _sibling_of_answer(previous, about):
            best = previous.answer
        else:
            best = candidates[self._most_like(about, candidates)]
        said = tuple(c.text for c in candidates)
        if best is previous.answer:
            passive = _in_place_of_answer(previous.question, new)
            if passive:
                return Resolved(passive, about, NEW_SUBJECT, said)
            if not places:
                return Resolved(f"{previous.question.rstrip(' ?')} {new}?", about, WITH_PREVIOUS_TURN, said)
            best = places[0]
        at = previous.question.find(best.text)
        text = previous.question[:at] + new + previous.question[at + len(best.text) :]
        return Resolved(text, about, NEW_SUBJECT, (previous.answer.text,) if previous.answer else ())

    def _most_like(self, new: Mention, candidates: list[Mention]) -> int:
        """The candidate `new` takes the place of: of those of its kind, the most alike (`likeness`), else the
        first (the previous question's subject)."""
        owner = re.match(r"(.+?)['’]s\s", new.text)
        same_owner = [i for i, c in enumerate(candidates) if owner and c.text.startswith(owner.group())]
        if same_owner:  # "Robin Li's salary" takes the place of "Robin Li's age"
            return same_owner[0]
        main = new.kinds - {"female", "male"}
        fits = [i for i, c in enumerate(candidates) if main & c.kinds] or list(range(len(candidates)))
        if self.likeness is None or len(fits) == 1:
            return fits[0]
        scores = self.likeness(new.text, [candidates[i].text for i in fits])
        return fits[max(range(len(fits)), key=lambda k: scores[k])]

    def _pronouns(self, question: str, said: list[_Said]) -> Resolved:
        """The question with each pronoun replaced by the entity it stands for."""
        mentions = _mentions(said)
        out, replaced, last, about = [], [], 0, None
        for m in re.finditer(r"\b[A-Za-z]+\b", question):
            pronoun = m.group().lower()
            if pronoun not in _PRONOUNS and pronoun != "her":
                continue
            if pronoun == "there" and _EXISTENTIAL.search(question):
                continue
            if pronoun == "her":  # "her name" (hers) or "with her" (she)
                after = re.match(r"\s+([A-Za-z]+)", question[m.end() :])
                pronoun = "hers" if after and after.group(1).lower() not in STOPWORDS else "she"
                pronoun = "herself" if pronoun == "she" else pronoun
            fits = [e for e in mentions if _agrees(pronoun, e) and e.text.lower() not in question.lower()]
            if not _PRONOUNS[pronoun][1].endswith("'s"):  # "it ... it": two things ("he ... his": one)
                fits = [e for e in fits if e.text not in {r for _, r in replaced}] or fits
            entity = next((e for e in fits if _gendered(pronoun, e)), fits[0] if fits else None)
            if entity is None:
                continue
            _, form = _PRONOUNS[pronoun]
            text = (
                entity.text
                if pronoun != "there" or words(entity.text)[0] in ("in", "at", "to", "on")
                else (f"in {entity.text}")
            )
            out += [question[last : m.start()], form.format(text)]
            replaced.append((m.group(), entity.text))
            last = m.end()
            about = about or entity
        if not replaced:
            how = WITH_PREVIOUS_TURN if _leans_on_previous(question) else AS_ASKED
            return Resolved(question, _own_subject(question) or said[-1].about, how)
        text = "".join([*out, question[last:]])
        return Resolved(text, about, RESOLVED, replaced=tuple(replaced))


def _answered(text: str, question: str) -> Mention:
    """An answer as an entity; a person by their name ("Sogou CEO Wang Xiaochuan" is Wang Xiaochuan)."""
    kinds = _kinds(text, question)
    if PERSON in kinds and THING not in kinds:
        name = re.search(r"(?:\b[A-Z][a-z][\w’'-]*(?:\s+|$)){2,3}$", text)
        text = name.group().strip() if name else text
    return Mention(text, kinds)


def _proper_name(text: str) -> bool:
    return 0 < len(text.split()) <= 3 and all(w[:1].isupper() for w in text.split())


def _sibling_of_answer(previous: _Said, new: Mention) -> bool:
    """Whether an ellipsis' name asks the previous question of a sibling of its answer: the question asked for
    its subject ("Which company launched Pangu Chat?", "Who founded Acme?"), the answer was a name, and the new
    name could be one of the same kind ("And Tencent?" after Huawei: what Tencent launched)."""
    answer = previous.answer
    return (
        answer is not None
        and _SUBJECT_WH.match(previous.question) is not None
        and _proper_name(answer.text)
        and _proper_name(new.text)
        and bool((answer.kinds & new.kinds) - {"female", "male"})
    )


def _own_subject(question: str) -> Mention | None:
    found = subject(question)
    return Mention(found, _kinds(found)) if found else None


def _mentions(said: list[_Said]) -> list[Mention]:
    """Entities a pronoun may stand for, most likely first: the previous answer, then the previous question's
    subject (the other way round when that question's own pronoun stood for it: the conversation is about
    it), then the same of older turns."""
    out: list[Mention] = []
    for turn in reversed(said):
        pair = (turn.about, turn.answer) if turn.continued else (turn.answer, turn.about)
        out += [m for m in pair if m is not None and m not in out]
    return out


def _leans_on_previous(question: str) -> bool:
    """A question that names nothing of its own ("Whose chips were affected?") or refers back ("this")."""
    tokens = set(words(question))
    return bool(_REFERRING & tokens) or not (QUESTION_NAMES.search(question) or re.search(r"\d", question))


def _statement(question: str, answer: str) -> str:
    """What an earlier turn said, as a statement: its answer when that is a clause ("he died"), else the
    question with the answer in place of its question word ("Who returned" + "Andrew" -> "Andrew returned")."""
    said = words(answer)
    if not said:
        return question.rstrip(" ?!.")
    if len(said) >= 3 or said[0] in _PRONOUNS or said[0] in ("i", "we", "you"):
        return answer.rstrip(" .!")
    m = _SUBJECT_WH.match(question)
    if m:
        return f"{answer} {m.group(2)} {m.group(3) or ''}".strip()
    return f"{question.rstrip(' ?!.')} {answer}"


def _in_place_of_answer(question: str, new: str) -> str:
    """A subject question with a new entity in its answer's place: "Which company launched Pangu Chat?" with
    Tencent for Huawei reads "What was launched by Tencent?"
    ('' when the question does not ask for its subject)."""
    m = _SUBJECT_WH.match(question)
    if not m:
        return ""
    verb = m.group(2)
    participle = _PARTICIPLES.get(verb.lower(), verb if verb.lower().endswith("ed") else "")
    return f"What was {participle} by {new}?" if participle else ""


def refers(question: str) -> bool:
    """Whether a question has a word that refers back ("it", "his", "this", "there")."""
    return bool(_REFERRING & set(words(question)))
