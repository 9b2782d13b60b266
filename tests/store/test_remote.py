"""The OpenAI-compatible remote encoder against a real local HTTP server on 127.0.0.1
that answers with vectors from the packaged model (no other host is ever contacted)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

import embedspace as es
from embedspace.encoders.remote import RemoteEncoder


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict] = []
        self.failures: list[int] = []  # status codes to answer before succeeding
        self.encoder = es.load_encoder("default")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), **body}
        )
        if self.server.failures:
            status = self.server.failures.pop(0)
            self._answer(status, {"error": {"message": f"simulated {status}"}}, retry_after="0")
            return
        if self.path != "/v1/embeddings":
            self._answer(404, {"error": {"message": "not found"}})
            return
        vectors = self.server.encoder.encode(body["input"])
        data = [
            {"object": "embedding", "index": i, "embedding": v.tolist()}
            for i, v in enumerate(vectors)
        ]
        self._answer(200, {"object": "list", "data": data[::-1], "model": body["model"]})

    def _answer(self, status: int, payload: dict, retry_after: str | None = None) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def server():
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_remote_vectors_match_the_model_behind_the_server(server, monkeypatch, encoder):
    monkeypatch.setenv("EMBEDSPACE_API_KEY", "sk-test")
    remote = es.load_encoder(f"openai:all-minilm@{server.base_url}")
    texts = [f"sentence number {i} about refunds" for i in range(5)]
    remote.batch_size = 2
    vectors = remote.encode(texts)
    # order restored; dynamic int8 quantises per batch, so the server's batches (and the
    # cores it spreads them over) move a vector slightly: the documented batch-mate bound
    # (docs/architecture.md; test_dynamic_int8_default_depends_only_slightly_on_batch)
    agreement = np.einsum("nd,nd->n", vectors, encoder.encode(texts))
    assert agreement.min() > 0.965 and agreement.mean() > 0.985
    assert remote.dim == 384
    assert [len(r["input"]) for r in server.requests] == [2, 2, 1]  # batched
    assert {r["auth"] for r in server.requests} == {"Bearer sk-test"}
    assert {r["model"] for r in server.requests} == {"all-minilm"}


def test_retries_429_and_5xx_then_succeeds(server):
    server.failures = [429, 503]
    remote = RemoteEncoder("m", server.base_url, backoff=0.01)
    assert remote.encode(["hello"]).shape == (1, 384)
    assert len(server.requests) == 3


def test_gives_up_with_a_clear_error(server):
    server.failures = [500] * 3
    remote = RemoteEncoder("m", server.base_url, max_retries=2, backoff=0.01)
    with pytest.raises(es.RemoteModelError, match="HTTP 500"):
        remote.encode(["hello"])
    server.failures = [401]
    with pytest.raises(es.RemoteModelError, match="API key was refused"):
        remote.encode(["hello"])
    assert len(server.requests) == 4  # 401 is not retried


def test_wrong_path_and_unreachable_server_are_explained(server):
    with pytest.raises(es.RemoteModelError, match="HTTP 404"):
        RemoteEncoder("m", server.base_url + "/extra", max_retries=0).encode(["x"])
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    unreachable = RemoteEncoder(
        "m", f"http://127.0.0.1:{port}", max_retries=1, backoff=0.01, timeout=2
    )
    with pytest.raises(es.RemoteModelError, match="cannot reach"):
        unreachable.encode(["x"])


def test_a_space_can_use_a_remote_model(server, tmp_path):
    with es.Space(
        tmp_path / "remote.space", model=f"openai:all-minilm@{server.base_url}", progress=False
    ) as space:
        space.add(["My kitten naps on the windowsill", "Stock markets fell sharply today"])
        assert space.dim == 384
        assert space.search("a cat", k=1)[0].text.startswith("My kitten")
        assert space.info()["model"].startswith("openai:all-minilm@http://127.0.0.1")


def test_bad_names_are_embedspace_errors():
    with pytest.raises(es.InvalidInputError, match="http"):
        es.load_encoder("openai:m@ftp://example")
    with pytest.raises(es.InvalidInputError, match="name the remote model"):
        es.load_encoder("openai:")
