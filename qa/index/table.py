"""The chunks and texts of a build, stored as a table instead of one JSON per document.

A build writes, next to its FAISS file:
- `chunks-<id>.npy`: one int64 row per chunk: document, start, end, paragraph,
  line, heading (an index into the heading list), first sentence row, sentences,
  and for a document read with its structure its kind, path and context (indices
  into the list of strings) and where the context starts;
- `sentences-<id>.npy`: the (start, end) offsets of every sentence, in row order;
- `texts-<id>.txt`: every document's text as read, UTF-8, one after another;
- `documents-<id>.json`: each document's path, title, byte range in the texts
  file and page offsets, the list of headings and the list of other strings.

Loading reads these few files (no per-chunk JSON, no per-chunk Python object):
`ChunkTable` makes a `Chunk` when one is asked for, and `Texts` decodes a
document's text from the mapped texts file when it is read (the last few are
kept). Segments (`seg-<key>.json`) stay the unit of reuse between builds.
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa.index.storage import npy_bytes
from qa.ingest.chunking import Chunk

COLUMNS = (
    "document",
    "start",
    "end",
    "paragraph",
    "line",
    "heading",
    "first_row",
    "sentences",
    "kind",
    "path",
    "context",
    "context_start",
    "sentence_kinds",
)
_COL = {name: i for i, name in enumerate(COLUMNS)}
KEPT = ("kind", "path", "context", "sentence_kinds")  # chunk fields kept in the list of strings
TEXTS_CACHED = 64  # documents kept decoded


class TableWriter:
    """Collects segments in manifest order; `texts` receives each document's UTF-8 text as it goes."""

    def __init__(self, texts) -> None:
        self.texts = texts  # a binary file object
        self.rows: list[np.ndarray] = []
        self.sentences: list[np.ndarray] = []
        self.documents: list[dict] = []
        self.headings: dict[str, int] = {}
        self.strings: dict[str, int] = {"": 0}  # kinds, paths and contexts
        self.offset = 0  # bytes of text written
        self.row = 0  # sentence rows so far

    def add(self, path: str, meta: dict) -> list[str]:
        """Add one segment's document; returns its chunks' BM25 texts (title, heading, text)."""
        text: str = meta["text"]
        data = text.encode("utf-8")
        self.texts.write(data)
        chunks = meta["chunks"]
        title = chunks[0].get("title", "") if chunks else ""
        where = [self.offset, self.offset + len(data)]
        self.documents.append({"path": path, "title": title, "bytes": where, "pages": meta.get("pages", [])})
        self.offset += len(data)
        doc = len(self.documents) - 1
        rows = np.empty((len(chunks), len(COLUMNS)), np.int64)
        bm25_texts = []
        for i, c in enumerate(chunks):
            h = self.headings.setdefault(c["heading"], len(self.headings))
            n = len(c["sentences"])
            kind, path, context, kinds = (self.strings.setdefault(c.get(k, ""), len(self.strings)) for k in KEPT)
            rows[i] = (doc, c["start"], c["end"], c["paragraph"], c["line"], h, self.row, n, kind, path, context,
                       c.get("context_start", -1), kinds)  # fmt: skip
            self.row += n
            bm25_texts.append(Chunk.from_dict(c, text[c["start"] : c["end"]]).embedding_text())
        self.rows.append(rows)
        sentences = [s for c in chunks for s in c["sentences"]]
        self.sentences.append(np.asarray(sentences, np.int64).reshape(-1, 2))
        return bm25_texts

    def files(self) -> dict[str, bytes]:
        """The table's other files: role -> contents."""
        rows = np.vstack(self.rows) if self.rows else np.zeros((0, len(COLUMNS)), np.int64)
        sentences = np.vstack(self.sentences) if self.sentences else np.zeros((0, 2), np.int64)
        documents = {
            "columns": list(COLUMNS),
            "documents": self.documents,
            "headings": list(self.headings),
            "strings": list(self.strings),
        }
        return {
            "chunks": npy_bytes(rows),
            "sentences": npy_bytes(sentences),
            "documents": json.dumps(documents, ensure_ascii=False).encode("utf-8"),
        }


class Texts(Mapping):
    """Document path -> its text, decoded from the mapped texts file when asked for (a few kept)."""

    def __init__(self, path: Path, documents: list[dict]) -> None:
        self._paths = [d["path"] for d in documents]
        self._where = {d["path"]: i for i, d in enumerate(documents)}
        self._bytes = [tuple(d["bytes"]) for d in documents]
        size = path.stat().st_size
        if size:
            with path.open("rb") as f:
                self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        else:
            self._map = b""
        if any(not 0 <= a <= b <= size for a, b in self._bytes):
            raise ValueError("a document's text lies outside the texts file")
        self._decode = lru_cache(maxsize=TEXTS_CACHED)(self._read)

    def _read(self, i: int) -> str:
        a, b = self._bytes[i]
        return self._map[a:b].decode("utf-8")

    def __getitem__(self, path: str) -> str:
        return self._decode(self._where[path])

    def __contains__(self, path: object) -> bool:
        return path in self._where

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


class ChunkTable(Sequence):
    """The chunks of an index, in id order; each `Chunk` is made when it is asked for."""

    def __init__(
        self,
        rows: np.ndarray,
        sentences: np.ndarray,
        documents: list[dict],
        headings: list[str],
        texts,
        strings: list[str] | None = None,
    ):
        self._rows = rows
        self._strings = strings or [""]
        self._sentences = sentences
        self._paths = [d["path"] for d in documents]
        self._titles = [d.get("title", "") for d in documents]
        self._headings = headings
        self._texts = texts

    @property
    def first_rows(self) -> np.ndarray:
        """The first sentence row of each chunk."""
        return self._rows[:, _COL["first_row"]]

    @property
    def sentence_counts(self) -> np.ndarray:
        return self._rows[:, _COL["sentences"]]

    @property
    def documents(self) -> np.ndarray:
        return self._rows[:, _COL["document"]]

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, key):
        if isinstance(key, slice):
            return [self[i] for i in range(*key.indices(len(self)))]
        doc, start, end, paragraph, line, heading, first, n, kind, path_at, context, context_start, kinds = self._rows[
            key
        ].tolist()
        i = int(key) % len(self._rows)
        path = self._paths[doc]
        return Chunk(
            id=i,
            source=path,
            start=start,
            end=end,
            text=self._texts[path][start:end],
            heading=self._headings[heading],
            paragraph=paragraph,
            line=line,
            sentences=tuple((s, e) for s, e in self._sentences[first : first + n].tolist()),
            title=self._titles[doc],
            kind=self._strings[kind],
            path=self._strings[path_at],
            context=self._strings[context],
            context_start=context_start,
            sentence_kinds=self._strings[kinds],
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None
