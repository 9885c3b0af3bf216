"""Word-level text helpers shared by BM25 retrieval and answer extraction."""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN

WORD = re.compile(r"[^\W_]+(?:[’'.-][^\W_]+)*", re.UNICODE)
_STEMMER = Stemmer.Stemmer("english")
QUESTION_WORDS = frozenset(
    [
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "does",
        "did",
        "do",
        "is",
        "are",
        "was",
        "were",
        "can",
        "could",
        "would",
        "should",
        "will",
        "much",
        "many",
        "name",
        "list",
        "tell",
        "give",
        "describe",
    ]
)
STOPWORDS = (
    frozenset(STOPWORDS_EN)
    | QUESTION_WORDS
    | frozenset(
        [
            "s",
            "its",
            "it’s",
            "also",
            "has",
            "have",
            "had",
            "been",
            "being",
            "their",
            "there",
            "they",
            "them",
            "these",
            "those",
            "our",
            "we",
            "you",
            "your",
            "he",
            "she",
            "his",
            "her",
            "him",
            "about",
            "any",
            "some",
            "such",
            "than",
            "then",
            "into",
            "onto",
            "over",
            "under",
            "more",
            "most",
        ]
    )
)


# Proper names, by where they are read.
# A name word: capitalized ("Huawei", "Baidu’s") or camel-case ("iFLYTEK").
NAME_WORD = r"(?:[A-Z][\w’'-]*|[a-z]+[A-Z][\w-]*)"
# A name word of a document's text (an answer candidate) may also hold '&' and '.' ("AT&T", "U.S.", "Co."),
# be one capital letter ("A") or start with digits ("2D", "5G").
DOCUMENT_NAME_WORD = r"(?:[A-Z][\w’'&.-]*[\w.]|[A-Z]|[a-z]+[A-Z][\w-]*|\d+[A-Za-z][\w-]*)"
# The names of a question: name words that do not open a sentence (its first word is capitalized anyway).
QUESTION_NAMES = re.compile(rf"(?<!^)(?<![.?!]\s)\b{NAME_WORD}")


def words(text: str) -> list[str]:
    """Word tokens, lowercased, apostrophes unified."""
    return [w.lower().replace("’", "'") for w in WORD.findall(text)]


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _STEMMER.stemWord(word.split("'")[0])


def terms(text: str) -> list[str]:
    """Content terms: stemmed words without stopwords. What BM25 and overlap scores count."""
    return list(_terms(text))


@lru_cache(maxsize=8192)
def _terms(text: str) -> tuple[str, ...]:
    # answering asks for the terms of the same retrieved sentences again and again
    return tuple(_stem(w) for w in words(text) if w not in STOPWORDS)
