"""Building with Ray Data: read, chunk and embed in a Ray cluster, then write the index as usual.

`ray_build(corpus, index, address)` (`qa index --ray [auto|ADDRESS]`):
1. lists the corpus and keeps every document whose segment is already there
   (unchanged since the last build), as `qa index` does;
2. reads and chunks the others in Ray tasks (`ray.data.Dataset.map`);
3. embeds them in an actor pool (`map_batches` with one model per actor, one
   thread each), in the very groups an in-process build embeds (whole
   documents, about `qa.index.EMBED_GROUP` texts a group, in path order), so
   the vectors are the ones an in-process build makes;
4. writes each document's segment as its group comes back (a bar shows texts
   embedded and the time left), then commits with `qa.index.sync_index`,
   which finds every segment in place and embeds nothing: the same FAISS
   index or the same Milvus rows as an in-process build.

`address` is `auto` (a Ray already running here or named by RAY_ADDRESS, else a
local one) or a cluster's address. Workers must see the corpus folder at the
same path and have this package installed (`pip install 'qa-chatbot[ray]'`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from qa.api import resolve_paths, store_commit
from qa.errors import ConfigError
from qa.index import SyncReport, sync_index
from qa.index.embedding import default_model, load_embedder
from qa.index.segments import EMBED_GROUP, find_segment, known_segments, segment_key, write_segment
from qa.ingest.chunking import chunk_document, sentence_inputs
from qa.ingest.documents import Document, list_corpus, read_document
from qa.settings import ChunkSettings, VectorSettings

log = logging.getLogger(__name__)


def _ray():
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise ConfigError("building with Ray needs the ray extra: pip install 'qa-chatbot[ray]'") from exc
    return ray


def _read_and_chunk(row: dict, corpus_dir: str, chunking: ChunkSettings) -> dict:
    """One listed file read and chunked (a Ray task): its text, format, pages and chunks, or why it was skipped."""
    from qa.ingest.documents import SourceFile

    got = read_document(corpus_dir, SourceFile(row["path"], row["sha256"], row["size"], row["format"]))
    if not isinstance(got, Document):
        return {"path": row["path"], "ok": False, "doc": None, "chunks": None}
    chunks = chunk_document(got, chunking)
    return {"path": got.path, "ok": True, "doc": got, "chunks": chunks}


class _Embed:
    """A Ray actor: one embedder, one thread, embedding one group of texts per call."""

    def __init__(self, model: str) -> None:
        from qa.threads import pin_threads

        pin_threads(1)
        self.embedder = load_embedder(model)
        if hasattr(self.embedder, "bulk_session"):  # the ONNX path: its bulk session would take every core
            self.embedder._bulk = self.embedder.session
        pin_threads(1)

    def __call__(self, batch: dict) -> dict:
        vectors = [self.embedder.encode_passages(list(texts)) for texts in batch["texts"]]
        return {"group": batch["group"], "vectors": [v.astype(np.float32).tobytes() for v in vectors]}


def plan_groups(planned: list[tuple], limit: int = EMBED_GROUP) -> list[list[tuple]]:
    """Documents (in path order) in groups of about `limit` texts, whole documents each, as `_embed_documents`."""
    groups, i = [], 0
    while i < len(planned):
        group, size = [], 0
        while i < len(planned) and (not group or size + len(planned[i][3]) <= limit):
            group.append(planned[i])
            size += len(planned[i][3])
            i += 1
        groups.append(group)
    return groups


def _start(address: str, num_cpus: int | None):
    ray = _ray()
    if ray.is_initialized():
        return ray
    env = {k: v for k, v in os.environ.items() if k.startswith("QA_") and k != "QA_MILVUS_TOKEN"}
    kwargs = {"runtime_env": {"env_vars": env}, "include_dashboard": False, "log_to_driver": False}
    if address == "auto" and not os.environ.get("RAY_ADDRESS"):
        # a local Ray, the same API as a cluster, on the loopback address only
        ray.init(num_cpus=num_cpus, _node_ip_address="127.0.0.1", **kwargs)
    else:
        ray.init(address=address, **kwargs)
    return ray


def ray_build(
    corpus_dir: str | Path | None,
    index_dir: str | Path | None,
    address: str = "auto",
    *,
    model: str | None = None,
    chunking: ChunkSettings | None = None,
    full: bool = False,
    store=None,
    vectors: VectorSettings | None = None,
    workers: int | None = None,
    num_cpus: int | None = None,
    progress: bool = True,
) -> SyncReport:
    """Embed the corpus's new and changed documents with Ray, then bring the index up to date (module doc)."""
    _ray()  # the extra is there, before anything is read
    corpus_dir, index_dir = resolve_paths(corpus_dir, index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    commit = store_commit(index_dir, store)
    chunking = chunking or ChunkSettings()
    model = model or default_model()
    embedder = load_embedder(model)  # its name and size, and the ONNX export the actors load
    listed, _ = list_corpus(corpus_dir)
    known = {} if full else known_segments(index_dir, embedder, chunking)
    todo = [s for s in listed if full or find_segment(index_dir, s.path, s.sha256, embedder, chunking, known) is None]
    if todo:
        ray = _start(address, num_cpus)
        _embed_with_ray(ray, corpus_dir, index_dir, todo, embedder, chunking, workers, progress)
    return sync_index(corpus_dir, index_dir, embedder, chunking, progress=progress, vectors=vectors, commit=commit)


def _embed_with_ray(ray, corpus_dir, index_dir, todo, embedder, chunking, workers, progress) -> None:
    from tqdm.auto import tqdm

    rows = [{"path": s.path, "sha256": s.sha256, "format": s.format, "size": s.size} for s in todo]
    read = ray.data.from_items(rows).map(
        _read_and_chunk, fn_kwargs={"corpus_dir": str(corpus_dir), "chunking": chunking}
    )
    by_path = {r["path"]: r for r in read.take_all() if r["ok"]}
    planned = []
    for s in sorted(by_path):
        doc, chunks = by_path[s]["doc"], by_path[s]["chunks"]
        texts = sentence_inputs(doc, chunks)  # what each sentence is embedded as, as in-process
        planned.append((segment_key(doc.path, doc.sha256, embedder, chunking), doc, chunks, texts))
    groups = plan_groups(planned)
    if not groups:
        return
    pool = workers or max(1, min(len(groups), int(ray.cluster_resources().get("CPU", 1))))
    items = [{"group": i, "texts": [t for p in g for t in p[3]]} for i, g in enumerate(groups)]
    embedded = ray.data.from_items(items).map_batches(
        _Embed, fn_constructor_kwargs={"model": embedder.name}, batch_size=1, concurrency=pool, num_cpus=1
    )
    total = sum(len(i["texts"]) for i in items)
    with tqdm(total=total, desc=f"Embedding on {pool} Ray workers", unit="text", disable=not progress) as bar:
        for row in embedded.iter_rows():
            group = groups[int(row["group"])]
            vectors = np.frombuffer(row["vectors"], np.float32).reshape(-1, embedder.dim)
            at = 0
            for key, doc, chunks, texts in group:
                write_segment(index_dir, key, doc, chunks, vectors[at : at + len(texts)])
                at += len(texts)
            bar.update(at)
    log.info("embedded %d texts of %d documents with Ray", total, len(planned))
