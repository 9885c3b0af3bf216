"""Writing an index into Milvus: the collections' schema, each document's rows, and the build's commit.

`committer(settings)` is the `BuildPlan.commit` that `qa.index.sync_index` calls with the
segments it embedded or kept: rows of new, changed and removed documents only
are deleted and inserted (a first build, or collections that no longer match
the manifest, write everything), then one flush (Milvus Lite keeps BM25
statistics per flushed segment), then the document-frequency table
`df-<build>.json` and the manifest with its `store` entry (see
`qa.index.milvus`). A fresh build numbers chunks and sentences in manifest
order, as the FAISS index does.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from pathlib import Path

import numpy as np

from qa.errors import IndexCorruptError
from qa.index.build import BuildPlan
from qa.index.embedding import fingerprint
from qa.index.lexical import LEXICAL
from qa.index.manifest import Manifest, corpus_reference, now, package_version, read_manifest, write_manifest
from qa.index.milvus import (
    EF_SEARCH,
    HNSW,
    K1,
    MAX_VARCHAR,
    STRUCTURE,
    TEXT_PIECE,
    B,
    MilvusSettings,
    MilvusStore,
    _client_module,
    connect,
    doc_key,
    encode_terms,
    stale_store,
)
from qa.index.segments import Segment, read_segment
from qa.index.storage import atomic_write, file_entry, remove_old_files
from qa.ingest.chunking import Chunk
from qa.ingest.documents import Skipped
from qa.text import terms

log = logging.getLogger(__name__)


# --- schema -------------------------------------------------------------------------------------
def _create(client, names: dict[str, str], dim: int) -> None:
    pymilvus = _client_module()
    dt, fn = pymilvus.DataType, pymilvus.Function

    def schema():
        s = client.create_schema(auto_id=False, enable_dynamic_field=False)
        s.add_field("id", dt.INT64, is_primary=True)
        s.add_field("doc", dt.INT64)
        return s

    s = schema()
    s.add_field("chunk_id", dt.INT64)
    s.add_field("vector", dt.FLOAT_VECTOR, dim=dim)
    ip = client.prepare_index_params()
    ip.add_index("vector", index_type="HNSW", metric_type="IP", params=HNSW)
    ip.add_index("chunk_id", index_type="INVERTED")
    ip.add_index("doc", index_type="INVERTED")
    client.create_collection(names["sentences"], schema=s, index_params=ip)

    s = schema()
    for name in ("start", "end", "paragraph", "line"):
        s.add_field(name, dt.INT64)
    for name in ("source", "title", "heading", "sentences", "text", "structure"):
        s.add_field(name, dt.VARCHAR, max_length=MAX_VARCHAR)
    s.add_field("terms", dt.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True, analyzer_params={"type": "standard"})
    s.add_field("sparse", dt.SPARSE_FLOAT_VECTOR)
    s.add_function(fn(name="bm25", function_type=pymilvus.FunctionType.BM25, input_field_names=["terms"],
                      output_field_names=["sparse"]))  # fmt: skip
    ip = client.prepare_index_params()
    ip.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params={"bm25_k1": K1, "bm25_b": B})
    ip.add_index("doc", index_type="INVERTED")
    client.create_collection(names["chunks"], schema=s, index_params=ip)

    s = schema()
    s.add_field("source", dt.VARCHAR, max_length=MAX_VARCHAR)
    s.add_field("part", dt.INT64)
    s.add_field("text", dt.VARCHAR, max_length=MAX_VARCHAR)
    s.add_field("pages", dt.VARCHAR, max_length=MAX_VARCHAR)
    s.add_field("unused", dt.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
    ip = client.prepare_index_params()
    ip.add_index("unused", index_type="FLAT", metric_type="IP")  # never searched
    ip.add_index("doc", index_type="INVERTED")
    client.create_collection(names["documents"], schema=s, index_params=ip)


def _fits(value: str, what: str) -> str:
    if len(value.encode("utf-8")) <= MAX_VARCHAR:
        return value
    log.warning("%s is longer than a Milvus VARCHAR holds; its end is cut", what)
    return value.encode("utf-8")[:MAX_VARCHAR].decode("utf-8", "ignore")


def document_rows(path: str, meta: dict, vectors: np.ndarray, first_chunk: int, first_sentence: int, first_piece: int):
    """One document's rows for the three collections, numbered from the given ids."""
    key, text, chunks = doc_key(path), meta["text"], meta["chunks"]
    title = chunks[0].get("title", "") if chunks else ""
    chunk_rows, sentence_rows = [], []
    row = 0
    for i, c in enumerate(chunks):
        cid = first_chunk + i
        body = text[c["start"] : c["end"]]
        bm25_text = Chunk.from_dict(c, body).embedding_text()  # as the FAISS index's BM25 reads it
        chunk_rows.append(
            {
                "id": cid,
                "doc": key,
                "source": path,
                "title": title,
                "heading": c["heading"],
                "start": c["start"],
                "end": c["end"],
                "paragraph": c["paragraph"],
                "line": c["line"],
                "sentences": json.dumps(c["sentences"]),
                "text": _fits(body, f"a chunk of {path}"),
                "structure": _fits(json.dumps({k: c[k] for k in STRUCTURE if k in c}), f"a chunk of {path}"),
                "terms": _fits(encode_terms(terms(bm25_text)), f"the terms of a chunk of {path}"),
            }
        )
        for _ in c["sentences"]:
            sentence_rows.append({"id": first_sentence + row, "doc": key, "chunk_id": cid, "vector": vectors[row]})
            row += 1
    pieces = [text[i : i + TEXT_PIECE] for i in range(0, len(text), TEXT_PIECE)] or [""]
    pages = json.dumps(list(meta.get("pages", [])))
    document = [
        {"id": first_piece + n, "doc": key, "source": path, "part": n, "text": piece, "unused": [0.0, 0.0],
         "pages": pages if n == 0 else "[]"}
        for n, piece in enumerate(pieces)
    ]  # fmt: skip
    return sentence_rows, chunk_rows, document


# --- the build --------------------------------------------------------------------------------
def _df_table(index_dir: Path, segments) -> dict[str, int]:
    """How many chunks hold each term, over every segment."""
    df: dict[str, int] = {}
    for s in segments:
        meta, _ = read_segment(index_dir, {"json": s.json_entry, "npy": s.npy_entry})
        chunks, text = meta["chunks"], meta["text"]
        title = chunks[0].get("title", "") if chunks else ""
        for c in chunks:
            body = "\n".join(p for p in (title, c["heading"], text[c["start"] : c["end"]]) if p)
            for t in set(terms(body)):
                df[t] = df.get(t, 0) + 1
    return df


def _previous(index_dir: Path, recorded: dict, embedder, chunking) -> Manifest | None:
    """The current manifest when it describes this very store, model and chunker (then rows are updated in place)."""
    try:
        m = read_manifest(index_dir)
    except Exception:
        return None
    same = {k: v for k, v in m.store.items() if k != "next"} == recorded and "next" in m.store
    same = same and m.made_by(embedder) and m.chunking == chunking.to_dict()
    return m if same else None


def committer(settings: MilvusSettings):
    """The `BuildPlan.commit` that `qa.index.sync_index` calls to write the segments into Milvus (see module doc)."""
    _client_module()  # the extra is there, before anything is embedded

    def commit(plan: BuildPlan, segments: list[Segment], skipped: list[Skipped]) -> Manifest:
        index_dir, corpus_dir, embedder, chunking = plan.index_dir, plan.corpus_dir, plan.embedder, plan.chunking
        recorded = settings.recorded(index_dir)
        client = connect(settings)
        previous = _previous(index_dir, recorded, embedder, chunking)
        if previous is not None and stale_store(MilvusStore(client, settings, previous, index_dir, {})):
            log.warning("the Milvus collections differ from the manifest; writing them again")
            previous = None
        if previous is None:
            for name in settings.collections.values():
                if client.has_collection(name):
                    client.drop_collection(name)
            _create(client, settings.collections, embedder.dim)
            nxt, old = {"chunk": 0, "sentence": 0, "piece": 0}, {}
        else:
            nxt, old = dict(previous.store["next"]), previous.segments
        store = MilvusStore(client, settings, previous, index_dir, {})
        current = {s.path for s in segments}
        for path in old:
            if path not in current:
                store.delete(path)
        for s in segments:
            if old.get(s.path) == s.entry():
                continue
            meta, vectors = read_segment(index_dir, {"json": s.json_entry, "npy": s.npy_entry})
            rows = document_rows(s.path, meta, vectors, nxt["chunk"], nxt["sentence"], nxt["piece"])
            if s.path in old:
                store.upsert(s.path, rows)
            else:
                store.insert(rows)
            nxt = {"chunk": nxt["chunk"] + len(rows[1]), "sentence": nxt["sentence"] + len(rows[0]),
                   "piece": nxt["piece"] + len(rows[2])}  # fmt: skip
        store.flush()  # once: Lite keeps BM25 statistics per flushed segment
        counts = store.counts()
        build_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        df = _df_table(index_dir, segments)
        data = json.dumps({"chunks": counts["chunks"], "df": df}, sort_keys=True, ensure_ascii=False).encode("utf-8")
        df_path = index_dir / f"df-{build_id}.json"
        atomic_write(df_path, data)
        total_chunks = sum(s.chunks for s in segments)
        manifest = Manifest(
            model=embedder.name,
            model_fingerprint=fingerprint(embedder),
            dim=embedder.dim,
            chunking=chunking.to_dict(),
            documents={s.path: s.sha256 for s in segments},
            files={"df": file_entry(df_path, data)},
            built_at=now(),
            build_id=build_id,
            corpus=corpus_reference(corpus_dir, index_dir),
            counts={
                "documents": len(segments),
                "chunks": total_chunks,
                "sentences": sum(s.sentences for s in segments),
                "skipped": len(skipped),
                **{f"milvus_{r}": n for r, n in counts.items()},
            },
            versions={p: package_version(p) for p in ("qa-chatbot", "pymilvus", "milvus-lite", "numpy")},
            segments={s.path: s.entry() for s in segments},
            skipped={s.path: {"sha256": s.sha256, "reason": s.reason} for s in skipped if s.sha256},
            vector_index={"type": "milvus-hnsw", **HNSW, "efSearch": EF_SEARCH},
            lexical={**LEXICAL, "engine": "milvus-bm25"},
            store={**recorded, "next": nxt},
        )
        if counts["chunks"] != total_chunks:
            raise IndexCorruptError(f"Milvus holds {counts['chunks']} chunks, the segments {total_chunks}; run again")
        write_manifest(index_dir, manifest)
        remove_old_files(index_dir, manifest.file_names())
        for old_df in index_dir.glob("df-*.json"):
            if old_df != df_path:
                old_df.unlink(missing_ok=True)
        client.close()
        log.info("indexed %d documents, %d chunks into Milvus at %s", len(segments), total_chunks, recorded["uri"])
        return manifest

    return commit
