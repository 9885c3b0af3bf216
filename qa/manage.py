"""The index's life on disk: where the corpus and index folders are, whether an index still matches
its corpus and model, and building it, adding, removing and restoring documents.

`qa.api` re-exports these for `from qa.api import build, add, remove, restore`.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from qa.errors import ConfigError, IndexCorruptError, IndexMissingError
from qa.index import LoadedIndex, Manifest, SyncReport, load_index, read_manifest, sync_index
from qa.index.embedding import Embedder, default_model, load_embedder
from qa.index.milvus import MilvusSettings
from qa.index.progress import ProgressCallback
from qa.index.store import Store
from qa.ingest.documents import list_corpus, no_documents_error
from qa.ingest.removed import Removed, Restored, list_removed
from qa.ingest.removed import restore as restore_file
from qa.ingest.uploads import Added, add_files, remove_file
from qa.settings import ChunkSettings, VectorSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ON_STALE = ("rebuild", "error")
REMOVED = "removed"  # where removed documents go, inside the index folder


def default_corpus() -> Path:
    return Path(os.environ.get("QA_CORPUS", PROJECT_ROOT / "corpus"))


def default_index() -> Path:
    return Path(os.environ.get("QA_INDEX", PROJECT_ROOT / "index"))


def corpus_of(manifest: Manifest, index_dir: Path) -> Path:
    path = Path(manifest.corpus)
    return path if path.is_absolute() else (index_dir / path).resolve()


def staleness(
    manifest: Manifest, corpus_dir: Path, model: str, chunking: ChunkSettings, model_fingerprint: dict | None = None
) -> list[str]:
    """Why an index no longer matches its corpus and settings; empty when it does.

    `model_fingerprint` (qa.index.embedding.fingerprint of the query model), when given, must be the one
    the index was built with: another int8 file, onnxruntime or quantization makes other vectors.
    Cheap: the files are listed and hashed, not read as documents.
    """
    listed, skipped = list_corpus(corpus_dir)
    if not listed:
        raise no_documents_error(corpus_dir, skipped)
    reasons = []
    if manifest.model != model:
        reasons.append(f"it was built with model {manifest.model!r}, not {model!r}")
    reasons += other_form(manifest, model, model_fingerprint)
    if manifest.chunking != chunking.to_dict():
        reasons.append(f"it was built with chunking {manifest.chunking}, not {chunking.to_dict()}")
    now = {s.path: s.sha256 for s in listed}
    seen = manifest.seen()
    added = sorted(set(now) - set(seen))
    removed = sorted(set(seen) - set(now))
    changed = sorted(p for p in set(now) & set(seen) if now[p] != seen[p])
    for label, paths in (("added", added), ("removed", removed), ("changed", changed)):
        if paths:
            reasons.append(f"documents {label} since it was built: {', '.join(paths[:5])}")
    return reasons


def other_form(manifest: Manifest, model: str, model_fingerprint: dict | None) -> list[str]:
    """The reason an index of this model name was made by another form of it (another int8 file); [] if not."""
    if model_fingerprint is None or manifest.model != model or manifest.model_fingerprint == model_fingerprint:
        return []
    return [
        f"it was built with another form of {model!r} ({describe_form(manifest.model_fingerprint)}), "
        f"not the one loaded ({describe_form(model_fingerprint)})"
    ]


def describe_form(stamp: dict) -> str:
    if not stamp:
        return "full precision"
    sha = str(stamp.get("sha256", "?"))[:12]
    return f"{stamp.get('file', 'model')} sha256 {sha}…, onnxruntime {stamp.get('onnxruntime', '?')}"


def build(
    corpus_dir: str | Path | None = None,
    index_dir: str | Path | None = None,
    *,
    embedder: Embedder | None = None,
    model: str | None = None,
    chunking: ChunkSettings | None = None,
    progress: bool = False,
    cancel: threading.Event | None = None,
    on_progress: ProgressCallback | None = None,
    full: bool = False,
    vectors: VectorSettings | None = None,
    store: MilvusSettings | str | None = None,
) -> SyncReport:
    """Bring the index of a corpus folder up to date: only new and changed documents are embedded.

    `full=True` embeds every document again. `vectors` picks the FAISS index
    (default: exact up to 200,000 sentences, HNSW above; `QA_INDEX_TYPE`).
    `store`: `MilvusSettings` to keep the chunks in Milvus, "faiss" for the
    index folder itself; by default the store the index already uses.

    Loads the model unless one is passed. `cancel.set()` stops a long build
    between two groups of documents (BuildCancelled); the previous index stays.
    `on_progress(BuildProgress)` is told each stage (`qa.index.progress`), here and in add/remove/restore.
    """
    corpus_dir = Path(corpus_dir or default_corpus())
    index_dir = Path(index_dir or default_index())
    commit = store_commit(index_dir, store)  # first: a missing extra is said before the model loads
    embedder = embedder or load_embedder(model or default_model())
    chunking = chunking or ChunkSettings()
    return sync_index(
        corpus_dir,
        index_dir,
        embedder,
        chunking,
        progress=progress,
        cancel=cancel,
        full=full,
        vectors=vectors,
        commit=commit,
        on_progress=on_progress,
    )


def chosen_store(store: str | None, milvus_uri: str | None, index_dir: str | Path) -> MilvusSettings | str | None:
    """The store a build was asked for (`--store`, `--milvus-uri`): None keeps the index's, "faiss", or
    MilvusSettings (a Milvus Lite file in the index folder unless a URI is given)."""
    if milvus_uri and store != "milvus":
        raise ConfigError("--milvus-uri needs --store milvus")
    if store != "milvus":
        return store
    return MilvusSettings(milvus_uri or str(Path(index_dir) / "milvus.db"))


def store_commit(index_dir: Path, store: MilvusSettings | str | None = None):
    """How a build writes the index (`qa.index.BuildPlan.commit`): None for FAISS in the folder, or into
    Milvus. `store` None keeps the store the folder's manifest names."""
    if store is None:
        try:
            recorded = read_manifest(index_dir).store
        except (IndexMissingError, IndexCorruptError):
            recorded = {}
        store = MilvusSettings.from_manifest(recorded, index_dir) if recorded.get("kind") == "milvus" else "faiss"
    if store == "faiss":
        return None
    if not isinstance(store, MilvusSettings):
        raise ConfigError(f"store must be 'faiss' or MilvusSettings, got {store!r}")
    from qa.index.milvus_build import committer

    return committer(store)


def open_index(index_dir: Path, manifest: Manifest | None = None) -> LoadedIndex | Store:
    """The index of a folder: its FAISS files loaded, or the Milvus its manifest names, connected and checked."""
    manifest = manifest or read_manifest(index_dir)
    if manifest.store.get("kind") == "milvus":
        from qa.index.milvus import open_store

        return open_store(index_dir, manifest)
    return load_index(index_dir)


def resolve_paths(corpus_dir, index_dir) -> tuple[Path, Path]:
    """The index folder, and the corpus folder: given, else the one the index names, else the default."""
    index_dir = Path(index_dir or default_index())
    if corpus_dir:
        return Path(corpus_dir), index_dir
    try:
        return corpus_of(read_manifest(index_dir), index_dir), index_dir
    except (IndexMissingError, IndexCorruptError):
        return default_corpus(), index_dir


def add(
    files: list[str | Path],
    corpus_dir: str | Path | None = None,
    index_dir: str | Path | None = None,
    *,
    names: list[str] | None = None,
    replace: bool = False,
    embedder: Embedder | None = None,
    model: str | None = None,
    progress: bool = False,
    cancel: threading.Event | None = None,
    on_progress: ProgressCallback | None = None,
) -> tuple[list[Added], SyncReport | None]:
    """Copy files into the corpus and index them (only them). The report is None when none was added."""
    corpus_dir, index_dir = resolve_paths(corpus_dir, index_dir)
    added = add_files(corpus_dir, files, names=names, replace=replace)
    if not any(a.status != "refused" for a in added):
        return added, None
    return added, build(
        corpus_dir, index_dir, embedder=embedder, model=model, progress=progress, cancel=cancel, on_progress=on_progress
    )


def remove(
    names: list[str],
    corpus_dir: str | Path | None = None,
    index_dir: str | Path | None = None,
    *,
    embedder: Embedder | None = None,
    model: str | None = None,
    cancel: threading.Event | None = None,
    on_progress: ProgressCallback | None = None,
) -> tuple[list[Removed], SyncReport]:
    """Take documents out of the corpus and out of the index; each is kept in `<index>/removed/`
    (`qa.ingest.removed`), and `restore` brings it back. Returns where each went and the build's report."""
    corpus_dir, index_dir = resolve_paths(corpus_dir, index_dir)
    kept = [remove_file(corpus_dir, name, index_dir / REMOVED) for name in names]
    return kept, build(corpus_dir, index_dir, embedder=embedder, model=model, cancel=cancel, on_progress=on_progress)


def removed(index_dir: str | Path | None = None) -> list[Removed]:
    """The removed documents that can be restored, the most recently removed first."""
    return list_removed(Path(index_dir or default_index()) / REMOVED)


def restore(
    names: str | list[str],
    corpus_dir: str | Path | None = None,
    index_dir: str | Path | None = None,
    *,
    embedder: Embedder | None = None,
    model: str | None = None,
    cancel: threading.Event | None = None,
    on_progress: ProgressCallback | None = None,
) -> tuple[list[Restored], SyncReport]:
    """Put removed documents back into the corpus and index them.

    A name is an entry of `removed()` or a document's original path (its most
    recently removed version). Each goes back to its original path, or to a free
    name beside it when that is taken; the same bytes already in the corpus are refused.
    """
    corpus_dir, index_dir = resolve_paths(corpus_dir, index_dir)
    names = [names] if isinstance(names, str) else list(names)
    listed, _ = list_corpus(corpus_dir) if corpus_dir.is_dir() else ([], [])
    in_corpus = {s.sha256: s.path for s in listed}
    done = []
    for name in names:
        back = restore_file(index_dir / REMOVED, name, corpus_dir, in_corpus)
        in_corpus[back.sha256] = back.path
        done.append(back)
    return done, build(corpus_dir, index_dir, embedder=embedder, model=model, cancel=cancel, on_progress=on_progress)


def describe_changes(report: SyncReport) -> str:
    """What a build changed, "2 added, 1 removed"; "" when nothing changed."""
    changes = [
        f"{len(paths)} {label}"
        for label, paths in (("added", report.added), ("changed", report.changed), ("removed", report.removed))
        if paths
    ]
    return ", ".join(changes)
