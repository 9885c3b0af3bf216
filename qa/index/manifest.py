"""An index folder's `manifest.json`: everything its files and vectors depend on.

It names the model, dimension, chunker settings, vector index kind and BM25
version; every document's path and SHA-256 (and the files read but skipped,
with why), when each was indexed, the build time, library versions and each
data file's size and hash. It is written last and atomically, so it always
points to whole files; a load or a build that finds it disagreeing with the
corpus or the settings rebuilds or refuses.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from qa.errors import IndexCorruptError, IndexMissingError
from qa.index import lexical
from qa.index.embedding import Embedder, fingerprint
from qa.index.storage import REBUILD, atomic_write

FORMAT_VERSION = 5  # 4: chunk table, texts and BM25 per build, SQ8 above 1M; 5: chunk kinds, paths, contexts
MANIFEST = "manifest.json"
BUILD_FILES = ("vectors", "chunks", "sentences", "texts", "documents", *lexical.ROLES)


def package_version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def now() -> str:
    """The time now, as the manifest records times (UTC, ISO 8601)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass(frozen=True)
class Manifest:
    """What an index folder holds and was built with (see the module's docstring)."""

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
    # what the vectors depend on beyond the model's name (qa.index.embedding.fingerprint): for an int8 model
    # its file's SHA-256, the onnxruntime version and the quantization; {} for full precision
    model_fingerprint: dict = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    store: dict = field(default_factory=dict)  # where the chunks live when not in this folder (qa.index.milvus)

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
        } | ({"store": self.store} if self.store else {})

    @classmethod
    def from_dict(cls, d: dict) -> Manifest:
        if d.get("format_version") != FORMAT_VERSION:
            raise IndexCorruptError(f"index format {d.get('format_version')!r} is not {FORMAT_VERSION}; {REBUILD}")
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
                store=dict(d.get("store", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexCorruptError(f"index manifest is incomplete ({exc}); {REBUILD}") from exc

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

    def made_by(self, embedder: Embedder) -> bool:
        """Whether the index's vectors were made by this very model (name, size and fingerprint)."""
        return (self.model, self.dim, self.model_fingerprint) == (embedder.name, embedder.dim, fingerprint(embedder))

    def seen(self) -> dict[str, str]:
        """Every file the build looked at, indexed or not: path -> sha256."""
        return {**{p: s["sha256"] for p, s in self.skipped.items()}, **self.documents}


def corpus_reference(corpus_dir: Path, index_dir: Path) -> str:
    """How the manifest names the corpus: relative to the index folder when possible."""
    try:
        return os.path.relpath(corpus_dir.resolve(), index_dir.resolve())
    except ValueError:
        return str(corpus_dir.resolve())


def read_manifest(index_dir: str | Path) -> Manifest:
    """The manifest of an index folder; IndexMissingError without one, IndexCorruptError when unreadable."""
    path = Path(index_dir) / MANIFEST
    if not path.is_file():
        raise IndexMissingError(f"no index in {index_dir} (no {MANIFEST}); run `qa index` to build it")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(f"{path} is not valid JSON ({exc}); {REBUILD}") from exc
    if not isinstance(data, dict):
        raise IndexCorruptError(f"{path} is not an index manifest; {REBUILD}")
    return Manifest.from_dict(data)


def write_manifest(index_dir: Path, manifest: Manifest) -> None:
    """Replace the folder's manifest atomically: the build it names becomes the index."""
    atomic_write(index_dir / MANIFEST, json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False).encode("utf-8"))
