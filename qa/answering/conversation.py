"""Follow-up questions: a question read in its conversation, and the readings worth trying.

`history` is Gradio's messages format: a list of {"role", "content"} dicts. Its
exchanges (`Turn`s: each question with the first line of its reply) are read in
order by the `Resolver` (qa/answering/resolver.py), each question against the ones before
it, so that the whole conversation, not only the previous turn, says what a new
question refers to ("What was his previous role?" -> "What was Wang Xiaochuan's
previous role?"; "And Tencent?" after "Which company launched Pangu Chat?" ->
"What was launched by Tencent?").

`readings` gives the question made whole and, when it could stand on its own, the
question as asked; the pipeline (`qa.api`) searches the first in the conversation's
document (`qa.answering.focus`) and the second in all of them, and a fitted model
(`qa.answering.conversation_model`) chooses between them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

from qa.answering.resolver import (
    AS_ASKED,
    NEW_SUBJECT,
    RESOLVED,
    SAME_QUESTION,
    WITH_PREVIOUS_TURN,
    Resolved,
    Resolver,
    Turn,
    refers,
)
from qa.text import QUESTION_NAMES, terms, words

__all__ = [  # the resolver's names a reading is made of are this module's too
    "AS_ASKED",
    "NEW_SUBJECT",
    "RESOLVED",
    "SAME_QUESTION",
    "WITH_PREVIOUS_TURN",
    "Reading",
    "Resolver",
    "Turn",
    "contextualize",
    "is_yes_no",
    "last_turn",
    "new_share",
    "readings",
    "refers",
    "stands_alone",
    "turns",
    "with_questions",
]

_YES_NO = re.compile(
    r"^\s*(?:(?:and|so|but|then|also|ok|okay|well)[\s,]+)?(?:is|are|was|were|am|do|does|did|can|could|has|have|had|"
    r"will|would|should|shall|may|might|must|isn't|aren't|wasn't|weren't|don't|doesn't|didn't|can't|couldn't|"
    r"hasn't|haven't|hadn't|won't|wouldn't|shouldn't)\b(?![^?]*\bor\b)",
    re.I,
)
_MARKUP = re.compile(r"<[^>]*>|\\(?=[^\w\s])|[*_`#>]")
_CONFIDENCE = re.compile(r"\s*[(\[]?\s*confidence\s+[\d.]+\s*[)\]]?\s*$", re.I)


def is_yes_no(question: str) -> bool:
    """Whether a question asks yes or no ("Did he like it?"), not which of two ("Is it red or blue?")."""
    return bool(_YES_NO.match(question))


@dataclass(frozen=True)
class Reading:
    """One way of reading a question in its conversation.

    `question` is as asked; `query` is what retrieval and sentence scoring read; `focus` is the
    question the answer type and spans are read from (the question made whole); `context` is
    the earlier turns' words ('' when none), folded into the query after the focus when the
    question only leans on them (a question made whole with what it is about gets only the
    previous question's subject); `how` says
    which of AS_ASKED, RESOLVED, NEW_SUBJECT, SAME_QUESTION or WITH_PREVIOUS_TURN it is; `avoid`
    holds earlier answers this reading's answer must not repeat ("And Tencent?" is not answered
    with Huawei again); `entity` is the earlier entity it is about (the answer is read near it);
    `within` is the document it is searched in (the conversation's), None for all of them.
    """

    question: str
    query: str
    focus: str
    context: str = ""
    how: str = AS_ASKED
    avoid: tuple[str, ...] = ()
    entity: str = ""
    within: str | None = None

    @classmethod
    def as_asked(cls, question: str) -> Reading:
        return cls(question, question, question)

    @property
    def yes_no(self) -> bool:
        return is_yes_no(self.focus)


def _content(message: dict | object) -> tuple[str, str]:
    if isinstance(message, dict):
        role, content = message.get("role", ""), message.get("content", "")
    else:
        role, content = getattr(message, "role", ""), getattr(message, "content", "")
    if isinstance(content, (list, tuple)):
        content = " ".join(c.get("text", "") if isinstance(c, dict) else str(c) for c in content)
    return str(role), str(content or "")


def _reply(content: str) -> str:
    first = next((line for line in content.strip().splitlines() if line.strip()), "")
    reply = _CONFIDENCE.sub("", html.unescape(_MARKUP.sub("", first))).strip()
    return "" if reply.lower().startswith(("not found", "i could not", "i couldn't", "no answer")) else reply


def turns(history: list | None) -> list[Turn]:
    """The exchanges of a history, in order: each user question with the first line of its reply."""
    out: list[Turn] = []
    for message in history or []:
        role, content = _content(message)
        if role == "user":
            out.append(Turn(content.strip(), ""))
        elif role == "assistant" and out and not out[-1].answer:
            out[-1] = Turn(out[-1].question, _reply(content))
    return [t for t in out if t.question]


def last_turn(history: list | None) -> tuple[str, str]:
    """The last user question and the first line of the assistant's reply to it."""
    found = turns(history)
    return (found[-1].question, found[-1].answer) if found else ("", "")


def with_questions(history: list | None, change: Callable[[str], str]) -> list[dict]:
    """The history as {"role", "content"} dicts, every user question's text passed through `change`."""
    out = [dict(zip(("role", "content"), _content(message), strict=True)) for message in history or []]
    for message in out:
        if message["role"] == "user":
            message["content"] = change(message["content"])
    return out


def readings(
    question: str, history: list | None, resolver: Resolver | None = None, document: str | None = None
) -> list[Reading]:
    """The readings worth trying for a question in its conversation, most likely first.

    The question made whole (its references resolved, its ellipsis filled; the previous turn's
    words folded into its query), searched in `document` (the conversation's) when one is given,
    and, when it could stand on its own (it is not elliptical and says something the conversation
    has not), the question as asked, searched in every document.
    """
    earlier = turns(history)
    if not earlier:
        return [Reading.as_asked(question)]
    resolver = resolver or Resolver()
    said = resolver.conversation(earlier)
    r = resolver.resolve(question, said)
    context = " ".join(t for t in (earlier[-1].answer, said[-1].question) if t)
    # a question made whole says what it is about (with the previous question's subject); one that only leans
    # on the previous turn takes its words
    topic = said[-1].about.text if said[-1].about and said[-1].about.text not in r.text else ""
    if r.how in (RESOLVED, NEW_SUBJECT):
        query = f"{r.text} {topic}".strip() if r.how == RESOLVED else r.text
    else:
        query = f"{r.text} {context}".strip()
    entity = r.replaced[0][1] if r.replaced else r.about.text if r.how == NEW_SUBJECT and r.about else ""
    made_whole = Reading(question, query, r.text, context, r.how, r.avoid, entity, document)
    if r.how in (NEW_SUBJECT, SAME_QUESTION) or not stands_alone(question, earlier, r):
        return [made_whole]
    return [made_whole, Reading.as_asked(question)]


def stands_alone(question: str, earlier: list[Turn], resolved: Resolved | None = None) -> bool:
    """Whether a question could be a new one: it says something no earlier turn said (a content word), and
    is not about an earlier entity (no pronoun of it stood for one) unless it names one of its own."""
    said = {t for turn in earlier for t in terms(f"{turn.question} {turn.answer}")}
    own = [t for t in terms(question) if t not in said]
    if resolved is not None and resolved.replaced and not QUESTION_NAMES.search(question):
        return False
    return len(own) >= 1 and len(words(question)) > 3


def new_share(question: str, earlier: list[Turn]) -> float:
    """The share of a question's content words that no earlier turn used (1 when it has none)."""
    mine = set(terms(question))
    if not mine:
        return 0.0
    said = {t for turn in earlier for t in terms(f"{turn.question} {turn.answer}")}
    return len(mine - said) / len(mine)


def contextualize(question: str, history: list | None) -> Reading:
    """The question made whole from its conversation (the first of `readings`)."""
    return readings(question, history)[0]
