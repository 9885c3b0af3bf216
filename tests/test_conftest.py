"""The test harness itself: the network guard and the FakeEmbedder behave as the other tests assume."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from tests.conftest import FakeEmbedder, NetworkBlocked, is_loopback


@pytest.mark.parametrize(
    "address",
    [("8.8.8.8", 53), ("1.1.1.1", 443), ("2001:4860:4860::8888", 53, 0, 0), ("huggingface.co", 443)],
)
def test_non_loopback_connections_are_refused(address):
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s, pytest.raises(RuntimeError, match="network access"):
        s.connect(address)
    with pytest.raises(NetworkBlocked):
        socket.create_connection(address[:2], timeout=0.1)


def test_refused_by_connect_ex_too():
    with socket.socket() as s, pytest.raises(RuntimeError):
        s.connect_ex(("93.184.216.34", 80))


def test_loopback_still_works():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=2) as client:
            conn, _ = server.accept()
            with conn:
                client.sendall(b"ping")
                assert conn.recv(4) == b"ping"
        with socket.create_connection(("localhost", port), timeout=2):
            server.accept()[0].close()


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        (("127.0.0.1", 1), True),
        (("127.0.0.53", 1), True),
        (("::1", 1, 0, 0), True),
        (("localhost", 1), True),
        (("10.0.0.1", 1), False),
        (("example.com", 80), False),
        ("/tmp/some.sock", True),
    ],
)
def test_is_loopback(address, loopback):
    assert is_loopback(address) is loopback


def test_fake_embedder_rows_are_normalized_float32_and_deterministic():
    e = FakeEmbedder()
    texts = ["Huawei launched Pangu Chat.", "the of and", "", "Huawei launched Pangu Chat."]
    v = e.encode_passages(texts)
    assert v.dtype == np.float32 and v.shape == (4, e.dim)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(v[0], v[3])
    np.testing.assert_array_equal(e.encode_queries(texts[:1])[0], v[0])
    assert e.encode_passages([]).shape == (0, e.dim)


def test_fake_embedder_similar_texts_are_closer():
    e = FakeEmbedder()
    q, near, far = e.encode_queries(["Who launched Pangu Chat?", "Huawei launched Pangu Chat.", "Rain fell in Oslo."])
    assert q @ near > q @ far + 0.3


def test_unit_tests_cannot_reach_the_committed_index_or_the_real_model():
    from qa.api import PROJECT_ROOT, default_corpus, default_index
    from qa.index.embedding import SentenceTransformerEmbedder

    assert default_index() != PROJECT_ROOT / "index"
    assert default_corpus() != PROJECT_ROOT / "corpus"
    with pytest.raises(RuntimeError, match="FakeEmbedder"):
        SentenceTransformerEmbedder.load()


def test_every_answer_is_verified_against_the_files(index_dir, corpus_dir, fake_embedder):
    """The autouse verifier catches an answer whose offsets no longer slice its document."""
    from qa.api import QA

    bot = QA.load(index_dir, corpus=corpus_dir, embedder=fake_embedder, on_stale="error")
    bot.answer("Who founded Acme Robotics?")  # verified, passes
    path = corpus_dir / "acme.txt"
    path.write_text("Shifted! " + path.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(AssertionError, match="slice"):
        bot.answer("Who founded Acme Robotics?")  # the loaded index still holds the old text
