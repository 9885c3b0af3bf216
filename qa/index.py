"""Stage 4: keep sentence vectors in a FAISS index that describes itself, updated document by document.

Every sentence of every chunk is embedded once; a chunk's dense score is the
best score of its sentences (on SQuAD this ranks paragraphs better than one
vector per chunk, and embeds each word once instead of twice).

An index folder holds `manifest.json` and the data files it names:
- one segment per document: `seg-<key>.json` (its text as read, format, page
  offsets and chunk places) and `seg-<key>.npy` (one vector per chunk
  sentence, in chunk order). The key hashes the path, the document's SHA-256,
  the model, the chunker settings and the index format, so an unchanged
  document keeps its segment and is never embedded again;
- `vectors-<build id>.faiss`: the inner-product index over every sentence
  vector, in manifest order (FAISS id i is sentence row i; `sentence_chunks[i]`
  is its chunk), of the kind the corpus size calls for (`qa/vectors.py`);
- the build's chunk table and texts (`chunks-`, `sentences-`, `texts-`,
  `documents-<build id>`, see `qa/table.py`) and its BM25 (`bm25-<build id>-*`,
  see `qa/lexical.py`): what loading reads, so that a load parses no segment.

The manifest records the model, dimension, chunker settings, every document's
path and SHA-256 (and the files that were read but had no usable text, with
why), when each document was indexed, the build time, library versions and
each data file's size and hash, and the BM25 scorer's version (`lexical`).

Writing is atomic: segments and the FAISS file are written under new names and
the manifest, which points to them, is replaced last with `os.replace`. A crash
or a cancel at any point leaves the previous manifest and its files in place;
segments already written are picked up by the next build. Nothing is unpickled
on load. Loading checks the hash of every file it reads (streamed, never held
twice), and that every segment the manifest names is there.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import logging
import math
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path

import numpy as np

from qa import lexical as lexical_module
from qa import vectors as vector_kinds
from qa.chunking import Chunk, chunk_document
from qa.documents import Document, Skipped, list_corpus, no_documents_error, read_documents, sha256_bytes
from qa.embedding import Embedder, fingerprint
from qa.errors import BuildCancelled, CorpusError, IndexCorruptError, IndexMissingError
from qa.settings import ChunkSettings, VectorSettings
from qa.table import ChunkTable, TableWriter, Texts

log = logging.getLogger(__name__)

FORMAT_VERSION = 4  # 4: chunk table, texts and BM25 stored per build; SQ8 vectors above 1M
MANIFEST = "manifest.json"
EMBED_GROUP = 512  # texts embedded between two looks at the cancel flag
_REBUILD = "run `qa index` to rebuild it"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass(frozen=True)
class Manifest:
    model: str
    dim: int
    chunking: dict
    documents: dict[str, str]  # path -> sha256
    files: dict[str, dict]  # role -> {"name", "size", "sha256"}
    built_at: str
    build_id: str
    corpus: str
    counts: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    metric: str = "inner_product"
    segments: dict[str, dict] = field(default_factory=dict)  # path -> {"key", "json", "npy", "chunks", ...}
    skipped: dict[str, dict] = field(default_factory=dict)  # path -> {"sha256", "reason"}
    vector_index: dict = field(default_factory=lambda: {"type": "flat"})  # VectorSettings.resolve()
    lexical: dict = field(default_factory=dict)  # lexical.LEXICAL of the stored BM25
    # what the vectors depend on beyond the model's name (qa.embedding.fingerprint): for an int8 model its
    # file's SHA-256, the onnxruntime version and the quantization; {} for full precision
    model_fingerprint: dict = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict:
        return {
            "format_version": self.format_version,
            "model": self.model,
            "model_fingerprint": self.model_fingerprint,
            "dim": self.dim,
            "metric": self.metric,
            "vector_index": self.vector_index,
            "lexical": self.lexical,
            "chunking": self.chunking,
            "corpus": self.corpus,
            "documents": self.documents,
            "skipped": self.skipped,
            "counts": self.counts,
            "files": self.files,
            "segments": self.segments,
            "built_at": self.built_at,
            "build_id": self.build_id,
            "versions": self.versions,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Manifest:
        if d.get("format_version") != FORMAT_VERSION:
            raise IndexCorruptError(f"index format {d.get('format_version')!r} is not {FORMAT_VERSION}; {_REBUILD}")
        try:
            return cls(
                model=d["model"],
                dim=int(d["dim"]),
                chunking=dict(d["chunking"]),
                documents=dict(d["documents"]),
                files=dict(d["files"]),
                built_at=d["built_at"],
                build_id=d["build_id"],
                corpus=d["corpus"],
                counts=dict(d.get("counts", {})),
                versions=dict(d.get("versions", {})),
                metric=d.get("metric", "inner_product"),
                segments=dict(d["segments"]),
                skipped=dict(d.get("skipped", {})),
                vector_index=dict(d.get("vector_index", {"type": "flat"})),
                lexical=dict(d.get("lexical", {})),
                model_fingerprint=dict(d.get("model_fingerprint", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexCorruptError(f"index manifest is incomplete ({exc}); {_REBUILD}") from exc

    def sources(self) -> list[dict]:
        """One row per file the build looked at: indexed (with chunk count and when) or skipped (with why)."""
        rows = [
            {
                "path": path,
                "status": "indexed",
                "format": seg.get("format", "text"),
                "chunks": seg.get("chunks", 0),
                "indexed_at": seg.get("indexed_at", ""),
                "reason": "",
            }
            for path, seg in self.segments.items()
        ]
        rows += [
            {"path": p, "status": "skipped", "format": "", "chunks": 0, "indexed_at": "", "reason": s["reason"]}
            for p, s in self.skipped.items()
        ]
        return sorted(rows, key=lambda r: r["path"])

    def file_names(self) -> set[str]:
        """The data files this manifest points to."""
        names = {e["name"] for e in self.files.values()}
        return names | {seg[r]["name"] for seg in self.segments.values() for r in ("json", "npy")}

    def seen(self) -> dict[str, str]:
        """Every file the build looked at, indexed or not: path -> sha256."""
        return {**{p: s["sha256"] for p, s in self.skipped.items()}, **self.documents}


@dataclass(frozen=True)
class LoadedIndex:
    """Everything an index folder holds, checked and in memory."""

    path: Path
    manifest: Manifest
    chunks: Sequence[Chunk]  # a ChunkTable: each Chunk made when asked for
    texts: Mapping[str, str]  # document path -> text (Texts: decoded from the mapped texts file)
    vectors: object  # faiss.Index over the sentence vectors
    sentence_vectors: object  # one row per sentence, in chunk order: a numpy view, or QuantizedRows for SQ8
    sentence_rows: tuple[int, ...]  # first row of each chunk's sentences
    pages: dict[str, tuple[int, ...]] = field(default_factory=dict)  # PDF path -> page start offsets
    sentence_chunks: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # row -> chunk id
    lexical: object = None  # the stored BM25 (lexical.Lexical), None when it is missing or of another version
    exact_rows: object = None  # SQ8 only: vectors.SegmentRows, the exact vectors on disk for re-ranking


@dataclass(frozen=True)
class SyncReport:
    """What a build did: the manifest it wrote and which documents it embedded, kept or dropped."""

    manifest: Manifest
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    skipped: tuple[Skipped, ...] = ()


def _atomic_write(path: Path, data: bytes, durable: bool = True) -> None:
    """Write `data` under a temporary name, then rename it to `path`: readers see all of it or none.

    `durable=False` skips the fsync (segments: one `os.sync()` before the manifest covers them all).
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _file_entry(path: Path, data: bytes) -> dict:
    return {"name": path.name, "size": len(data), "sha256": sha256_bytes(data)}


class _StreamWriter:
    """A file written in pieces under a temporary name, hashed as it goes; renamed to `path` when whole."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fd, self.tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        self.file = os.fdopen(fd, "wb")
        self.hash = hashlib.sha256()
        self.size = 0
        self.entry: dict = {}

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self.hash.update(data)
        self.size += len(data)

    def __enter__(self) -> _StreamWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.file.flush()
                os.fsync(self.file.fileno())
            self.file.close()
            if exc_type is None:
                os.replace(self.tmp, self.path)
                self.entry = {"name": self.path.name, "size": self.size, "sha256": self.hash.hexdigest()}
        finally:
            if not self.entry:
                self.file.close()
                Path(self.tmp).unlink(missing_ok=True)


def _hash_file(path: Path) -> tuple[int, str]:
    """Size and SHA-256 of a file, read in blocks."""
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
            size += len(block)
    return size, h.hexdigest()


def _write_faiss(path: Path, index) -> dict:
    """Write a FAISS index atomically, straight to disk (no serialized copy in memory)."""
    import faiss

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        faiss.write_index(index, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        size, digest = _hash_file(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return {"name": path.name, "size": size, "sha256": digest}


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def corpus_reference(corpus_dir: Path, index_dir: Path) -> str:
    """How the manifest names the corpus: relative to the index folder when possible."""
    try:
        return os.path.relpath(corpus_dir.resolve(), index_dir.resolve())
    except ValueError:
        return str(corpus_dir.resolve())


def segment_key(path: str, sha256: str, model: str, chunking: ChunkSettings) -> str:
    """Names a document's segment: the same file, model and chunker give the same key."""
    raw = json.dumps([path, sha256, model, chunking.to_dict(), FORMAT_VERSION], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]


@contextlib.contextmanager
def _build_lock(index_dir: Path):
    """One build at a time per index folder (a lock on the folder itself): a second waits for the first."""
    fd = os.open(index_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


# --- segments -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Segment:
    path: str
    sha256: str
    key: str
    json_entry: dict
    npy_entry: dict
    chunks: int
    sentences: int
    format: str
    indexed_at: str

    def entry(self) -> dict:
        return {
            "sha256": self.sha256,
            "key": self.key,
            "json": self.json_entry,
            "npy": self.npy_entry,
            "chunks": self.chunks,
            "sentences": self.sentences,
            "format": self.format,
            "indexed_at": self.indexed_at,
        }


def _write_segment(index_dir: Path, key: str, doc: Document, chunks: list[Chunk], vectors: np.ndarray) -> _Segment:
    npy_data = _npy_bytes(np.ascontiguousarray(vectors, dtype=np.float32))
    meta = {
        "path": doc.path,
        "sha256": doc.sha256,
        "format": doc.format,
        "pages": list(doc.pages),
        "indexed_at": _now(),
        "npy_sha256": sha256_bytes(npy_data),
        "text": doc.text,
        "chunks": [c.to_dict() for c in chunks],
    }
    json_data = json.dumps(meta, ensure_ascii=False).encode("utf-8")
    # Not fsynced one by one (thousands of small documents would wait on the disk for each):
    # _commit syncs once before the manifest points to them, and a segment found after a crash
    # is only reused when its vectors match the hash its JSON (written last) records.
    _atomic_write(index_dir / f"seg-{key}.npy", npy_data, durable=False)
    _atomic_write(index_dir / f"seg-{key}.json", json_data, durable=False)
    n_sentences = sum(len(c.sentences) for c in chunks)
    return _Segment(
        doc.path,
        doc.sha256,
        key,
        _file_entry(index_dir / f"seg-{key}.json", json_data),
        _file_entry(index_dir / f"seg-{key}.npy", npy_data),
        len(chunks),
        n_sentences,
        doc.format,
        meta["indexed_at"],
    )


def _existing_segment(
    index_dir: Path, key: str, path: str, sha256: str, dim: int, known: dict | None = None
) -> _Segment | None:
    """A segment left by an earlier (maybe interrupted) build, when it is whole and for this file.

    `known` is the current manifest's entry for the path: when it names this
    segment, the files must still have the size and hash it recorded.
    """
    json_path, npy_path = index_dir / f"seg-{key}.json", index_dir / f"seg-{key}.npy"
    try:
        json_data, npy_data = json_path.read_bytes(), npy_path.read_bytes()
        meta = json.loads(json_data.decode("utf-8"))
        vectors = np.load(io.BytesIO(npy_data), allow_pickle=False)
        n_chunks = len(meta["chunks"])
        n_sentences = sum(len(c["sentences"]) for c in meta["chunks"])
        if n_sentences == 0:
            return None
        if (
            meta["path"] != path
            or meta["sha256"] != sha256
            or meta["npy_sha256"] != sha256_bytes(npy_data)
            or vectors.shape != (n_sentences, dim)
        ):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    json_entry, npy_entry = _file_entry(json_path, json_data), _file_entry(npy_path, npy_data)
    if known and known.get("key") == key and (known.get("json"), known.get("npy")) != (json_entry, npy_entry):
        log.warning("segment of %s is damaged; embedding it again", path)
        return None
    return _Segment(
        path,
        sha256,
        key,
        json_entry,
        npy_entry,
        n_chunks,
        n_sentences,
        meta.get("format", "text"),
        meta.get("indexed_at", ""),
    )


def _read_checked(index_dir: Path, entry: dict) -> bytes:
    path = index_dir / entry["name"]
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IndexCorruptError(f"index file {path} is missing; {_REBUILD}") from exc
    if len(data) != entry["size"] or sha256_bytes(data) != entry["sha256"]:
        raise IndexCorruptError(f"index file {path} is damaged (size or hash differs from the manifest); {_REBUILD}")
    return data


def _checked_path(index_dir: Path, entry: dict) -> Path:
    """The path of a data file whose size and hash match the manifest (hashed in blocks, not held)."""
    path = index_dir / entry["name"]
    try:
        size, digest = _hash_file(path)
    except OSError as exc:
        raise IndexCorruptError(f"index file {path} is missing; {_REBUILD}") from exc
    if size != entry["size"] or digest != entry["sha256"]:
        raise IndexCorruptError(f"index file {path} is damaged (size or hash differs from the manifest); {_REBUILD}")
    return path


def _read_segment(index_dir: Path, entry: dict) -> tuple[dict, np.ndarray]:
    meta = json.loads(_read_checked(index_dir, entry["json"]).decode("utf-8"))
    vectors = np.load(io.BytesIO(_read_checked(index_dir, entry["npy"])), allow_pickle=False)
    return meta, vectors


# --- building -----------------------------------------------------------------------------------
class _Progress:
    """A bar over the texts to embed, with an ETA (tqdm; Gradio's track_tqdm shows it in the UI)."""

    def __init__(self, total: int, enabled: bool) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc="Embedding", unit="text", disable=not enabled or total == 0)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()

    def update(self, n: int) -> None:
        self.bar.update(n)


def _embed_documents(
    index_dir: Path,
    todo: list[tuple[str, Document]],
    embedder: Embedder,
    chunking: ChunkSettings,
    progress: bool,
    cancel: threading.Event | None,
) -> list[_Segment]:
    """Chunk and embed documents in groups of about EMBED_GROUP texts, writing a segment per document."""
    planned = []
    for key, doc in todo:
        chunks = chunk_document(doc, chunking)
        texts = [doc.text[s:e] for c in chunks for s, e in c.sentences]
        planned.append((key, doc, chunks, texts))
    segments: list[_Segment] = []
    with _Progress(sum(len(p[3]) for p in planned), progress) as bar:
        i = 0
        while i < len(planned):
            if cancel is not None and cancel.is_set():
                raise BuildCancelled(
                    f"the build was stopped after {len(segments)} of {len(planned)} documents; "
                    "the previous index is still in use, and the next build picks up where this one stopped"
                )
            group, size = [], 0
            while i < len(planned) and (not group or size + len(planned[i][3]) <= EMBED_GROUP):
                group.append(planned[i])
                size += len(planned[i][3])
                i += 1
            texts = [t for p in group for t in p[3]]
            vectors = embedder.encode_passages(texts) if texts else np.zeros((0, embedder.dim), np.float32)
            row = 0
            for key, doc, chunks, doc_texts in group:
                segments.append(_write_segment(index_dir, key, doc, chunks, vectors[row : row + len(doc_texts)]))
                row += len(doc_texts)
            bar.update(size)
    return segments


def build_index(
    docs: list[Document],
    corpus_dir: str | Path,
    index_dir: str | Path,
    embedder: Embedder,
    chunking: ChunkSettings,
    progress: bool = False,
    skipped: list[Skipped] | tuple[Skipped, ...] = (),
    cancel: threading.Event | None = None,
    vectors: VectorSettings | None = None,
) -> Manifest:
    """Write the index of exactly these documents into `index_dir`.

    Documents whose segment already exists (unchanged since an earlier build) are
    not embedded again.
    """
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    with _build_lock(index_dir):
        args = (index_dir, Path(corpus_dir), docs, list(skipped), embedder, chunking, progress, cancel)
        return _commit_docs(*args, vectors=vectors)[0]


def _known_segments(index_dir: Path, embedder: Embedder, chunking: ChunkSettings) -> dict[str, dict]:
    """The current manifest's segments, when it was built with this model and chunker."""
    try:
        m = read_manifest(index_dir)
    except (IndexMissingError, IndexCorruptError):
        return {}
    same = _same_model(m, embedder) and m.chunking == chunking.to_dict()
    return m.segments if same else {}


def _same_model(m: Manifest, embedder: Embedder) -> bool:
    """Whether the index's vectors were made by this very model (name, size and fingerprint)."""
    return (m.model, m.dim, m.model_fingerprint) == (embedder.name, embedder.dim, fingerprint(embedder))


def _model_key(embedder: Embedder) -> str:
    """The model as segment keys name it: another form of the model (another fingerprint) gets other segments."""
    stamp = fingerprint(embedder)
    return embedder.name if not stamp else f"{embedder.name}|{json.dumps(stamp, sort_keys=True)}"


def _find_segment(index_dir: Path, path: str, sha256: str, embedder, chunking, known: dict) -> _Segment | None:
    """An existing segment of this exact file: the one the manifest names, or one an interrupted build left."""
    entry = known.get(path)
    keys = [entry["key"]] if entry and entry.get("sha256") == sha256 and entry.get("key") else []
    keys.append(segment_key(path, sha256, _model_key(embedder), chunking))
    for key in dict.fromkeys(keys):
        seg = _existing_segment(index_dir, key, path, sha256, embedder.dim, entry)
        if seg is not None:
            return seg
    return None


def _commit_docs(
    index_dir, corpus_dir, docs, skipped, embedder, chunking, progress, cancel, full=False, vectors=None, found=None
):
    """Embed what has no segment yet and write the index. `found`: segments the caller already found, by path."""
    reused, todo = {}, []
    known = {} if full or found is not None else _known_segments(index_dir, embedder, chunking)
    nonce = uuid.uuid4().hex if full else ""
    for doc in docs:
        if found is not None:
            seg = found.get(doc.path)
        else:
            seg = None if full else _find_segment(index_dir, doc.path, doc.sha256, embedder, chunking, known)
        if seg is not None:
            reused[doc.path] = seg
        else:
            todo.append((segment_key(doc.path, doc.sha256 + nonce, _model_key(embedder), chunking), doc))
    made = {s.path: s for s in _embed_documents(index_dir, todo, embedder, chunking, progress, cancel)}
    segments = [reused.get(d.path) or made[d.path] for d in docs]
    kind = (vectors or VectorSettings.from_env()).resolve(sum(s.sentences for s in segments))
    unchanged = _unchanged(index_dir, segments, skipped, embedder, chunking, corpus_dir, kind)
    if unchanged is not None:
        return unchanged, sorted(reused)
    return _commit(index_dir, corpus_dir, segments, skipped, embedder, chunking, kind), sorted(reused)


def _unchanged(index_dir, segments, skipped, embedder, chunking, corpus_dir, kind: dict) -> Manifest | None:
    """The current manifest when the new build would say exactly the same (then nothing is rewritten).

    A search setting (HNSW's efSearch) is not part of the files: when only it
    differs, the manifest is rewritten with it and the files are kept.
    """
    try:
        m = read_manifest(index_dir)
        for role in BUILD_FILES:
            _checked_path(index_dir, m.files[role])
    except (IndexMissingError, IndexCorruptError, KeyError):
        return None
    same = (
        _same_model(m, embedder)
        and m.chunking == chunking.to_dict()
        and m.corpus == corpus_reference(corpus_dir, index_dir)
        and vector_kinds.built_the_same(m.vector_index, kind)
        and m.lexical == lexical_module.LEXICAL
        and list(m.segments.items()) == [(s.path, s.entry()) for s in segments]
        and m.skipped == {s.path: {"sha256": s.sha256, "reason": s.reason} for s in skipped if s.sha256}
    )
    if not same:
        return None
    if m.vector_index != kind:
        m = replace(m, vector_index=kind)
        _atomic_write(index_dir / MANIFEST, json.dumps(m.to_dict(), indent=2, ensure_ascii=False).encode("utf-8"))
        log.info("search settings of %s changed to %s; the index files are kept", index_dir, kind)
    return m


def sync_index(
    corpus_dir: str | Path,
    index_dir: str | Path,
    embedder: Embedder,
    chunking: ChunkSettings,
    *,
    progress: bool = False,
    cancel: threading.Event | None = None,
    full: bool = False,
    vectors: VectorSettings | None = None,
) -> SyncReport:
    """Bring the index up to date with its corpus folder: embed new and changed documents only.

    Unchanged documents keep their segments; removed ones are dropped. Files
    that are listed but cannot be read are recorded as skipped, with why.
    `full=True` embeds every document again (the old index stays in use until
    the new one is complete).
    """
    corpus_dir, index_dir = Path(corpus_dir), Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    with _build_lock(index_dir):
        try:
            before = read_manifest(index_dir).seen()
        except (IndexMissingError, IndexCorruptError):
            before = {}
        listed, skipped = list_corpus(corpus_dir)
        known = {} if full else _known_segments(index_dir, embedder, chunking)
        found = {}
        for source in [] if full else listed:
            seg = _find_segment(index_dir, source.path, source.sha256, embedder, chunking, known)
            if seg is not None:
                found[source.path] = seg
        docs, unreadable = read_documents(corpus_dir, [s for s in listed if s.path not in found])
        skipped += unreadable
        docs += [Document(s.path, "", s.sha256, s.format) for s in listed if s.path in found]  # text not needed
        docs.sort(key=lambda d: d.path)
        if not docs:
            raise no_documents_error(corpus_dir, skipped)
        args = (index_dir, corpus_dir, docs, skipped, embedder, chunking, progress, cancel, full)
        manifest, kept = _commit_docs(*args, vectors=vectors, found=found)
    now = manifest.documents
    return SyncReport(
        manifest=manifest,
        added=tuple(sorted(p for p in now if p not in before)),
        changed=tuple(sorted(p for p in now if p in before and before[p] != now[p])),
        removed=tuple(sorted(p for p in before if p not in manifest.seen())),
        kept=tuple(p for p in kept if before.get(p) == now[p]),
        skipped=tuple(sorted(skipped, key=lambda s: s.path)),
    )


BUILD_FILES = ("vectors", "chunks", "sentences", "texts", "documents", *lexical_module.ROLES)


def _training_sample(index_dir: Path, segments: list[_Segment]) -> np.ndarray:
    """About TRAIN_SAMPLE vectors for a quantizer: every k-th segment's, spread over the corpus."""
    total = sum(s.sentences for s in segments)
    step = max(1, math.ceil(total / vector_kinds.TRAIN_SAMPLE))
    blocks = [np.load(io.BytesIO(_read_checked(index_dir, s.npy_entry)), allow_pickle=False) for s in segments[::step]]
    return np.ascontiguousarray(np.vstack(blocks), dtype=np.float32)


def _data_name(role: str, build_id: str) -> str:
    if role.startswith("bm25_"):
        return f"bm25-{build_id}-{role[5:]}.{'json' if role == 'bm25_vocab' else 'npy'}"
    return f"{role}-{build_id}.{'json' if role == 'documents' else 'npy'}"


def _commit(index_dir: Path, corpus_dir: Path, segments: list[_Segment], skipped, embedder, chunking, kind) -> Manifest:
    """Write the build's own files (FAISS index, chunk table, texts, BM25) from the segments, then the manifest.

    Segments are read one at a time: vectors go to FAISS in a few large adds,
    text to the texts file, chunks to the table and their terms to BM25.
    """
    total_chunks = sum(s.chunks for s in segments)
    if total_chunks == 0:
        raise CorpusError(
            "the documents hold no text to answer from (only headings or short labels); "
            "add paragraphs of text and run `qa index` again"
        )
    build_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    index = vector_kinds.new_index(kind, embedder.dim)
    if vector_kinds.needs_training(kind):
        index.train(_training_sample(index_dir, segments))
    lexical = lexical_module.Builder()
    with _StreamWriter(index_dir / f"texts-{build_id}.txt") as texts:
        table = TableWriter(texts)

        def blocks():
            for s in segments:
                meta, vectors = _read_segment(index_dir, {"json": s.json_entry, "npy": s.npy_entry})
                lexical.add(table.add(s.path, meta))
                yield vectors

        vector_kinds.add_batches(index, blocks(), vector_kinds.add_batch(kind))
    files = {"texts": texts.entry, "vectors": _write_faiss(index_dir / f"vectors-{build_id}.faiss", index)}
    del index
    stored = {**table.files(), **lexical_module.to_files(lexical.finish())}
    for role, data in stored.items():
        path = index_dir / _data_name(role, build_id)
        _atomic_write(path, data)
        files[role] = _file_entry(path, data)
    os.sync()  # the segments reach the disk before the manifest that names them
    manifest = Manifest(
        model=embedder.name,
        model_fingerprint=fingerprint(embedder),
        dim=embedder.dim,
        chunking=chunking.to_dict(),
        documents={s.path: s.sha256 for s in segments},
        files={role: files[role] for role in BUILD_FILES},
        built_at=_now(),
        build_id=build_id,
        corpus=corpus_reference(corpus_dir, index_dir),
        counts={
            "documents": len(segments),
            "chunks": total_chunks,
            "sentences": sum(s.sentences for s in segments),
            "skipped": len(skipped),
        },
        versions={p: _version(p) for p in ("qa-chatbot", "sentence-transformers", "faiss-cpu", "numpy", "bm25s")},
        segments={s.path: s.entry() for s in segments},
        skipped={s.path: {"sha256": s.sha256, "reason": s.reason} for s in skipped if s.sha256},
        vector_index=kind,
        lexical=lexical_module.LEXICAL,
    )
    _atomic_write(index_dir / MANIFEST, json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False).encode("utf-8"))
    _remove_old_files(index_dir, manifest.file_names())
    log.info("indexed %d documents, %d chunks into %s", len(segments), total_chunks, index_dir)
    return manifest


_DATA_STEMS = ("vectors", "seg", "sentences", "chunks", "texts", "documents", "bm25")


def _remove_old_files(index_dir: Path, keep: set[str]) -> None:
    for path in index_dir.iterdir():
        stem = path.name.split("-", 1)[0]
        if (stem in _DATA_STEMS and path.name not in keep) or (
            path.name.startswith(".") and path.name.endswith(".tmp")
        ):
            path.unlink(missing_ok=True)


# --- loading ------------------------------------------------------------------------------------
def read_manifest(index_dir: str | Path) -> Manifest:
    path = Path(index_dir) / MANIFEST
    if not path.is_file():
        raise IndexMissingError(f"no index in {index_dir} (no {MANIFEST}); run `qa index` to build it")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(f"{path} is not valid JSON ({exc}); {_REBUILD}") from exc
    if not isinstance(data, dict):
        raise IndexCorruptError(f"{path} is not an index manifest; {_REBUILD}")
    return Manifest.from_dict(data)


def load_index(index_dir: str | Path) -> LoadedIndex:
    """Read and check an index folder. Raises IndexMissingError or IndexCorruptError.

    A build that finishes while this reads can replace the manifest and remove the
    files it named: then the read is tried once more, on the new manifest.
    """
    index_dir = Path(index_dir)
    path = index_dir / MANIFEST
    seen = path.read_bytes() if path.is_file() else None
    try:
        return _load(index_dir)
    except IndexCorruptError:
        if path.is_file() and path.read_bytes() != seen:
            return _load(index_dir)  # a build replaced the index while this read it
        raise


def _load(index_dir: Path) -> LoadedIndex:
    import faiss

    manifest = read_manifest(index_dir)
    if sorted(manifest.segments) != sorted(manifest.documents):
        raise IndexCorruptError(f"index manifest in {index_dir} lists documents without segments; {_REBUILD}")
    missing = [r for r in BUILD_FILES if r not in manifest.files]
    if missing:
        raise IndexCorruptError(f"index manifest names no {missing[0]!r} file; {_REBUILD}")
    for entry in manifest.segments.values():  # build inputs: there and whole-sized (hashed when a build reuses them)
        for role in ("json", "npy"):
            path = index_dir / entry[role]["name"]
            try:
                size = path.stat().st_size
            except OSError as exc:
                raise IndexCorruptError(f"index file {path} is missing; {_REBUILD}") from exc
            if size != entry[role]["size"]:
                raise IndexCorruptError(f"index file {path} is damaged (size differs from the manifest); {_REBUILD}")
    paths = {role: _checked_path(index_dir, manifest.files[role]) for role in BUILD_FILES}
    try:
        table = json.loads(paths["documents"].read_text(encoding="utf-8"))
        documents, headings = table["documents"], table["headings"]
        rows = np.load(paths["chunks"], allow_pickle=False)
        sentences = np.load(paths["sentences"], allow_pickle=False)
        texts = Texts(paths["texts"], documents)
        chunks = ChunkTable(rows, sentences, documents, headings, texts)
        pages = {d["path"]: tuple(d["pages"]) for d in documents if d.get("pages")}
    except Exception as exc:
        raise IndexCorruptError(f"index chunk table in {index_dir} cannot be read ({exc}); {_REBUILD}") from exc
    try:
        index = faiss.read_index(str(paths["vectors"]))
        vector_kinds.configure(index, manifest.vector_index)
    except Exception as exc:
        raise IndexCorruptError(f"index in {index_dir} cannot be read ({exc}); {_REBUILD}") from exc
    n_rows = int(chunks.sentence_counts.sum()) if len(chunks) else 0
    per_doc = np.bincount(chunks.documents, minlength=len(documents)) if len(chunks) else np.zeros(len(documents))
    if [d["path"] for d in documents] != list(manifest.segments) or [int(n) for n in per_doc] != [
        seg["chunks"] for seg in manifest.segments.values()
    ]:
        raise IndexCorruptError(f"index chunk table in {index_dir} disagrees with the manifest; {_REBUILD}")
    sentence_vectors = vector_kinds.stored_rows(index)  # FAISS's own copy: a view, or rows decoded on demand
    if (
        index.ntotal != n_rows
        or index.d != manifest.dim
        or len(sentences) != n_rows
        or sentence_vectors.shape != (n_rows, manifest.dim)
        or not vector_kinds.check_kind(index, manifest.vector_index)
    ):
        raise IndexCorruptError(
            f"index in {index_dir} disagrees with itself ({index.ntotal} vectors, {len(chunks)} chunks, "
            f"{sentence_vectors.shape[0]} sentence vectors for {n_rows} sentences); {_REBUILD}"
        )
    lexical = None
    if manifest.lexical == lexical_module.LEXICAL:
        try:
            lexical = lexical_module.load({r: paths[r] for r in lexical_module.ROLES})
        except Exception as exc:
            raise IndexCorruptError(f"index BM25 in {index_dir} cannot be read ({exc}); {_REBUILD}") from exc
        if lexical.n != len(chunks):
            raise IndexCorruptError(f"index BM25 in {index_dir} disagrees with its chunks; {_REBUILD}")
    else:
        log.warning("the stored BM25 in %s is of another version; it is built in memory (run `qa index`)", index_dir)
    exact = None
    if vector_kinds.needs_training(manifest.vector_index):  # quantized: re-rank with the segments' exact vectors
        counts = [int(seg["sentences"]) for seg in manifest.segments.values()]
        if sum(counts) != n_rows:
            raise IndexCorruptError(f"index segments in {index_dir} disagree with the vectors; {_REBUILD}")
        names = [index_dir / seg["npy"]["name"] for seg in manifest.segments.values()]
        exact = vector_kinds.SegmentRows(names, counts, manifest.dim)
    owners = np.repeat(np.arange(len(chunks), dtype=np.int64), chunks.sentence_counts)
    first_rows = tuple(chunks.first_rows.tolist())
    return LoadedIndex(
        index_dir, manifest, chunks, texts, index, sentence_vectors, first_rows, pages, owners, lexical, exact
    )
