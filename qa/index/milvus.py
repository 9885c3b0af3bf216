"""Milvus as the store: the chunks, sentence vectors and texts in Milvus, searched by many servers.

`MilvusSettings(uri)` names a Milvus: a local `*.db` path is Milvus Lite (one
process at a time per file), `http(s)://host:port` is a Milvus server (or
`milvus-lite server --host 127.0.0.1`), with the token from `QA_MILVUS_TOKEN`.
Three collections, named `<prefix>_<role>`:
- `sentences`: id, chunk_id (inverted index), doc, the vector (HNSW, inner product);
- `chunks`: id, doc, place and sentences, text, and `terms`: the chunk's
  `qa.text.terms` (stemmed, no stopwords), each written as one plain token,
  which Milvus's standard analyzer keeps whole, feeding its BM25 function, so
  Milvus's BM25 sees exactly the terms bm25s sees here;
- `documents`: each document's text in pieces, with its pages.

The build (`commit`, called by `qa.index.sync_index` with the segments it
embedded or kept) deletes and inserts the rows of new, changed and removed
documents only, and writes next to the manifest a document-frequency table
(`df-<build>.json`): the idf the ranker weighs terms by, for every store alike.
Fresh builds number chunks and sentences as the FAISS index does, so both
stores break ties alike. The manifest's `store` records the store (the URI
without credentials, the collections, the schema version); `open_store`
connects again and checks the collections still hold what it says.

Designed around Milvus Lite: HNSW, not FLAT (FLAT copies the matrix on every
query); dense search asks for SENTENCE_DEPTH sentences per chunk wanted and
keeps each chunk's best, as the FAISS store does (same fused scores); BM25
scores come back as negative distances from Lite and positive from a server
(`abs`); Lite keeps BM25 statistics per segment, so a build flushes once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from qa.errors import ConfigError, IndexCorruptError, StaleIndexError
from qa.index.manifest import Manifest, corpus_reference, read_manifest
from qa.index.storage import checked_path
from qa.index.store import SENTENCE_DEPTH, SentenceScores, best_per_chunk, score_sentences
from qa.ingest.chunking import Chunk

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2  # 2: a chunk's structure (kind, path, context) as read from its document
STRUCTURE = ("kind", "path", "context", "context_start", "sentence_kinds")  # Chunk fields in `structure`
ROLES = ("sentences", "chunks", "documents")
_NUMBERS = ("id", "start", "end", "paragraph", "line")  # a chunk row's integer fields
TOKEN_ENV = "QA_MILVUS_TOKEN"
HNSW = {"M": 16, "efConstruction": 200}
EF_SEARCH = 128
K1, B = 1.5, 0.75  # bm25s's Lucene parameters (qa.lexical.PARAMS)
TEXT_PIECE = 8192  # characters of a document's text per row (a VARCHAR holds at most 65,535 bytes)
MAX_VARCHAR = 65_535
TOP_K = 16_384  # the most rows one Milvus search returns
INSERT_BATCH = 2_000
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,200}")


def _client_module():
    try:
        import pymilvus
    except ImportError as exc:
        raise ConfigError("the Milvus store needs the milvus extra: pip install 'qa-chatbot[milvus]'") from exc
    return pymilvus


def redact(uri: str) -> str:
    """The URI without user, password or query (what the manifest may hold)."""
    parts = urlsplit(uri)
    if not parts.scheme or parts.scheme not in ("http", "https", "tcp", "grpc", "unix"):
        return uri
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def is_local(uri: str) -> bool:
    """A Milvus Lite data file (`*.db`) rather than a server address."""
    return "://" not in uri


@dataclass(frozen=True)
class MilvusSettings:
    """Which Milvus holds an index: `uri` (a `*.db` path for Milvus Lite, or http(s)://host:port) and the
    collections' name prefix. A relative `*.db` path is relative to the index folder once recorded."""

    uri: str
    prefix: str = "qa"

    def __post_init__(self) -> None:
        if not isinstance(self.uri, str) or not self.uri.strip():
            raise ConfigError(f"milvus uri must be a *.db path or http(s)://host:port, got {self.uri!r}")
        if is_local(self.uri) and not self.uri.endswith(".db"):
            raise ConfigError(f"a Milvus Lite uri must end in .db (or be http(s)://host:port), got {self.uri!r}")
        if not is_local(self.uri) and urlsplit(self.uri).scheme not in ("http", "https"):
            raise ConfigError(f"milvus uri must be http(s)://host:port or a *.db path, got {self.uri!r}")
        if not _NAME.fullmatch(self.prefix):
            raise ConfigError(f"milvus collection prefix must be letters, digits and _, got {self.prefix!r}")

    @property
    def collections(self) -> dict[str, str]:
        return {role: f"{self.prefix}_{role}" for role in ROLES}

    def recorded(self, index_dir: Path) -> dict:
        """The manifest's `store` entry (no credentials; a local file relative to the index folder)."""
        uri = corpus_reference(Path(self.uri), index_dir) if is_local(self.uri) else redact(self.uri)
        return {"kind": "milvus", "uri": uri, "collections": self.collections, "schema": SCHEMA_VERSION}

    @classmethod
    def from_manifest(cls, store: dict, index_dir: Path) -> MilvusSettings:
        if store.get("kind") != "milvus" or store.get("schema") != SCHEMA_VERSION:
            raise IndexCorruptError(f"the index in {index_dir} names a store this version cannot read: {store}")
        uri = store["uri"]
        if is_local(uri) and not Path(uri).is_absolute():
            uri = os.path.normpath(index_dir / uri)
        return cls(uri, store["collections"]["chunks"].removesuffix("_chunks"))


class _LiteNoise(logging.Filter):
    """Milvus Lite's in-process server logs a traceback for each call it does not implement (AllocTimestamp,
    asked for by create_collection, which then goes on without it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Method not implemented" not in record.getMessage()


def connect(settings: MilvusSettings):
    """A client for the Milvus the settings name (Milvus Lite starts in this process for a *.db file)."""
    pymilvus = _client_module()
    uri = settings.uri
    if is_local(uri):
        server_log = logging.getLogger("grpc._server")
        if not any(isinstance(f, _LiteNoise) for f in server_log.filters):
            server_log.addFilter(_LiteNoise())
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
        uri = str(Path(uri).resolve())
    return pymilvus.MilvusClient(uri=uri, token=os.environ.get(TOKEN_ENV, ""))


def encode_term(term: str) -> str:
    """A term as one token of [a-z0-9_] (other characters as _<hex>_): any standard analyzer keeps it whole."""
    return "".join(c if ("a" <= c <= "z" or "0" <= c <= "9") else f"_{ord(c):x}_" for c in term)


def encode_terms(text_terms: Iterable[str]) -> str:
    return " ".join(encode_term(t) for t in text_terms)


def doc_key(path: str) -> int:
    """A document's number in Milvus (its path hashed to 63 bits): rows are deleted by it."""
    return int.from_bytes(hashlib.sha256(path.encode("utf-8")).digest()[:8], "big") >> 1


# --- the store ----------------------------------------------------------------------------------
class MilvusStore:
    """The `qa.index.store.Store` over Milvus, for the index folder whose manifest names it."""

    kind = "milvus"

    def __init__(self, client, settings: MilvusSettings, manifest: Manifest, path: Path, df: dict[str, int]) -> None:
        self.client = client
        self.settings = settings
        self.names = settings.collections
        self.manifest = manifest
        self.path = path
        self._df = df
        self._texts: dict[str, str] = {}
        self._pages: dict[str, tuple[int, ...]] = {}
        self.texts = _Lazy(self._texts, self._fetch_documents)  # document path -> text, as LoadedIndex.texts
        self.pages = _Lazy(self._pages, self._fetch_documents, default=())
        self.chunks = _ChunkList(self)

    @property
    def size(self) -> int:
        return int(self.manifest.counts.get("chunks", 0))

    def dense(self, qvec: np.ndarray, k: int) -> dict[int, float]:
        depth = min(int(self.manifest.counts.get("sentences", 0)), k * SENTENCE_DEPTH, TOP_K)
        if depth <= 0:
            return {}
        got = self.client.search(
            self.names["sentences"],
            data=[np.asarray(qvec, np.float32).reshape(-1).tolist()],
            anns_field="vector",
            limit=depth,
            search_params={"metric_type": "IP", "params": {"ef": max(depth, EF_SEARCH)}},
            output_fields=["chunk_id"],
        )[0]
        return best_per_chunk([h["distance"] for h in got], [h["entity"]["chunk_id"] for h in got], k)

    def lexical(self, query_terms: list[str], k: int) -> dict[int, float]:
        got = self.client.search(
            self.names["chunks"],
            data=[encode_terms(query_terms)],
            anns_field="sparse",
            limit=min(k, TOP_K),
            search_params={"metric_type": "BM25"},
        )[0]
        # Lite returns -score, a server +score; Milvus scores carry Lucene's (k1 + 1) factor, bm25s's don't
        out = {int(h["id"]): abs(float(h["distance"])) / (K1 + 1) for h in got}
        return {c: s for c, s in out.items() if s > 0}

    def sentence_scores(self, chunk_ids: Sequence[int], qvec: np.ndarray) -> dict[int, SentenceScores]:
        if not chunk_ids:
            return {}
        rows = self.client.query(
            self.names["sentences"], filter=f"chunk_id in {[int(c) for c in chunk_ids]}",
            output_fields=["id", "chunk_id", "vector"],
        )  # fmt: skip
        by_chunk: dict[int, list] = {}
        for r in sorted(rows, key=lambda r: r["id"]):  # sentence ids run in sentence order
            by_chunk.setdefault(int(r["chunk_id"]), []).append(r["vector"])
        missing = [c for c in chunk_ids if c not in by_chunk]
        if missing:
            raise StaleIndexError(f"chunks {missing[:3]} have no sentences in Milvus; run `qa index` to rebuild")
        return {c: score_sentences(np.asarray(by_chunk[c], np.float32), qvec) for c in chunk_ids}

    def frequency(self, term: str) -> int:
        return self._df.get(term, 0)

    def chunks_by_id(self, ids: Sequence[int]) -> dict[int, Chunk]:
        ids = [int(i) for i in ids]
        out: dict[int, Chunk] = {}
        for i in range(0, len(ids), TOP_K):
            part = ids[i : i + TOP_K]
            fields = ["id", "source", "title", "heading", "start", "end", "paragraph", "line", "sentences", "text"]
            got = self.client.query(self.names["chunks"], filter=f"id in {part}", output_fields=[*fields, "structure"])
            for r in got:
                row = {f: int(r[f]) if f in _NUMBERS else r[f] for f in fields}
                row["sentences"] = json.loads(r["sentences"])
                out[row["id"]] = Chunk.from_dict(row | json.loads(r["structure"] or "{}"), r["text"])
        return out

    def document_texts(self, sources: Iterable[str]) -> Mapping[str, str]:
        sources = list(sources)
        self._fetch_documents([s for s in sources if s not in self._texts])
        return {s: self._texts[s] for s in sources}

    def _fetch_documents(self, sources: list[str]) -> None:
        if not sources:
            return
        keys = {doc_key(s): s for s in sources}
        rows = self.client.query(
            self.names["documents"], filter=f"doc in {list(keys)}", output_fields=["doc", "part", "text", "pages"]
        )
        parts: dict[str, list] = {}
        for r in rows:
            parts.setdefault(keys[int(r["doc"])], []).append(r)
        if len(self._texts) > 256:  # a few documents kept
            self._texts.clear()
        for source, got in parts.items():
            got.sort(key=lambda r: r["part"])
            self._texts[source] = "".join(r["text"] for r in got)
            self._pages[source] = tuple(json.loads(got[0]["pages"]))

    def chunk_ids(self) -> list[int]:
        """Every chunk id, in order (read once, for the chat's example questions)."""
        ids: list[int] = []
        it = self.client.query_iterator(self.names["chunks"], batch_size=TOP_K, filter="id >= 0", output_fields=["id"])
        while batch := it.next():
            ids.extend(int(r["id"]) for r in batch)
        it.close()
        return sorted(ids)

    def counts(self) -> dict[str, int]:
        """Rows in each collection."""
        return {role: int(self.client.get_collection_stats(name)["row_count"]) for role, name in self.names.items()}

    def upsert(self, path: str, rows: tuple[list, list, list]) -> None:
        """Replace a document's rows with `rows` (`document_rows`)."""
        self.delete(path)
        self.insert(rows)

    def insert(self, rows: tuple[list, list, list]) -> None:
        """Add a new document's rows (`document_rows`)."""
        for name, batch in zip(ROLES, rows, strict=True):
            for i in range(0, len(batch), INSERT_BATCH):
                self.client.insert(self.names[name], batch[i : i + INSERT_BATCH])

    def delete(self, path: str) -> None:
        """Remove a document's rows from the three collections."""
        for name in self.names.values():
            self.client.delete(name, filter=f"doc == {doc_key(path)}")
        self._texts.pop(path, None)

    def load(self) -> None:
        """Load the collections for searching (a Milvus Lite that starts again holds them released)."""
        for name in self.names.values():
            self.client.load_collection(name)

    def flush(self) -> None:
        for name in self.names.values():
            self.client.flush(name)


class _Lazy(Mapping):
    """Documents' texts (or pages) by path, fetched from Milvus when first read."""

    def __init__(self, cache: dict, fetch, default=None) -> None:
        self._cache, self._fetch, self._default = cache, fetch, default

    def __getitem__(self, path: str):
        if path not in self._cache:
            self._fetch([path])
        if path not in self._cache:
            if self._default is not None:
                return self._default
            raise KeyError(path)
        return self._cache[path]

    def get(self, path, default=None):
        try:
            return self[path]
        except KeyError:
            return default

    def __iter__(self) -> Iterator[str]:
        return iter(self._cache)

    def __len__(self) -> int:
        return len(self._cache)


class _ChunkList(Sequence):
    """The store's chunks in id order, each read from Milvus when asked for (as LoadedIndex.chunks)."""

    def __init__(self, store: MilvusStore) -> None:
        self._store = store
        self._ids: list[int] | None = None

    def __len__(self) -> int:
        return self._store.size

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if self._ids is None:
            self._ids = self._store.chunk_ids()
        cid = self._ids[i]
        return self._store.chunks_by_id([cid])[cid]


# --- loading ------------------------------------------------------------------------------------
def open_store(index_dir: str | Path, manifest: Manifest | None = None) -> MilvusStore:
    """Connect to the Milvus an index folder's manifest names, and check it holds what the manifest says."""
    index_dir = Path(index_dir)
    manifest = manifest or read_manifest(index_dir)
    settings = MilvusSettings.from_manifest(manifest.store, index_dir)
    if "df" not in manifest.files:
        raise IndexCorruptError(f"index manifest in {index_dir} names no document-frequency table; run `qa index`")
    table = json.loads(checked_path(index_dir, manifest.files["df"]).read_text(encoding="utf-8"))
    store = MilvusStore(connect(settings), settings, manifest, index_dir, table["df"])
    problem = stale_store(store)
    if problem:
        raise StaleIndexError(f"index in {index_dir}: {problem}. Run `qa index` to rebuild it")
    store.load()
    return store


def stale_store(store: MilvusStore) -> str:
    """Why the Milvus collections no longer match the manifest; empty when they do."""
    missing = [n for n in store.names.values() if not store.client.has_collection(n)]
    if missing:
        return f"Milvus at {store.manifest.store['uri']} has no collection {missing[0]!r}"
    counts = store.counts()
    want = {r: store.manifest.counts.get(f"milvus_{r}") for r in ROLES}
    if counts != want:
        return f"Milvus at {store.manifest.store['uri']} holds {counts} rows, the manifest says {want}"
    return ""
