"""BM25 over the chunks, built once by the index build and kept in the index folder.

The scorer is bm25s (Lucene's BM25, k1 1.5, b 0.75) over the stemmed content
terms of `qa.text.terms`. A build stores the sparse score matrix bm25s makes
(three .npy arrays: data, indices, indptr) and its vocabulary (JSON); loading
maps the arrays from disk (a query reads only its terms' columns) instead of
tokenizing every chunk again. Each term's IDF is read from the matrix (a
column's entries are the chunks holding the term).

The manifest records `LEXICAL`: the scorer's parameters, this module's version
and a fingerprint of the text rules (word pattern, stopwords, stemmer). A stored
BM25 whose record differs is not used: the retriever builds a fresh one in
memory, and the next `qa index` writes it again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np

from qa.index.storage import load_npy, npy_bytes
from qa.text import STOPWORDS, WORD, terms

logging.getLogger("bm25s").setLevel(logging.ERROR)

VERSION = 1
PARAMS = {"method": "lucene", "k1": 1.5, "b": 0.75}
ROLES = ("bm25_data", "bm25_indices", "bm25_indptr", "bm25_vocab")  # the files, as the manifest names them


def _rules() -> str:
    raw = json.dumps([WORD.pattern, sorted(STOPWORDS), "snowball-english"], ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]


LEXICAL = {"version": VERSION, **PARAMS, "terms": _rules()}


@dataclass(frozen=True)
class Lexical:
    """A BM25 index over chunks `0..n-1` and the document frequency of each of its terms."""

    bm25: bm25s.BM25
    df: np.ndarray  # term id -> chunks holding the term
    n: int  # chunks

    def scores(self, query_terms: list[str]) -> np.ndarray:
        """BM25 score of every chunk for these (non-empty) terms."""
        return self.bm25.get_scores(query_terms)

    def idf(self, term: str) -> float | None:
        """The term's IDF over the chunks (as bm25s's Lucene scorer computes it); None if no chunk holds it."""
        i = self.bm25.vocab_dict.get(term)
        if i is None or i >= len(self.df) or self.df[i] == 0:
            return None
        f = int(self.df[i])
        return math.log(1 + (self.n - f + 0.5) / (f + 0.5))


def _wrap(bm25: bm25s.BM25) -> Lexical:
    indptr = np.asarray(bm25.scores["indptr"])
    return Lexical(bm25, np.diff(indptr).astype(np.int64), int(bm25.scores["num_docs"]))


class Builder:
    """Collects chunk texts in chunk order. Terms become ids as they are read (each chunk a list of
    ids shared with the vocabulary), so a million chunks never hold their terms as strings."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.ids: list[list[int]] = []

    def add(self, texts: Iterable[str]) -> None:
        vocab = self.vocab
        self.ids.extend([vocab.setdefault(t, len(vocab)) for t in terms(text)] for text in texts)

    def finish(self) -> Lexical:
        bm25 = bm25s.BM25(**PARAMS)
        if not self.vocab:  # only stopwords: bm25s needs one term; the empty one never matches a query
            self.vocab[""] = 0
        with np.errstate(invalid="ignore", divide="ignore"):
            bm25.index((self.ids, self.vocab), show_progress=False)
        return _wrap(bm25)


def build(texts: Iterable[str]) -> Lexical:
    """BM25 over `texts` (one per chunk, in chunk order)."""
    builder = Builder()
    builder.add(texts)
    return builder.finish()


def to_files(lexical: Lexical) -> dict[str, bytes]:
    """The stored form: role -> file contents (see ROLES)."""
    s = lexical.bm25.scores
    vocab = {"num_docs": lexical.n, "vocab": lexical.bm25.vocab_dict}
    return {
        "bm25_data": npy_bytes(s["data"]),
        "bm25_indices": npy_bytes(s["indices"]),
        "bm25_indptr": npy_bytes(s["indptr"]),
        "bm25_vocab": json.dumps(vocab, ensure_ascii=False).encode("utf-8"),
    }


def load(paths: dict[str, Path]) -> Lexical:
    """A stored BM25 (files already checked against the manifest), its arrays mapped from disk."""
    arrays = {r: load_npy(paths[r], mmap_mode="r") for r in ROLES[:3]}
    meta = json.loads(paths["bm25_vocab"].read_text(encoding="utf-8"))
    bm25 = bm25s.BM25(**PARAMS)
    bm25.scores = {
        "data": arrays["bm25_data"],
        "indices": arrays["bm25_indices"],
        "indptr": arrays["bm25_indptr"],
        "num_docs": int(meta["num_docs"]),
    }
    bm25.vocab_dict = dict(meta["vocab"])
    bm25.nonoccurrence_array = None
    if len(arrays["bm25_indptr"]) < max(bm25.vocab_dict.values(), default=0) + 1:
        raise ValueError("the BM25 vocabulary names more terms than its matrix holds")
    return _wrap(bm25)
