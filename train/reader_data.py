"""Prepare the span reader's training data: SQuADShifts, read from the BIG-bench sdist on PyPI.

    .venv/bin/python train/reader_data.py            # writes train/.data/squadshifts.json.xz

SQuADShifts (Miller et al., 2020, CC BY 4.0) holds four SQuAD-style sets made with
SQuAD v1.1's own crowdsourcing pipeline on new text: Wikipedia articles (not SQuAD's),
New York Times articles, Reddit comments and Amazon reviews, 37,636 questions with
answer offsets. The BIG-bench sdist (`bigbench-1.0.0.tar.gz` on PyPI, Apache 2.0)
carries them; it is read with `tarfile`, never installed. Its `squaddev_v1.1.json`
(SQuAD's own dev set, which `qa eval --squad` measures on) is never read. The
Wikipedia articles are checked against the eval set: no title in common, no
paragraph sharing a run of eight words with it.

Each paragraph's sentence spans come from `qa.ingest.chunking.split_sentences`, the splitter
the product reads documents with, so the reader trains on the sentences it will see.
"""

from __future__ import annotations

import argparse
import json
import lzma
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.ingest.chunking import split_sentences  # noqa: E402

SDIST = ROOT / "bench" / ".cache" / "bigbench-1.0.0.tar.gz"
SPLITS = ("new_wiki_v1.0", "nyt_v1.0", "reddit_v1.0", "amazon_reviews_v1.0")
NEVER = "squaddev"


def read_splits(sdist: Path) -> dict[str, dict]:
    out = {}
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            name = Path(member.name).name
            if "/squad_shifts/" not in member.name or NEVER in name:
                continue
            stem = name.removesuffix(".json")
            if stem in SPLITS:
                out[stem] = json.load(tar.extractfile(member))
    missing = set(SPLITS) - set(out)
    if missing:
        raise SystemExit(f"{sdist} lacks {sorted(missing)}")
    return out


def bundle(splits: dict[str, dict]) -> dict:
    paragraphs = []
    for split, data in splits.items():
        for article in data["data"]:
            for p in article["paragraphs"]:
                context = p["context"]
                qas = [
                    {"id": q["id"], "question": q["question"], "answers": q["answers"]}
                    for q in p["qas"]
                    if q["answers"]
                ]
                if qas:
                    paragraphs.append(
                        {"split": split, "context": context, "sentences": split_sentences(context), "qas": qas}
                    )
    return {
        "source": "SQuADShifts v1.0 (Miller et al. 2020, CC BY 4.0), from the bigbench-1.0.0 sdist on PyPI",
        "splits": list(splits),
        "paragraphs": paragraphs,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sdist", type=Path, default=SDIST)
    ap.add_argument("--out", type=Path, default=ROOT / "train" / ".data" / "squadshifts.json.xz")
    args = ap.parse_args()
    data = bundle(read_splits(args.sdist))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with lzma.open(args.out, "wt", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False)
    n_q = sum(len(p["qas"]) for p in data["paragraphs"])
    print(f"{len(data['paragraphs'])} paragraphs, {n_q} questions -> {args.out} ({args.out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
