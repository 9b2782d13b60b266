"""Limits that hold under abuse: per-key rate and requests in flight (429 with
Retry-After), a bounded lane for expensive requests that leaves cheap ones alone, a body
that trickles in (408), the memory ceiling of one request, and a flood of 64 clients on
127.0.0.1 beside one well-behaved client (a few seconds here; 60 s with ``-m slow``)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from helpers.figures import record

pytest.importorskip("fastapi", reason="the server extra is not installed")
httpx = pytest.importorskip("httpx")

from helpers.serving import free_port, rss_bytes, running, wait_healthy  # noqa: E402

from embedspace.server import create_app  # noqa: E402
from embedspace.server.keys import KeyFile  # noqa: E402
from embedspace.server.limits import Limits  # noqa: E402
from embedspace.server.service import SpaceService  # noqa: E402

FLOOD = Path(__file__).parents[1] / "helpers" / "flood.py"


@pytest.fixture
def spaces_dir(served_space_path, tmp_path):
    folder = tmp_path / "spaces"
    shutil.copytree(served_space_path, folder / "shop.space")
    return folder


def _keys(path: Path, n: int) -> list[str]:
    keyfile = KeyFile.load(path, missing_ok=True)
    made = [keyfile.add("read", label=f"client {i}") for i in range(n)]
    keyfile.save()
    return made


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_rate_limit_is_per_key_with_retry_after(spaces_dir, tmp_path):
    first, second = _keys(tmp_path / "keys.json", 2)
    app = create_app(spaces_dir, keys=tmp_path / "keys.json", limits=Limits(rate=2, burst=5))
    with running(app) as url, httpx.Client(base_url=url) as client:
        statuses = [client.get("/spaces", headers=bearer(first)).status_code for _ in range(8)]
        limited = client.get("/spaces", headers=bearer(first))
        other = client.get("/spaces", headers=bearer(second))
        time.sleep(1.2)  # two tokens a second: one is back
        recovered = client.get("/spaces", headers=bearer(first))
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429] * 3
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"
    assert other.status_code == 200 and recovered.status_code == 200


def _slow(method, seconds: float, when=lambda options: True):
    def wrapped(self, *args, **options):
        if when(options):
            time.sleep(seconds)
        return method(self, *args, **options)

    return wrapped


def _concurrently(calls) -> list[httpx.Response]:
    results: list = [None] * len(calls)

    def run(i, call):
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
        time.sleep(0.05)  # in this order
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_requests_in_flight_are_limited_per_key(spaces_dir, tmp_path, monkeypatch):
    first, second = _keys(tmp_path / "keys.json", 2)
    monkeypatch.setattr(SpaceService, "search", _slow(SpaceService.search, 1.5))
    app = create_app(spaces_dir, keys=tmp_path / "keys.json", limits=Limits(concurrent=2))
    body = {"query": "a war film"}
    with running(app) as url:

        def search(key):
            return lambda: httpx.post(
                f"{url}/spaces/shop/search", json=body, headers=bearer(key), timeout=60
            )

        results = _concurrently([search(first), search(first), search(first), search(second)])
    assert [r.status_code for r in results] == [200, 200, 429, 200]
    assert results[2].headers["retry-after"] == "1"


def test_expensive_requests_queue_boundedly_and_cheap_ones_pass(spaces_dir, monkeypatch):
    """One heavy slot, one waiting place: of four re-ranked searches at once, two are
    refused at once; a plain search meanwhile answers before the first of them does."""
    reranked = _slow(SpaceService.search, 2.0, when=lambda options: options.get("rerank"))
    monkeypatch.setattr(SpaceService, "search", reranked)
    limits = Limits(heavy_slots=1, heavy_queue=1, concurrent=64)
    with running(create_app(spaces_dir, limits=limits)) as url:
        httpx.post(f"{url}/spaces/shop/search", json={"query": "warm up"}, timeout=120)

        def search(rerank: bool):
            body = {"query": "a war film", "rerank": rerank}
            return lambda: (
                time.perf_counter(),
                httpx.post(f"{url}/spaces/shop/search", json=body, timeout=60),
                time.perf_counter(),
            )

        results = _concurrently([search(True)] * 4 + [search(False)])
    heavy = [r.status_code for _, r, _ in results[:4]]
    assert sorted(heavy) == [200, 200, 429, 429], heavy
    refused = [r for _, r, _ in results[:4] if r.status_code == 429]
    assert all(int(r.headers["retry-after"]) >= 1 for r in refused)
    assert "rerank" in refused[0].json()["error"]["message"]
    _, cheap, cheap_done = results[4]
    first_heavy_done = min(done for _, r, done in results[:4] if r.status_code == 200)
    assert cheap.status_code == 200 and cheap_done < first_heavy_done


def test_a_heavy_request_waits_no_longer_than_the_queue_timeout(spaces_dir, monkeypatch):
    reranked = _slow(SpaceService.search, 3.0, when=lambda options: options.get("rerank"))
    monkeypatch.setattr(SpaceService, "search", reranked)
    limits = Limits(heavy_slots=1, heavy_queue=4, queue_timeout=0.5)
    body = {"query": "a war film", "rerank": True}
    with running(create_app(spaces_dir, limits=limits)) as url:
        post = lambda: httpx.post(f"{url}/spaces/shop/search", json=body, timeout=60)  # noqa: E731
        first, second = _concurrently([post, post])
    assert (first.status_code, second.status_code) == (200, 429)
    assert "within 0.5 s" in second.json()["error"]["message"]


def test_a_body_that_trickles_in_gets_408(spaces_dir):
    with running(create_app(spaces_dir, limits=Limits(body_timeout=1.0))) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(
                b"POST /spaces/shop/search HTTP/1.1\r\nHost: x\r\n"
                b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"query": '
            )
            started = time.monotonic()
            answer = sock.recv(4096).decode()
            waited = time.monotonic() - started
    assert answer.startswith("HTTP/1.1 408") and "request_timeout" in answer
    assert 0.9 < waited < 5


def test_each_request_has_a_memory_ceiling(spaces_dir):
    """k, batch size, text length and a request's total text are bounded: each is
    refused (422/413) before any work, never a 500."""
    with running(create_app(spaces_dir)) as url, httpx.Client(base_url=url, timeout=60) as http:
        cases = {
            "k": http.post("/spaces/shop/search", json={"query": "x", "k": 1001}),
            "query": http.post("/spaces/shop/search", json={"query": "x" * 10_001}),
            "rerank_depth": http.post(
                "/spaces/shop/search", json={"query": "x", "rerank": True, "rerank_depth": 201}
            ),
            "batch": http.post("/spaces/shop/items", json={"items": [{"text": "x"}] * 257}),
            "text": http.post("/spaces/shop/items", json={"items": [{"text": "x" * 100_001}]}),
            "total": http.post("/spaces/shop/items", json={"items": [{"text": "y " * 45_000}] * 6}),
            "embeddings": http.post(
                "/v1/embeddings", json={"model": "default", "input": ["z " * 45_000] * 6}
            ),
            "body": http.post("/v1/embeddings", content=b"{" + b" " * (5 * 2**20) + b"}"),
        }
        count = http.get("/spaces/shop/health").json()["items"]
    statuses = {name: r.status_code for name, r in cases.items()}
    assert statuses == {
        "k": 422,
        "query": 422,
        "rerank_depth": 422,
        "batch": 413,
        "text": 422,
        "total": 413,
        "embeddings": 413,
        "body": 413,
    }
    assert "500,000" in cases["total"].json()["error"]["message"]
    assert count == 60  # nothing was written


class WellBehaved(threading.Thread):
    """Cheap dense searches at a steady pace with its own key: latency and errors."""

    def __init__(self, url: str, key: str, stop_at: float, pace: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.url, self.key, self.stop_at, self.pace = url, key, stop_at, pace
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def run(self) -> None:
        body = {"query": "a funny family comedy", "k": 5}
        with httpx.Client(base_url=self.url, headers=bearer(self.key), timeout=10) as http:
            while time.monotonic() < self.stop_at:
                started = time.perf_counter()
                try:
                    response = http.post("/spaces/shop/search", json=body)
                    if response.status_code != 200:
                        self.errors.append(f"{response.status_code} {response.text[:120]}")
                except httpx.HTTPError as exc:
                    self.errors.append(type(exc).__name__)
                self.latencies.append(time.perf_counter() - started)
                time.sleep(max(0.0, self.pace - (time.perf_counter() - started)))


def run_flood(spaces_dir: Path, tmp_path: Path, clients: int, seconds: float) -> dict:
    """``embedspace serve DIR --keys`` with tight limits; ``clients`` abusive clients on
    8 keys (tests/helpers/flood.py, its own process) beside one well-behaved client."""
    keys = _keys(tmp_path / "keys.json", 9)
    good_key, flood_keys = keys[0], keys[1:]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    limits = ["--rate", "20", "--concurrent", "4", "--heavy-slots", "1", "--heavy-queue", "4"]
    command = ["serve", str(spaces_dir), "--port", str(port), "--keys", str(tmp_path / "keys.json")]
    server = subprocess.Popen(
        [sys.executable, "-m", "embedspace", *command, *limits],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(url, server)
        warm = {"query": "war", "rerank": True}  # model, re-ranker, keyword index, map
        for path, body in (("/spaces/shop/search", warm), ("/spaces/shop/map", None)):
            method = "POST" if body else "GET"
            httpx.request(method, url + path, json=body, headers=bearer(good_key), timeout=120)
        flood = subprocess.Popen(
            [sys.executable, str(FLOOD), url, str(seconds), str(clients), *flood_keys],
            stdout=subprocess.PIPE,
            text=True,
        )
        started = time.monotonic()
        good = WellBehaved(url, good_key, started + seconds)
        good.start()
        samples = []
        while flood.poll() is None and time.monotonic() < started + seconds + 120:
            samples.append((time.monotonic() - started, rss_bytes(server.pid)))
            time.sleep(0.25)
        flooded = json.loads(flood.communicate(timeout=120)[0])
        good.join(timeout=60)
        assert server.poll() is None, "the server died under the flood"
    finally:
        server.terminate()
        server.wait(timeout=60)
    # RSS from the end of the flood's first quarter (allocator arenas and caches of the
    # many worker threads have grown by then) to its end: growth after that is a leak.
    window = max(1.0, seconds / 8)
    first = np.median([r for t, r in samples if seconds / 4 <= t < seconds / 4 + window])
    last = np.median([r for t, r in samples if seconds - window <= t <= seconds])
    every = max(1, len(samples) // 10)
    latencies = np.array(good.latencies) * 1000
    server_errors = sum(v for k, v in flooded.items() if k.startswith("5"))
    return {
        "clients": clients,
        "seconds": seconds,
        "flood_requests": flooded["requests"],
        "flood_statuses": {
            k: v for k, v in flooded.items() if k not in ("clients", "seconds", "requests")
        },
        "flood_429": flooded.get("429", 0),
        "flood_5xx": server_errors,
        "good_requests": len(good.latencies),
        "good_errors": len(good.errors),
        "good_error_examples": good.errors[:3],
        "good_p50_ms": round(float(np.percentile(latencies, 50)), 1),
        "good_p99_ms": round(float(np.percentile(latencies, 99)), 1),
        "good_max_ms": round(float(latencies.max()), 1),
        "rss_mb_first": round(first / 2**20, 1),
        "rss_mb_last": round(last / 2**20, 1),
        "rss_growth_pct": round(100 * (last - first) / first, 1),
        "rss_mb_timeline": [(round(t), round(r / 2**20)) for t, r in samples[::every]],
    }


def _check_flood(result: dict, name: str, p99_ms: float) -> None:
    record(name, **result)
    assert result["flood_429"] > 0, result
    assert result["flood_5xx"] == 0, result
    assert set(result["flood_statuses"]) <= {"200", "429"}, result
    assert result["good_errors"] == 0, result["good_error_examples"]
    assert result["good_p99_ms"] < p99_ms, result
    assert result["rss_growth_pct"] < 10, result


def test_a_short_flood_gets_429s_while_a_polite_client_is_served(spaces_dir, tmp_path):
    _check_flood(run_flood(spaces_dir, tmp_path, 64, 6), "flood-64x6s", p99_ms=3000)


@pytest.mark.slow
def test_a_60_second_flood_from_64_clients(spaces_dir, tmp_path):
    _check_flood(run_flood(spaces_dir, tmp_path, 64, 60), "flood-64x60s", p99_ms=2000)
