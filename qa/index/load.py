"""Loading an index folder: every file it reads checked against the manifest, nothing unpickled.

A load reads only the build's own files (the FAISS index, the chunk table and
texts, BM25), never a segment: chunks are made when asked for, a document's
text is decoded from the mapped texts file when read, BM25's matrix is mapped
from disk. A build that replaces the index while it is read makes the load try
once more, on the new manifest.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.errors import IndexCorruptError
from qa.index import lexical as lexical_module
from qa.index import vectors as vector_kinds
from qa.index.manifest import BUILD_FILES, MANIFEST, Manifest, read_manifest
from qa.index.storage import REBUILD, checked_path, load_npy
from qa.index.table import ChunkTable, Texts
from qa.ingest.chunking import Chunk

log = logging.getLogger(__name__)


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
        raise IndexCorruptError(f"index manifest in {index_dir} lists documents without segments; {REBUILD}")
    missing = [r for r in BUILD_FILES if r not in manifest.files]
    if missing:
        raise IndexCorruptError(f"index manifest names no {missing[0]!r} file; {REBUILD}")
    for entry in manifest.segments.values():  # build inputs: there and whole-sized (hashed when a build reuses them)
        for role in ("json", "npy"):
            path = index_dir / entry[role]["name"]
            try:
                size = path.stat().st_size
            except OSError as exc:
                raise IndexCorruptError(f"index file {path} is missing; {REBUILD}") from exc
            if size != entry[role]["size"]:
                raise IndexCorruptError(f"index file {path} is damaged (size differs from the manifest); {REBUILD}")
    paths = {role: checked_path(index_dir, manifest.files[role]) for role in BUILD_FILES}
    try:
        table = json.loads(paths["documents"].read_text(encoding="utf-8"))
        documents, headings = table["documents"], table["headings"]
        rows = load_npy(paths["chunks"])
        sentences = load_npy(paths["sentences"])
        texts = Texts(paths["texts"], documents)
        chunks = ChunkTable(rows, sentences, documents, headings, texts, table.get("strings"))
        pages = {d["path"]: tuple(d["pages"]) for d in documents if d.get("pages")}
    except Exception as exc:
        raise IndexCorruptError(f"index chunk table in {index_dir} cannot be read ({exc}); {REBUILD}") from exc
    try:
        index = faiss.read_index(str(paths["vectors"]))
        vector_kinds.configure(index, manifest.vector_index)
    except Exception as exc:
        raise IndexCorruptError(f"index in {index_dir} cannot be read ({exc}); {REBUILD}") from exc
    n_rows = int(chunks.sentence_counts.sum()) if len(chunks) else 0
    per_doc = np.bincount(chunks.documents, minlength=len(documents)) if len(chunks) else np.zeros(len(documents))
    if [d["path"] for d in documents] != list(manifest.segments) or [int(n) for n in per_doc] != [
        seg["chunks"] for seg in manifest.segments.values()
    ]:
        raise IndexCorruptError(f"index chunk table in {index_dir} disagrees with the manifest; {REBUILD}")
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
            f"{sentence_vectors.shape[0]} sentence vectors for {n_rows} sentences); {REBUILD}"
        )
    lexical = None
    if manifest.lexical == lexical_module.LEXICAL:
        try:
            lexical = lexical_module.load({r: paths[r] for r in lexical_module.ROLES})
        except Exception as exc:
            raise IndexCorruptError(f"index BM25 in {index_dir} cannot be read ({exc}); {REBUILD}") from exc
        if lexical.n != len(chunks):
            raise IndexCorruptError(f"index BM25 in {index_dir} disagrees with its chunks; {REBUILD}")
    else:
        log.warning("the stored BM25 in %s is of another version; it is built in memory (run `qa index`)", index_dir)
    exact = None
    if vector_kinds.needs_training(manifest.vector_index):  # quantized: re-rank with the segments' exact vectors
        counts = [int(seg["sentences"]) for seg in manifest.segments.values()]
        if sum(counts) != n_rows:
            raise IndexCorruptError(f"index segments in {index_dir} disagree with the vectors; {REBUILD}")
        names = [index_dir / seg["npy"]["name"] for seg in manifest.segments.values()]
        exact = vector_kinds.SegmentRows(names, counts, manifest.dim)
    owners = np.repeat(np.arange(len(chunks), dtype=np.int64), chunks.sentence_counts)
    first_rows = tuple(chunks.first_rows.tolist())
    return LoadedIndex(
        index_dir, manifest, chunks, texts, index, sentence_vectors, first_rows, pages, owners, lexical, exact
    )
