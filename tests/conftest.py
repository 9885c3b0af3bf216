"""Shared fixtures: no network, a deterministic stand-in embedder, small corpora and indexes.

Everything here is for the fast unit tests; only tests/e2e uses the real model.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import socket
from pathlib import Path

import numpy as np
import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from qa.answers import Answer
from qa.ingest.documents import read_text
from qa.text import terms

# Hypothesis keeps its files under .pytest_cache (ignored by git), not in a new .hypothesis/ folder.
set_hypothesis_home_dir(Path(__file__).resolve().parent.parent / ".pytest_cache" / "hypothesis")

# --- no network ---------------------------------------------------------------------------------

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def is_loopback(address: object) -> bool:
    """True for a loopback (host, port, ...) address, and for AF_UNIX paths (not network at all)."""
    if isinstance(address, (str, bytes, bytearray)):  # AF_UNIX socket path
        return True
    if not isinstance(address, tuple) or not address:
        return False
    host = address[0]
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]").split("%", 1)[0].lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class NetworkBlocked(RuntimeError):
    """Raised when a unit test tries to reach a non-loopback address."""


def _refuse(address: object) -> None:
    raise NetworkBlocked(f"network access is blocked in tests (tried to connect to {address!r})")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Block every non-loopback connection; 127.0.0.1, ::1 and localhost keep working (UI tests use them)."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_create_connection = socket.create_connection

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address):
            _refuse(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address):
            _refuse(address)
        return real_connect_ex(self, address)

    def create_connection(address, *args, **kwargs):
        if not is_loopback(address):
            _refuse(address)
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    yield


# --- unit tests never touch the repository's index nor load the real model ------------------------


def _is_e2e(request) -> bool:
    return request.node.get_closest_marker("e2e") is not None


@pytest.fixture(scope="session", autouse=True)
def onnx_cache(tmp_path_factory):
    """ONNX exports made by the tests go to a temporary folder, not the user's ~/.cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("QA_CACHE", str(tmp_path_factory.mktemp("qa-cache")))
    yield
    mp.undo()


@pytest.fixture(autouse=True)
def unit_isolation(request, monkeypatch, tmp_path_factory):
    """For every test not marked e2e: QA_INDEX / QA_CORPUS point at empty tmp places (a default
    load can never build the repository's index/ with a fake model), QA_MODEL is unset, the cached
    default QA is reset, and loading the real sentence-transformers model is an error."""
    if _is_e2e(request):
        yield
        return
    from qa import api
    from qa.index import embedding

    place = tmp_path_factory.mktemp("defaults")
    monkeypatch.setenv("QA_INDEX", str(place / "index"))
    monkeypatch.setenv("QA_CORPUS", str(place / "corpus"))
    monkeypatch.delenv("QA_MODEL", raising=False)
    monkeypatch.setenv("QA_ONNX", "0")  # no cached ONNX export of the real model either
    monkeypatch.setenv("QA_CACHE", str(place / "cache"))
    if request.node.path.name != "test_embedding.py":  # that file tests load() with a stub library

        def no_real_model(*args, **kwargs):
            raise RuntimeError("unit tests use FakeEmbedder; the real model is for tests/e2e only")

        for obj in list(vars(embedding).values()):  # SentenceTransformerEmbedder and any other model class
            if isinstance(obj, type) and obj.__module__ == embedding.__name__ and hasattr(obj, "load"):
                monkeypatch.setattr(obj, "load", staticmethod(no_real_model))
    api.reset_default()
    yield
    api.reset_default()


# --- the bundled corpus and its index, as a fresh clone makes them (end-to-end tests) ------------

BUNDLED = "china-large-model-industry.txt"


@pytest.fixture(scope="session")
def bundled(tmp_path_factory, onnx_cache) -> tuple[Path, Path]:
    """(corpus, index): the bundled article alone in a corpus folder, and its index built on first use with the
    real default model, as `qa serve` builds it in a fresh clone. Shared: copy them to change them."""
    import shutil

    from qa.api import PROJECT_ROOT, QA

    root = tmp_path_factory.mktemp("bundled")
    (root / "corpus").mkdir()
    shutil.copy2(PROJECT_ROOT / "corpus" / BUNDLED, root / "corpus" / BUNDLED)
    QA.load(root / "index", corpus=root / "corpus")  # no index yet: built here
    return root / "corpus", root / "index"


@pytest.fixture(autouse=True)
def bundled_defaults(request, monkeypatch):
    """End-to-end tests: the default corpus and index (`answer()`, the chat's default) are `bundled`, never the
    user's corpus/ (which may hold their own documents) nor index/."""
    if not _is_e2e(request):
        yield
        return
    corpus, index = request.getfixturevalue("bundled")
    monkeypatch.setenv("QA_CORPUS", str(corpus))
    monkeypatch.setenv("QA_INDEX", str(index))
    yield


# --- e2e marker ----------------------------------------------------------------------------------


def pytest_configure(config):
    # Declared in pyproject.toml too; registering here keeps `--strict-markers` happy without it.
    config.addinivalue_line("markers", "e2e: end-to-end tests with the real model, FAISS index and UI (slower)")
    config.addinivalue_line("markers", "slow: unit tests of scale or of many processes (seconds each)")


def pytest_collection_modifyitems(config, items):
    """Everything under tests/e2e is end to end, marked or not, so `-m "not e2e"` never loads the model."""
    for item in items:
        if "e2e" in item.path.parts and item.get_closest_marker("e2e") is None:
            item.add_marker(pytest.mark.e2e)


# --- a deterministic embedder -------------------------------------------------------------------


class FakeEmbedder:
    """A hashed bag of stemmed content words (qa.text.terms) in `dim` dimensions.

    Implements qa.index.embedding.Embedder: texts that share words get similar vectors,
    rows are float32 and L2-normalized, and the same text always gets the same vector.
    """

    def __init__(self, name: str = "fake-hash-64", dim: int = 64) -> None:
        self.name = name
        self.dim = dim
        self.passage_calls = 0
        self.passage_texts: list[str] = []  # every passage text embedded, in order
        self.query_calls = 0

    def _bucket(self, term: str) -> tuple[int, float]:
        digest = hashlib.blake2b(term.encode("utf-8"), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        return value % self.dim, (1.0 if (value >> 32) & 1 else -1.0)

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for term in terms(text):
            i, sign = self._bucket(term)
            v[i] += sign
        norm = float(np.linalg.norm(v))
        if norm == 0.0:  # no content word: a fixed unit vector, never a zero row
            v[self.dim - 1] = 1.0
            return v
        return v / norm

    def _encode(self, texts) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([self._vector(t) for t in texts]).astype(np.float32)

    def encode_queries(self, texts) -> np.ndarray:
        self.query_calls += 1
        return self._encode(texts)

    def encode_passages(self, texts, progress: bool = False) -> np.ndarray:
        self.passage_calls += 1
        texts = list(texts)
        self.passage_texts.extend(texts)
        return self._encode(texts)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


# --- corpora and indexes ------------------------------------------------------------------------

ACME_TXT = (
    "Acme Robotics was founded by Jane Doe in March 2019. The company builds warehouse robots.\n"
    "Acme Robotics raised $25 million in its first funding round. It employs 120 engineers in Boston.\n"
    "\n"
    "- Partners\n"
    "Zenith Labs, Orbit Systems, and Nova Works are partners of Acme Robotics.\n"
)

HISTORY_MD = (
    "# Early History\n"
    "\n"
    "The U.S. Department of Energy awarded a grant to Acme Robotics in October 2020. "
    "Dr. Smith led the project at the time.\n"
    "\n"
    "# Products\n"
    "\n"
    "The Walker robot carries boxes up to 40 kilograms. The Lifter robot stacks pallets in cold storage.\n"
)

CORPUS = {"acme.txt": ACME_TXT, "notes/history.md": HISTORY_MD}


def build_index(docs, corpus_dir, index_dir, embedder, chunking, *, skipped=(), vectors=None):
    """Write the index of exactly `docs` (the product syncs a whole corpus folder; tests pick documents)."""
    from qa.index.build import BuildPlan, commit_documents
    from qa.index.storage import build_lock

    plan = BuildPlan(Path(index_dir), Path(corpus_dir), embedder, chunking, vectors)
    plan.index_dir.mkdir(parents=True, exist_ok=True)
    with build_lock(plan.index_dir):
        return commit_documents(plan, list(docs), list(skipped))[0]


def write_corpus(root: Path, files: dict[str, str | bytes] = CORPUS) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content.encode("utf-8"))  # exact bytes: no newline translation
    return root


def make_pdf(pages: list[str]) -> bytes:
    """A real PDF with one page per string (text layer), made with fpdf2."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def make_docx(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    """A real Word file with these paragraphs (and a table), made with python-docx."""
    import io

    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, cell in enumerate(row):
                grid.cell(r, c).text = cell
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


@pytest.fixture
def corpus_dir(tmp_path) -> Path:
    """A fresh corpus folder with a .txt and a .md (in a subfolder) that tests may change."""
    return write_corpus(tmp_path / "corpus")


@pytest.fixture
def index_dir(tmp_path, corpus_dir, fake_embedder) -> Path:
    """A fresh index of `corpus_dir`, built with the FakeEmbedder."""
    from qa.api import build

    path = tmp_path / "index"
    build(corpus_dir, path, embedder=fake_embedder)
    return path


@pytest.fixture
def bot(index_dir, corpus_dir, fake_embedder):
    from qa.api import QA

    return QA.load(index_dir, corpus=corpus_dir, embedder=fake_embedder, on_stale="error")


@pytest.fixture(scope="session")
def shared_corpus(tmp_path_factory) -> Path:
    """A read-only corpus shared by the tests that never change it."""
    return write_corpus(tmp_path_factory.mktemp("shared") / "corpus")


@pytest.fixture(scope="session")
def shared_index(shared_corpus) -> Path:
    from qa.api import build

    path = shared_corpus.parent / "index"
    build(shared_corpus, path, embedder=FakeEmbedder())
    return path


@pytest.fixture(scope="session")
def shared_bot(shared_index, shared_corpus):
    """A QA over the shared index. Do not change its settings; make a new QA for that."""
    from qa.api import QA

    return QA.load(shared_index, corpus=shared_corpus, embedder=FakeEmbedder(), on_stale="error")


# --- the verifiability property -----------------------------------------------------------------


def assert_verifiable(answer: Answer, corpus_dir: str | Path) -> None:
    """Every quote, and a found answer, is the exact slice of its document that it claims to be."""
    corpus_dir = Path(corpus_dir)
    texts: dict[str, str] = {}

    def text_of(source: str) -> str:
        if source not in texts:
            texts[source] = read_text(corpus_dir / source)
        return texts[source]

    for q in answer.quotes:
        doc = text_of(q.source)
        assert 0 <= q.start < q.end <= len(doc), f"quote offsets out of range: {q}"
        assert doc[q.start : q.end] == q.text, f"quote is not the slice {q.start}:{q.end} of {q.source}"
        assert q.paragraph >= 1 and q.line >= 1
        if q.highlight is not None:
            assert answer.found
            assert (q.highlight[0], q.highlight[1]) == (answer.start, answer.end)
            assert q.source == answer.source
            assert q.start <= answer.start and answer.end <= q.end, "highlight lies outside its quote"
    if answer.found:
        assert answer.text, "a found answer has text"
        assert answer.source is not None and answer.start is not None and answer.end is not None
        doc = text_of(answer.source)
        assert doc[answer.start : answer.end] == answer.text, "answer text is not its slice of the document"
        assert len(answer.text) <= 300
        assert answer.sentence and answer.text in answer.sentence
        assert answer.sentence in doc
    else:
        assert answer.text == ""
        assert answer.source is None and answer.start is None and answer.end is None
    assert 0.0 <= answer.confidence <= 1.0


@pytest.fixture(autouse=True)
def verify_every_answer(monkeypatch):
    """Every Answer any test gets from a QA (directly, through the CLI, the UI or `qa eval`) is checked
    against the document files of the corpus its index was built from."""
    from qa.api import QA, corpus_of

    real_answer = QA.answer

    @functools.wraps(real_answer)
    def answer(self, *args, **kwargs):
        result = real_answer(self, *args, **kwargs)
        assert_verifiable(result, corpus_of(self.index.manifest, Path(self.index.path)))
        return result

    monkeypatch.setattr(QA, "answer", answer)
    yield
