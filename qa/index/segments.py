"""Segments: one document's chunks and sentence vectors, the unit a build reuses.

`seg-<key>.json` holds a document's text as read, format, page offsets and
chunk places; `seg-<key>.npy` one vector per chunk sentence, in chunk order.
The key hashes the path, the document's SHA-256, the model, the chunker
settings and the index format, so an unchanged document keeps its segment and
is never embedded again. A segment left by an interrupted build is reused only
when its vectors match the hash its JSON (written last) records.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import BuildCancelled, IndexCorruptError, IndexMissingError
from qa.index.embedding import Embedder, fingerprint
from qa.index.manifest import FORMAT_VERSION, now, read_manifest
from qa.index.progress import EMBEDDING, ProgressCallback, tell
from qa.index.storage import atomic_write, file_entry, load_npy, npy_bytes, read_checked
from qa.ingest.chunking import Chunk, chunk_document, sentence_inputs
from qa.ingest.documents import Document, sha256_bytes
from qa.settings import ChunkSettings

log = logging.getLogger(__name__)

EMBED_GROUP = 512  # texts embedded between two looks at the cancel flag


def segment_key(path: str, sha256: str, embedder: Embedder, chunking: ChunkSettings) -> str:
    """Names a document's segment: the same file, model (another form of a model, with another fingerprint,
    gets other segments) and chunker give the same key."""
    stamp = fingerprint(embedder)
    model = embedder.name if not stamp else f"{embedder.name}|{json.dumps(stamp, sort_keys=True)}"
    raw = json.dumps([path, sha256, model, chunking.to_dict(), FORMAT_VERSION], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:24]


@dataclass(frozen=True)
class Segment:
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


def write_segment(index_dir: Path, key: str, doc: Document, chunks: list[Chunk], vectors: np.ndarray) -> Segment:
    npy_data = npy_bytes(np.ascontiguousarray(vectors, dtype=np.float32))
    meta = {
        "path": doc.path,
        "sha256": doc.sha256,
        "format": doc.format,
        "pages": list(doc.pages),
        "indexed_at": now(),
        "npy_sha256": sha256_bytes(npy_data),
        "text": doc.text,
        "chunks": [c.to_dict() for c in chunks],
    }
    json_data = json.dumps(meta, ensure_ascii=False).encode("utf-8")
    # Not fsynced one by one (thousands of small documents would wait on the disk for each):
    # _commit syncs once before the manifest points to them, and a segment found after a crash
    # is only reused when its vectors match the hash its JSON (written last) records.
    atomic_write(index_dir / f"seg-{key}.npy", npy_data, durable=False)
    atomic_write(index_dir / f"seg-{key}.json", json_data, durable=False)
    n_sentences = sum(len(c.sentences) for c in chunks)
    return Segment(
        doc.path,
        doc.sha256,
        key,
        file_entry(index_dir / f"seg-{key}.json", json_data),
        file_entry(index_dir / f"seg-{key}.npy", npy_data),
        len(chunks),
        n_sentences,
        doc.format,
        meta["indexed_at"],
    )


def existing_segment(
    index_dir: Path, key: str, path: str, sha256: str, dim: int, known: dict | None = None
) -> Segment | None:
    """A segment left by an earlier (maybe interrupted) build, when it is whole and for this file.

    `known` is the current manifest's entry for the path: when it names this
    segment, the files must still have the size and hash it recorded.
    """
    json_path, npy_path = index_dir / f"seg-{key}.json", index_dir / f"seg-{key}.npy"
    try:
        json_data, npy_data = json_path.read_bytes(), npy_path.read_bytes()
        meta = json.loads(json_data.decode("utf-8"))
        vectors = load_npy(npy_data)
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
    json_entry, npy_entry = file_entry(json_path, json_data), file_entry(npy_path, npy_data)
    if known and known.get("key") == key and (known.get("json"), known.get("npy")) != (json_entry, npy_entry):
        log.warning("segment of %s is damaged; embedding it again", path)
        return None
    return Segment(
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


def read_segment(index_dir: Path, entry: dict) -> tuple[dict, np.ndarray]:
    meta = json.loads(read_checked(index_dir, entry["json"]).decode("utf-8"))
    vectors = load_npy(read_checked(index_dir, entry["npy"]))
    return meta, vectors


class _Progress:
    """A bar over the texts to embed, with an ETA (tqdm, on the command line; the chat takes `on_progress`)."""

    def __init__(self, total: int, enabled: bool) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc="Embedding", unit="text", disable=not enabled or total == 0)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()

    def update(self, n: int) -> None:
        self.bar.update(n)


def embed_documents(
    index_dir: Path,
    todo: list[tuple[str, Document]],
    embedder: Embedder,
    chunking: ChunkSettings,
    progress: bool,
    cancel: threading.Event | None,
    on_progress: ProgressCallback | None = None,
) -> list[Segment]:
    """Chunk and embed documents in groups of about EMBED_GROUP texts, writing a segment per document.

    `on_progress` hears EMBEDDING before the first group and after each (`qa.index.progress`).
    """
    planned = []
    for key, doc in todo:
        chunks = chunk_document(doc, chunking)
        texts = sentence_inputs(doc, chunks)
        planned.append((key, doc, chunks, texts))
    segments: list[Segment] = []
    total, embedded = sum(len(p[3]) for p in planned), 0

    def report() -> None:
        tell(on_progress, EMBEDDING, done=len(segments), total=len(planned), sentences=embedded, sentences_total=total)

    with _Progress(total, progress) as bar:
        i = 0
        while i < len(planned):
            if cancel is not None and cancel.is_set():
                raise BuildCancelled(
                    f"the build was stopped after {len(segments)} of {len(planned)} documents; "
                    "the previous index is still in use, and the next build picks up where this one stopped"
                )
            report()
            group, size = [], 0
            while i < len(planned) and (not group or size + len(planned[i][3]) <= EMBED_GROUP):
                group.append(planned[i])
                size += len(planned[i][3])
                i += 1
            texts = [t for p in group for t in p[3]]
            vectors = embedder.encode_passages(texts) if texts else np.zeros((0, embedder.dim), np.float32)
            row = 0
            for key, doc, chunks, doc_texts in group:
                segments.append(write_segment(index_dir, key, doc, chunks, vectors[row : row + len(doc_texts)]))
                row += len(doc_texts)
            bar.update(size)
            embedded += size
    if planned:
        report()
    return segments


def known_segments(index_dir: Path, embedder: Embedder, chunking: ChunkSettings) -> dict[str, dict]:
    """The current manifest's segments, when it was built with this model and chunker."""
    try:
        m = read_manifest(index_dir)
    except (IndexMissingError, IndexCorruptError):
        return {}
    same = m.made_by(embedder) and m.chunking == chunking.to_dict()
    return m.segments if same else {}


def find_segment(index_dir: Path, path: str, sha256: str, embedder, chunking, known: dict) -> Segment | None:
    """An existing segment of this exact file: the one the manifest names, or one an interrupted build left."""
    entry = known.get(path)
    keys = [entry["key"]] if entry and entry.get("sha256") == sha256 and entry.get("key") else []
    keys.append(segment_key(path, sha256, embedder, chunking))
    for key in dict.fromkeys(keys):
        seg = existing_segment(index_dir, key, path, sha256, embedder.dim, entry)
        if seg is not None:
            return seg
    return None
