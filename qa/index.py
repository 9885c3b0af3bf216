"""Stage 4: keep chunk vectors in a FAISS index that describes itself.

An index folder holds `manifest.json` and the data files it names:
`vectors-<id>.faiss` (inner-product index over normalized chunk vectors),
`sentences-<id>.npy` (one normalized vector per chunk sentence) and
`chunks-<id>.json` (chunk places; the text is re-read from the documents' own
text, stored beside them in the same file). The manifest records the model,
dimension, chunker settings, every document's path and SHA-256, the build time,
library versions and each data file's size and hash.

Writing is atomic: data files get a fresh build id, and the manifest, which
points to them, is replaced last with `os.replace`. A crash at any point
leaves the previous manifest and its files in place. Nothing is unpickled on
load.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from qa.chunking import Chunk, chunk_documents
from qa.documents import Document, sha256_bytes
from qa.embedding import Embedder
from qa.errors import CorpusError, IndexCorruptError, IndexMissingError
from qa.settings import ChunkSettings

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


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
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict:
        return {
            "format_version": self.format_version,
            "model": self.model,
            "dim": self.dim,
            "metric": self.metric,
            "chunking": self.chunking,
            "corpus": self.corpus,
            "documents": self.documents,
            "counts": self.counts,
            "files": self.files,
            "built_at": self.built_at,
            "build_id": self.build_id,
            "versions": self.versions,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Manifest:
        if d.get("format_version") != FORMAT_VERSION:
            raise IndexCorruptError(
                f"index format {d.get('format_version')!r} is not {FORMAT_VERSION}; run `qa index` to rebuild it"
            )
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
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexCorruptError(f"index manifest is incomplete ({exc}); run `qa index` to rebuild it") from exc


@dataclass(frozen=True)
class LoadedIndex:
    """Everything an index folder holds, checked and in memory."""

    path: Path
    manifest: Manifest
    chunks: tuple[Chunk, ...]
    texts: dict[str, str]  # document path -> text
    vectors: object  # faiss.Index
    sentence_vectors: np.ndarray  # one row per sentence, in chunk order
    sentence_rows: tuple[int, ...]  # first row of each chunk's sentences


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _file_entry(path: Path, data: bytes) -> dict:
    return {"name": path.name, "size": len(data), "sha256": sha256_bytes(data)}


def corpus_reference(corpus_dir: Path, index_dir: Path) -> str:
    """How the manifest names the corpus: relative to the index folder when possible."""
    try:
        return os.path.relpath(corpus_dir.resolve(), index_dir.resolve())
    except ValueError:
        return str(corpus_dir.resolve())


def build_index(
    docs: list[Document],
    corpus_dir: str | Path,
    index_dir: str | Path,
    embedder: Embedder,
    chunking: ChunkSettings,
    progress: bool = False,
) -> Manifest:
    """Chunk and embed `docs` and write a new index into `index_dir`."""
    import faiss

    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    with _build_lock(index_dir):
        return _build(docs, corpus_dir, index_dir, embedder, chunking, progress, faiss)


@contextlib.contextmanager
def _build_lock(index_dir: Path):
    """One build at a time per index folder (a lock on the folder itself): a second waits for the first."""
    fd = os.open(index_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _build(docs, corpus_dir, index_dir: Path, embedder, chunking, progress: bool, faiss) -> Manifest:
    chunks = chunk_documents(docs, chunking)
    if not chunks:
        raise CorpusError(
            "the documents hold no text to answer from (only headings or short labels); "
            "add paragraphs of text and run `qa index` again"
        )
    texts = {d.path: d.text for d in docs}
    chunk_vectors = embedder.encode_passages([c.embedding_text() for c in chunks], progress=progress)
    sentences = [texts[c.source][s:e] for c in chunks for s, e in c.sentences]
    sentence_vectors = embedder.encode_passages(sentences, progress=progress)

    flat = faiss.IndexFlatIP(embedder.dim)
    flat.add(np.ascontiguousarray(chunk_vectors, dtype=np.float32))
    build_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    payloads = {
        "vectors": (f"vectors-{build_id}.faiss", faiss.serialize_index(flat).tobytes()),
        "sentences": (f"sentences-{build_id}.npy", _npy_bytes(sentence_vectors.astype(np.float32))),
        "chunks": (
            f"chunks-{build_id}.json",
            json.dumps({"chunks": [c.to_dict() for c in chunks], "texts": texts}, ensure_ascii=False).encode("utf-8"),
        ),
    }
    files = {}
    for role, (name, data) in payloads.items():
        _atomic_write(index_dir / name, data)
        files[role] = _file_entry(index_dir / name, data)
    manifest = Manifest(
        model=embedder.name,
        dim=embedder.dim,
        chunking=chunking.to_dict(),
        documents={d.path: d.sha256 for d in docs},
        files=files,
        built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        build_id=build_id,
        corpus=corpus_reference(Path(corpus_dir), index_dir),
        counts={"documents": len(docs), "chunks": len(chunks), "sentences": len(sentences)},
        versions={p: _version(p) for p in ("qa-chatbot", "sentence-transformers", "faiss-cpu", "numpy")},
    )
    _atomic_write(index_dir / MANIFEST, json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False).encode("utf-8"))
    _remove_old_files(index_dir, keep={entry["name"] for entry in files.values()})
    log.info("indexed %d documents, %d chunks into %s", len(docs), len(chunks), index_dir)
    return manifest


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def _remove_old_files(index_dir: Path, keep: set[str]) -> None:
    for path in index_dir.iterdir():
        stem = path.name.split("-", 1)[0]
        if (stem in ("vectors", "sentences", "chunks") and path.name not in keep) or (
            path.name.startswith(".") and path.name.endswith(".tmp")
        ):
            path.unlink(missing_ok=True)


def read_manifest(index_dir: str | Path) -> Manifest:
    path = Path(index_dir) / MANIFEST
    if not path.is_file():
        raise IndexMissingError(f"no index in {index_dir} (no {MANIFEST}); run `qa index` to build it")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(f"{path} is not valid JSON ({exc}); run `qa index` to rebuild it") from exc
    if not isinstance(data, dict):
        raise IndexCorruptError(f"{path} is not an index manifest; run `qa index` to rebuild it")
    return Manifest.from_dict(data)


def _read_checked(index_dir: Path, entry: dict) -> bytes:
    path = index_dir / entry["name"]
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IndexCorruptError(f"index file {path} is missing; run `qa index` to rebuild it") from exc
    if len(data) != entry["size"] or sha256_bytes(data) != entry["sha256"]:
        raise IndexCorruptError(
            f"index file {path} is damaged (size or hash differs from the manifest); run `qa index` to rebuild it"
        )
    return data


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
    import io

    import faiss

    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    try:
        raw = {role: _read_checked(index_dir, manifest.files[role]) for role in ("vectors", "sentences", "chunks")}
    except KeyError as exc:
        raise IndexCorruptError(f"index manifest names no {exc} file; run `qa index` to rebuild it") from exc
    try:
        vectors = faiss.deserialize_index(np.frombuffer(raw["vectors"], dtype=np.uint8))
        sentence_vectors = np.load(io.BytesIO(raw["sentences"]), allow_pickle=False)
        store = json.loads(raw["chunks"].decode("utf-8"))
        texts = store["texts"]
        chunks = tuple(Chunk.from_dict(d, texts[d["source"]][d["start"] : d["end"]]) for d in store["chunks"])
    except Exception as exc:
        raise IndexCorruptError(f"index in {index_dir} cannot be read ({exc}); run `qa index` to rebuild it") from exc
    rows, row = [], 0
    for c in chunks:
        rows.append(row)
        row += len(c.sentences)
    if vectors.ntotal != len(chunks) or vectors.d != manifest.dim or sentence_vectors.shape != (row, manifest.dim):
        raise IndexCorruptError(
            f"index in {index_dir} disagrees with itself ({vectors.ntotal} vectors, {len(chunks)} chunks, "
            f"{sentence_vectors.shape[0]} sentence vectors for {row} sentences); run `qa index` to rebuild it"
        )
    return LoadedIndex(index_dir, manifest, chunks, texts, vectors, sentence_vectors, tuple(rows))
