"""Fetch the documentation sets of eval/docs/manifest.json into eval/.cache/docs/<set>/corpus/.

Each set is one pinned package: a Debian `-doc` package (`apt-get download
PKG=VERSION`, no root needed once apt's lists are there) or a PyPI sdist
(`pip download --no-binary :all: --no-deps PKG==VERSION`). The package's
SHA-256 is checked against the manifest, then exactly the listed files are
taken out of it (a .deb is an `ar` archive holding data.tar.*; an sdist is a
.tar.gz), each checked against its own SHA-256, and written below
`<dest>/<set>/corpus/` under their paths relative to the set's `root`.
Downloads are kept in `<dest>/_downloads/`, so a second run fetches nothing.

Usage:
    .venv/bin/python eval/docs/fetch.py                 # every set
    .venv/bin/python eval/docs/fetch.py sqlite hatch    # some sets
    .venv/bin/python eval/docs/fetch.py --dest DIR      # another place than eval/.cache/docs
    .venv/bin/python eval/docs/fetch.py --list          # what the manifest holds, fetching nothing

Only the standard library, plus `apt-get` and `pip` run as programs.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"
DEFAULT_DEST = HERE.parent / ".cache" / "docs"


class FetchError(RuntimeError):
    """A package could not be downloaded, or is not what the manifest says."""


def load_manifest(path: Path = MANIFEST) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def _apt_download(name: str, version: str, into: Path) -> Path:
    """`apt-get download NAME=VERSION` into `into`; runs `apt-get update` once first if root and it fails."""
    if not shutil.which("apt-get"):
        raise FetchError(f"{name}: apt-get is not on PATH (a Debian package is needed)")
    cmd = ["apt-get", "download", f"{name}={version}"]
    got = _run(cmd, into)
    if got.returncode != 0 and hasattr(os, "geteuid") and os.geteuid() == 0:
        _run(["apt-get", "update", "-qq"], into)
        got = _run(cmd, into)
    if got.returncode != 0:
        raise FetchError(
            f"{' '.join(cmd)} failed: {got.stderr.strip() or got.stdout.strip()}\n"
            "  (run `apt-get update` as root first; if the version is gone from the archive, "
            "update the manifest's version and hashes)"
        )
    debs = sorted(into.glob(f"{name}_*.deb"), key=lambda p: p.stat().st_mtime)
    if not debs:
        raise FetchError(f"{' '.join(cmd)} left no {name}_*.deb in {into}")
    return debs[-1]


def _pip_download(name: str, version: str, into: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps", "-d", str(into)]
    got = _run([*cmd, f"{name}=={version}"], into)
    if got.returncode != 0:
        raise FetchError(f"pip download {name}=={version} failed: {got.stderr.strip()[-2000:]}")
    found = [p for p in into.iterdir() if p.name.lower().startswith(f"{name.lower()}-{version}")]
    if not found:
        raise FetchError(f"pip download {name}=={version} left no sdist in {into}")
    return found[0]


def download(spec: dict, downloads: Path) -> bytes:
    """The package's bytes, from the download cache or the registry; its SHA-256 checked."""
    folder = downloads / f"{spec['kind']}-{spec['package']}-{spec['version'].replace(':', '%3a')}"
    folder.mkdir(parents=True, exist_ok=True)
    cached = [p for p in folder.iterdir() if p.is_file() and sha256(p.read_bytes()) == spec["sha256"]]
    if cached:
        return cached[0].read_bytes()
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        fetcher = _apt_download if spec["kind"] == "apt" else _pip_download
        path = fetcher(spec["package"], spec["version"], Path(tmp))
        data = path.read_bytes()
        if sha256(data) != spec["sha256"]:
            raise FetchError(
                f"{path.name}: SHA-256 {sha256(data)} is not the manifest's {spec['sha256']} "
                f"({spec['package']} {spec['version']} is not the package the questions were written on)"
            )
        (folder / path.name).write_bytes(data)
    return data


def _ar_members(data: bytes) -> dict[str, bytes]:
    """The members of an `ar` archive (a .deb) by name."""
    if not data.startswith(b"!<arch>\n"):
        raise FetchError("not a .deb (no ar header)")
    pos, out = 8, {}
    while pos + 60 <= len(data):
        header = data[pos : pos + 60]
        name = header[:16].decode("ascii").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip())
        out[name] = data[pos + 60 : pos + 60 + size]
        pos += 60 + size + (size % 2)
    return out


def _payload_tar(spec: dict, data: bytes) -> tarfile.TarFile:
    if spec["kind"] == "pypi":
        return tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
    members = _ar_members(data)
    inner = next((n for n in members if n.startswith("data.tar")), None)
    if inner is None:
        raise FetchError(f"{spec['package']}: no data.tar.* in the .deb")
    if inner.endswith(".zst"):
        raise FetchError(f"{spec['package']}: {inner} is zstd-compressed; the standard library cannot read it")
    return tarfile.open(fileobj=io.BytesIO(members[inner]), mode="r:*")


def _normal(name: str) -> str:
    return str(PurePosixPath(name.removeprefix("./")))


def extract(spec: dict, data: bytes, corpus: Path) -> list[Path]:
    """Write exactly the listed files of the package below `corpus`, each checked; return their paths."""
    root = PurePosixPath(spec["root"])
    wanted = {str(root / f["path"]): f for f in spec["files"]}
    written: list[Path] = []
    with _payload_tar(spec, data) as tar:
        for member in tar.getmembers():
            name = _normal(member.name)
            if name not in wanted or not member.isfile():
                continue
            item = wanted.pop(name)
            content = tar.extractfile(member).read()
            if sha256(content) != item["sha256"]:
                got = sha256(content)
                raise FetchError(f"{spec['package']}: {item['path']} has SHA-256 {got}, not {item['sha256']}")
            rel = PurePosixPath(item["path"])
            if rel.is_absolute() or ".." in rel.parts:
                raise FetchError(f"bad path in manifest: {item['path']}")
            out = corpus / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            if not out.exists() or out.read_bytes() != content:
                out.write_bytes(content)
            written.append(out)
    if wanted:
        missing = ", ".join(sorted(f["path"] for f in wanted.values()))
        raise FetchError(f"{spec['package']} {spec['version']} lacks listed files: {missing}")
    return written


def _strays(corpus: Path, written: list[Path]) -> list[Path]:
    keep = {p.resolve() for p in written}
    return [p for p in corpus.rglob("*") if p.is_file() and p.resolve() not in keep]


def fetch_set(name: str, spec: dict, dest: Path) -> Path:
    """Fetch one set; return its corpus folder (holding the listed files and nothing else)."""
    data = download(spec, dest / "_downloads")
    corpus = dest / name / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    written = extract(spec, data, corpus)
    for stray in _strays(corpus, written):  # a file left from an older manifest would be indexed too
        stray.unlink()
    return corpus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="*", help="set names (default: all in the manifest)")
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help=f"where to put them (default {DEFAULT_DEST})")
    parser.add_argument("--list", action="store_true", help="print the sets and fetch nothing")
    args = parser.parse_args(argv)
    sets = load_manifest()["sets"]
    unknown = [s for s in args.sets if s not in sets]
    if unknown:
        parser.error(f"unknown set(s) {', '.join(unknown)}; the manifest has {', '.join(sets)}")
    chosen = args.sets or list(sets)
    if args.list:
        for name in chosen:
            s = sets[name]
            flag = "  [held out]" if s.get("held_out") else ""
            print(f"{name}: {s['package']} {s['version']} ({s['kind']}), {len(s['files'])} files, {s['licence']}{flag}")
        return 0
    failed = 0
    for name in chosen:
        try:
            corpus = fetch_set(name, sets[name], args.dest.resolve())
        except FetchError as exc:
            print(f"{name}: FAILED: {exc}", file=sys.stderr)
            failed += 1
            continue
        flag = " (held out: never fit or tune on it)" if sets[name].get("held_out") else ""
        print(f"{name}: {len(sets[name]['files'])} files in {corpus}{flag}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
