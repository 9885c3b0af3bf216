"""Building an index folder: bring it up to date with its corpus, embedding new and changed documents only.

`sync_index` lists the corpus, reuses the segment of every unchanged document
(qa/index/segments.py), embeds the rest, and writes the build's own files from
the segments: the FAISS index over every sentence vector (qa/index/vectors.py),
the chunk table and texts (qa/index/table.py) and BM25 (qa/index/lexical.py).
The manifest that names them is replaced last and atomically, so a crash or a
stop at any point leaves the previous index loadable.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from qa.errors import CorpusError, IndexCorruptError, IndexMissingError
from qa.index import lexical
from qa.index import vectors as vector_kinds
from qa.index.embedding import Embedder, fingerprint
from qa.index.manifest import (
    BUILD_FILES,
    Manifest,
    corpus_reference,
    now,
    package_version,
    read_manifest,
    write_manifest,
)
from qa.index.progress import LISTING, READING, WAITING, WRITING, ProgressCallback, tell
from qa.index.segments import Segment, embed_documents, find_segment, known_segments, read_segment, segment_key
from qa.index.storage import (
    StreamWriter,
    atomic_write,
    build_lock,
    checked_path,
    data_name,
    file_entry,
    load_npy,
    read_checked,
    remove_old_files,
    write_faiss,
)
from qa.index.table import TableWriter
from qa.ingest.documents import Document, Skipped, SourceFile, list_corpus, no_documents_error, read_documents
from qa.settings import ChunkSettings, VectorSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildPlan:
    """What a build writes and how: the folders, the model, the chunker, the vector index; whether it shows
    a bar, may be stopped (`cancel.set()` from another thread), or embeds every document again (`full`); how
    it is committed (`commit`) and whom it tells where it is (`on_progress`)."""

    index_dir: Path
    corpus_dir: Path
    embedder: Embedder
    chunking: ChunkSettings
    vectors: VectorSettings | None = None
    progress: bool = False
    cancel: threading.Event | None = None
    full: bool = False
    # how the index is written from the segments: None for the FAISS files in the folder; another store's
    # commit(plan, segments, skipped) -> Manifest (qa.index.milvus_build.committer)
    commit: Callable | None = None
    # told where the build is (qa.index.progress.BuildProgress), from the build's thread
    on_progress: ProgressCallback | None = None


@dataclass(frozen=True)
class SyncReport:
    """What a build did: the manifest it wrote and which documents it embedded, kept or dropped."""

    manifest: Manifest
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    skipped: tuple[Skipped, ...] = ()


def commit_documents(
    plan: BuildPlan, docs: list[Document], skipped: list[Skipped], found: dict[str, Segment] | None = None
) -> tuple[Manifest, list[str]]:
    """Embed what has no segment yet and write the index of exactly `docs`; the manifest and the paths reused.

    `found`: segments the caller already found, by path (otherwise they are looked for,
    unless `plan.full`). The caller holds the folder's build lock.
    """
    reused, todo = {}, []
    embedder, chunking = plan.embedder, plan.chunking
    known = {} if plan.full or found is not None else known_segments(plan.index_dir, embedder, chunking)
    nonce = uuid.uuid4().hex if plan.full else ""
    for doc in docs:
        if found is not None:
            seg = found.get(doc.path)
        else:
            seg = None if plan.full else find_segment(plan.index_dir, doc.path, doc.sha256, embedder, chunking, known)
        if seg is not None:
            reused[doc.path] = seg
        else:
            todo.append((segment_key(doc.path, doc.sha256 + nonce, embedder, chunking), doc))
    made = embed_documents(plan.index_dir, todo, embedder, chunking, plan.progress, plan.cancel, plan.on_progress)
    by_path = {s.path: s for s in made}
    segments = [reused.get(d.path) or by_path[d.path] for d in docs]
    embedded = sum(s.sentences for s in made)
    tell(plan.on_progress, WRITING, done=len(made), total=len(made), sentences=embedded, sentences_total=embedded)
    if plan.commit is not None:
        return plan.commit(plan, segments, skipped), sorted(reused)
    kind = (plan.vectors or VectorSettings.from_env()).resolve(sum(s.sentences for s in segments))
    unchanged = _unchanged(plan, segments, skipped, kind)
    if unchanged is not None:
        return unchanged, sorted(reused)
    return _write_build(plan, segments, skipped, kind), sorted(reused)


def _unchanged(plan: BuildPlan, segments: list[Segment], skipped: list[Skipped], kind: dict) -> Manifest | None:
    """The current manifest when the new build would say exactly the same (then nothing is rewritten).

    A search setting (HNSW's efSearch) is not part of the files: when only it
    differs, the manifest is rewritten with it and the files are kept.
    """
    try:
        m = read_manifest(plan.index_dir)
        for role in BUILD_FILES:
            checked_path(plan.index_dir, m.files[role])
    except (IndexMissingError, IndexCorruptError, KeyError):
        return None
    same = (
        m.made_by(plan.embedder)
        and m.chunking == plan.chunking.to_dict()
        and m.corpus == corpus_reference(plan.corpus_dir, plan.index_dir)
        and vector_kinds.built_the_same(m.vector_index, kind)
        and m.lexical == lexical.LEXICAL
        and list(m.segments.items()) == [(s.path, s.entry()) for s in segments]
        and m.skipped == {s.path: {"sha256": s.sha256, "reason": s.reason} for s in skipped if s.sha256}
    )
    if not same:
        return None
    if m.vector_index != kind:
        m = replace(m, vector_index=kind)
        write_manifest(plan.index_dir, m)
        log.info("search settings of %s changed to %s; the index files are kept", plan.index_dir, kind)
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
    commit: Callable | None = None,
    on_progress: ProgressCallback | None = None,
) -> SyncReport:
    """Bring the index up to date with its corpus folder: embed new and changed documents only.

    Unchanged documents keep their segments; removed ones are dropped. Files
    that are listed but cannot be read are recorded as skipped, with why.
    `full=True` embeds every document again (the old index stays in use until
    the new one is complete). `commit` writes another store than FAISS (`BuildPlan.commit`).
    `on_progress(BuildProgress)` hears each stage (`qa.index.progress`).
    """
    plan = BuildPlan(
        Path(index_dir), Path(corpus_dir), embedder, chunking, vectors, progress, cancel, full, commit, on_progress
    )
    plan.index_dir.mkdir(parents=True, exist_ok=True)
    with build_lock(plan.index_dir, on_wait=lambda: tell(on_progress, WAITING)):
        tell(on_progress, LISTING)
        try:
            before = read_manifest(plan.index_dir).seen()
        except (IndexMissingError, IndexCorruptError):
            before = {}
        listed, skipped = list_corpus(plan.corpus_dir)
        known = {} if full else known_segments(plan.index_dir, embedder, chunking)
        found = {}
        for source in [] if full else listed:
            seg = find_segment(plan.index_dir, source.path, source.sha256, embedder, chunking, known)
            if seg is not None:
                found[source.path] = seg
        docs, unreadable = _read(plan, [s for s in listed if s.path not in found])
        skipped += unreadable
        docs += [Document(s.path, "", s.sha256, s.format) for s in listed if s.path in found]  # text not needed
        docs.sort(key=lambda d: d.path)
        if not docs:
            raise no_documents_error(plan.corpus_dir, skipped)
        manifest, kept = commit_documents(plan, docs, skipped, found=found)
    now_docs = manifest.documents
    return SyncReport(
        manifest=manifest,
        added=tuple(sorted(p for p in now_docs if p not in before)),
        changed=tuple(sorted(p for p in now_docs if p in before and before[p] != now_docs[p])),
        removed=tuple(sorted(p for p in before if p not in manifest.seen())),
        kept=tuple(p for p in kept if before.get(p) == now_docs[p]),
        skipped=tuple(sorted(skipped, key=lambda s: s.path)),
    )


def _read(plan: BuildPlan, sources: list[SourceFile]) -> tuple[list[Document], list[Skipped]]:
    """Read the listed files to embed, telling `plan.on_progress` after each."""
    if plan.on_progress is None:
        return read_documents(plan.corpus_dir, sources)
    docs, skipped = [], []
    for i, source in enumerate(sources):
        tell(plan.on_progress, READING, done=i, total=len(sources))
        got, unreadable = read_documents(plan.corpus_dir, [source])
        docs += got
        skipped += unreadable
    return docs, skipped


def _training_sample(index_dir: Path, segments: list[Segment]) -> np.ndarray:
    """About TRAIN_SAMPLE vectors for a quantizer: every k-th segment's, spread over the corpus."""
    total = sum(s.sentences for s in segments)
    step = max(1, math.ceil(total / vector_kinds.TRAIN_SAMPLE))
    blocks = [load_npy(read_checked(index_dir, s.npy_entry)) for s in segments[::step]]
    return np.ascontiguousarray(np.vstack(blocks), dtype=np.float32)


def _write_build(plan: BuildPlan, segments: list[Segment], skipped: list[Skipped], kind: dict) -> Manifest:
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
    index = vector_kinds.new_index(kind, plan.embedder.dim)
    if vector_kinds.needs_training(kind):
        index.train(_training_sample(plan.index_dir, segments))
    bm25 = lexical.Builder()
    with StreamWriter(plan.index_dir / f"texts-{build_id}.txt") as texts:
        table = TableWriter(texts)

        def blocks():
            for s in segments:
                meta, vectors = read_segment(plan.index_dir, {"json": s.json_entry, "npy": s.npy_entry})
                bm25.add(table.add(s.path, meta))
                yield vectors

        vector_kinds.add_batches(index, blocks(), vector_kinds.add_batch(kind))
    files = {"texts": texts.entry, "vectors": write_faiss(plan.index_dir / f"vectors-{build_id}.faiss", index)}
    del index
    stored = {**table.files(), **lexical.to_files(bm25.finish())}
    for role, data in stored.items():
        path = plan.index_dir / data_name(role, build_id)
        atomic_write(path, data)
        files[role] = file_entry(path, data)
    os.sync()  # the segments reach the disk before the manifest that names them
    manifest = Manifest(
        model=plan.embedder.name,
        model_fingerprint=fingerprint(plan.embedder),
        dim=plan.embedder.dim,
        chunking=plan.chunking.to_dict(),
        documents={s.path: s.sha256 for s in segments},
        files={role: files[role] for role in BUILD_FILES},
        built_at=now(),
        build_id=build_id,
        corpus=corpus_reference(plan.corpus_dir, plan.index_dir),
        counts={
            "documents": len(segments),
            "chunks": total_chunks,
            "sentences": sum(s.sentences for s in segments),
            "skipped": len(skipped),
        },
        versions={
            p: package_version(p) for p in ("qa-chatbot", "sentence-transformers", "faiss-cpu", "numpy", "bm25s")
        },
        segments={s.path: s.entry() for s in segments},
        skipped={s.path: {"sha256": s.sha256, "reason": s.reason} for s in skipped if s.sha256},
        vector_index=kind,
        lexical=lexical.LEXICAL,
    )
    write_manifest(plan.index_dir, manifest)
    remove_old_files(plan.index_dir, manifest.file_names())
    log.info("indexed %d documents, %d chunks into %s", len(segments), total_chunks, plan.index_dir)
    return manifest
