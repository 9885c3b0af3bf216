"""Stage 2, index: sentence vectors in a FAISS index that describes itself, updated document by document.

Every sentence of every chunk is embedded once (`embedding`, `onnx_embedding`);
a chunk's dense score is the best score of its sentences. An index folder holds
`manifest.json` (`manifest`) and the data files it names: one segment per
document (`segments`), and each build's own files: the FAISS index over every
sentence vector (`vectors`), the chunk table and texts (`table`) and BM25
(`lexical`). `build` brings a folder up to date with its corpus; `load` reads
one back, every file checked; `storage` writes atomically and reads back only
what matches the manifest.

What retrieval asks of an index is the `store` protocol: `store.FaissStore` over
this folder by default; `milvus` keeps the chunks in Milvus instead (written by
`milvus_build` through `BuildPlan.commit`), and `ray_build` embeds with Ray.
"""

from qa.index.build import BuildPlan, SyncReport, sync_index
from qa.index.load import LoadedIndex, load_index
from qa.index.manifest import FORMAT_VERSION, MANIFEST, Manifest, read_manifest

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "BuildPlan",
    "LoadedIndex",
    "Manifest",
    "SyncReport",
    "load_index",
    "read_manifest",
    "sync_index",
]
