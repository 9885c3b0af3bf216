"""Follow-up questions: fold the previous turn into the query when the question leans on it.

`history` is Gradio's messages format: a list of {"role", "content"} dicts.
A question leans on the previous turn when it refers back ("What does *it*
plan?"), names nothing of its own ("Whose chips were affected?") or is
elliptical ("And Tencent?", "What about SenseTime?"). A
referring question gets the previous answer (and question) added to its
query; an elliptical one takes the previous question with its subject
replaced by the new one.

A question that only names nothing of its own is ambiguous ("When did the
canteen reopen?" may be a new topic): `readings` gives both the question alone
and the question made whole, and the pipeline keeps the more confident one.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

from qa.text import QUESTION_WORDS, words

_REFERRING = frozenset(
    [
        "it",
        "its",
        "it's",
        "they",
        "them",
        "their",
        "theirs",
        "this",
        "that",
        "these",
        "those",
        "he",
        "him",
        "his",
        "she",
        "her",
        "there",
        "former",
        "latter",
        "same",
    ]
)
_ELLIPSIS = re.compile(
    r"^\s*(?:and what about|and how about|what about|how about|same for|what of|and|also)\b[\s,]*", re.I
)
_ENTITY = re.compile(r"(?:[A-Z][\w’'.-]*|\d[\d,.]*)(?:\s+(?:[A-Z][\w’'.-]*|of|and|\d[\d,.]*))*")
_NAMES = re.compile(r"(?<!^)\b(?:[A-Z][\w’'-]*|[a-z]+[A-Z]\w*)|\d")
_MARKUP = re.compile(r"<[^>]*>|\\(?=[^\w\s])|[*_`#>]")
_CONFIDENCE = re.compile(r"\s*[(\[]?\s*confidence\s+[\d.]+\s*[)\]]?\s*$", re.I)

AS_ASKED = "as asked"
WITH_PREVIOUS_TURN = "with the previous turn"
NEW_SUBJECT = "the previous question with a new subject"


@dataclass(frozen=True)
class Reading:
    """One way of reading a question in its conversation.

    `question` is as asked; `query` is what retrieval and sentence scoring read; `focus`
    is the question the answer type and spans are read from (the question itself, or the
    previous question with a new subject); `context` is the earlier turns' words folded
    into the query after the focus ('' when none); `how` says which of AS_ASKED,
    WITH_PREVIOUS_TURN or NEW_SUBJECT it is.
    """

    question: str
    query: str
    focus: str
    context: str = ""
    how: str = AS_ASKED

    @classmethod
    def as_asked(cls, question: str) -> Reading:
        return cls(question, question, question)

    @classmethod
    def of(cls, question: str, query: str, how: str) -> Reading:
        """A reading of `question` as `query`: a query that extends the question keeps the question as its
        focus and the rest as context; any other query (rewritten, translated) is its own focus."""
        if query.startswith(question):
            return cls(question, query, question, query[len(question) :], how)
        return cls(question, query, query, "", how)


def _content(message: dict | object) -> tuple[str, str]:
    if isinstance(message, dict):
        role, content = message.get("role", ""), message.get("content", "")
    else:
        role, content = getattr(message, "role", ""), getattr(message, "content", "")
    if isinstance(content, (list, tuple)):
        content = " ".join(c.get("text", "") if isinstance(c, dict) else str(c) for c in content)
    return str(role), str(content or "")


def with_last_question(history: list | None, change: Callable[[str], str]) -> list[dict]:
    """The history as {"role", "content"} dicts, the last user question's text passed through `change`
    (the only question `last_turn`, and so a follow-up, reads)."""
    out = [dict(zip(("role", "content"), _content(message), strict=True)) for message in history or []]
    last = next((m for m in reversed(out) if m["role"] == "user"), None)
    if last is not None:
        last["content"] = change(last["content"])
    return out


def last_turn(history: list | None) -> tuple[str, str]:
    """The last user question and the first line of the assistant's reply to it."""
    question = reply = ""
    for message in history or []:
        role, content = _content(message)
        if role == "user":
            question, reply = content.strip(), ""
        elif role == "assistant" and question and not reply:
            first = next((line for line in content.strip().splitlines() if line.strip()), "")
            reply = _CONFIDENCE.sub("", html.unescape(_MARKUP.sub("", first))).strip()
            if reply.lower().startswith(("not found", "i could not", "i couldn't", "no answer")):
                reply = ""
    return question, reply


def _subject(question: str) -> re.Match | None:
    """The first name-like run in a question, skipping its first word."""
    first = question.split(maxsplit=1)
    offset = len(question) - len(first[1]) if len(first) == 2 else len(question)
    return _ENTITY.search(question, offset)


def contextualize(question: str, history: list | None) -> Reading:
    """The question read with its conversation: as asked, or made whole from the previous turn."""
    previous, reply = last_turn(history)
    if not previous:
        return Reading.as_asked(question)
    asked = question
    ellipsis = _ELLIPSIS.match(question)
    if (
        ellipsis
        and QUESTION_WORDS & set(words(question[ellipsis.end() :]))
        and not re.search(r"\babout\b", ellipsis.group(), re.I)
    ):
        question, ellipsis = question[ellipsis.end() :], None  # "And who is its CEO?": a whole question
    tokens = words(question)
    if ellipsis or (len(tokens) <= 3 and not QUESTION_WORDS & set(tokens)):
        rest = question[ellipsis.end() :] if ellipsis else question
        new = rest.strip(" ?!.").removesuffix("'s").removesuffix("’s")
        old = _subject(previous)
        whole = previous[: old.start()] + new + previous[old.end() :] if old and new else f"{previous} {new}".strip()
        return Reading.of(asked, whole, NEW_SUBJECT)
    if _REFERRING & set(tokens) or not _NAMES.search(question):
        return Reading.of(asked, f"{question} {reply} {previous}".strip(), WITH_PREVIOUS_TURN)
    return Reading.of(asked, question, AS_ASKED)


def readings(question: str, history: list | None) -> list[Reading]:
    """The readings worth trying for a question, most likely first (one or two)."""
    made_whole = contextualize(question, history)
    if made_whole.query == question or _REFERRING & set(words(question)) or _ELLIPSIS.match(question):
        return [made_whole]
    if len(words(question)) <= 3:  # "Whose chips?": too short to stand alone
        return [made_whole]
    return [Reading.as_asked(question), made_whole]
