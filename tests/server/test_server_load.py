"""The server under load: concurrent clients mixing embeddings, searches and writes
against a real ``embedspace serve`` process on 127.0.0.1. Zero errors, latency and
throughput recorded, and the server's memory flat once warm (no leak).

The default run is 16 clients for 15 s (after 12 s of warm-up); ``-m slow`` adds 32
clients for 60 s (after 15 s).
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from helpers.figures import record
from helpers.serving import free_port, rss_bytes, wait_healthy

pytest.importorskip("fastapi", reason="the server extra is not installed")

QUERIES = [
    "a gripping thriller with a twist",
    "funny family comedy",
    "slow and boring drama",
    "beautiful animation for children",
    "war film about soldiers",
]


class Client(threading.Thread):
    """One client: a random mix of requests until the deadline; latencies by kind."""

    def __init__(self, url: str, number: int, measure_from: float, stop_at: float) -> None:
        super().__init__(daemon=True)
        self.url, self.number = url, number
        self.measure_from, self.stop_at = measure_from, stop_at
        self.rng = random.Random(number)
        self.latencies: dict[str, list[float]] = {"embed": [], "search": [], "write": []}
        self.errors: list[str] = []
        self._mine: list[str] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=120) as http:
            n = 0
            while time.monotonic() < self.stop_at:
                kind = self.rng.choices(["embed", "search", "write"], [4, 4, 2])[0]
                started = time.perf_counter()
                try:
                    response = getattr(self, kind)(http, n)
                except httpx.HTTPError as exc:
                    self.errors.append(f"{kind}: {type(exc).__name__}: {exc}")
                    continue
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    self.errors.append(f"{kind}: {response.status_code} {response.text[:200]}")
                elif time.monotonic() >= self.measure_from:
                    self.latencies[kind].append(elapsed)
                n += 1

    def embed(self, http: httpx.Client, n: int) -> httpx.Response:
        texts = self.rng.sample(QUERIES, self.rng.randint(1, 3))
        return http.post("/v1/embeddings", json={"model": "default", "input": texts})

    def search(self, http: httpx.Client, n: int) -> httpx.Response:
        mode = self.rng.choice(["dense", "hybrid", "sparse"])
        return http.post("/search", json={"query": self.rng.choice(QUERIES), "k": 5, "mode": mode})

    def write(self, http: httpx.Client, n: int) -> httpx.Response:
        """Add two items, then delete the two before them: the space stays the same size,
        so memory growth would be a leak, not data."""
        ids = [f"load-{self.number}-{n}-{j}" for j in range(2)]
        items = [{"id": i, "text": f"{self.rng.choice(QUERIES)} ({i})"} for i in ids]
        response = http.post("/items", json={"items": items})
        if response.status_code == 200 and len(self._mine) >= 2:
            old, self._mine = self._mine[:2], self._mine[2:]
            response = http.post("/items/delete", json={"ids": old})
        self._mine += ids
        return response


def run_load(space_path: Path, clients: int, seconds: float, warmup: float) -> dict:
    """``warmup`` s of the same load first (caches, keyword index, map, thread pools),
    then ``seconds`` measured: latencies, throughput, and RSS from the end of warm-up
    to the end of the run."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # Trusted clients at full speed: no rate limit (the limits hold under abuse in
    # test_limits.py); the 16 clients stay within the default 16 in flight per address.
    # The audit log (a line per write) goes to a file: stderr is read only if it dies.
    audit = space_path.parent / "audit.log"
    serve = [
        "serve",
        str(space_path),
        "--port",
        str(port),
        "--rate",
        "0",
        "--audit-log",
        str(audit),
    ]
    server = subprocess.Popen(
        [sys.executable, "-m", "embedspace", *serve],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_healthy(url, server)
        started = time.monotonic()
        stop_at = started + warmup + seconds
        threads = [Client(url, i, started + warmup, stop_at) for i in range(clients)]
        for thread in threads:
            thread.start()
        samples: list[tuple[float, int]] = []
        while time.monotonic() < stop_at:
            samples.append((time.monotonic() - started, rss_bytes(server.pid)))
            time.sleep(0.25)
        for thread in threads:
            thread.join(timeout=180)
            assert not thread.is_alive(), "a client hung"
        elapsed = time.monotonic() - started - warmup
        assert server.poll() is None, server.stderr.read() if server.stderr else ""
    finally:
        server.terminate()
        server.wait(timeout=60)
    window = max(1.0, seconds / 8)
    after_warmup = np.median([r for t, r in samples if warmup <= t < warmup + window])
    at_end = np.median([r for t, r in samples if t >= warmup + seconds - window])
    latencies = {
        k: sum((c.latencies[k] for c in threads), []) for k in ("embed", "search", "write")
    }
    every = sum(latencies.values(), [])
    errors = sum((c.errors for c in threads), [])
    return {
        "clients": clients,
        "seconds": seconds,
        "warmup_seconds": warmup,
        "requests": len(every),
        "errors": len(errors),
        "error_examples": errors[:3],
        "throughput_rps": round(len(every) / elapsed, 1),
        "p50_ms": round(1000 * float(np.percentile(every, 50)), 1),
        "p99_ms": round(1000 * float(np.percentile(every, 99)), 1),
        "p50_ms_by_kind": {
            k: round(1000 * float(np.percentile(v, 50)), 1) for k, v in latencies.items() if v
        },
        "p99_ms_by_kind": {
            k: round(1000 * float(np.percentile(v, 99)), 1) for k, v in latencies.items() if v
        },
        "rss_mb_after_warmup": round(after_warmup / 2**20, 1),
        "rss_mb_at_end": round(at_end / 2**20, 1),
        "rss_growth_pct": round(100 * (at_end - after_warmup) / after_warmup, 1),
    }


@pytest.fixture
def load_space(served_space_path, tmp_path):
    copy = tmp_path / "load.space"
    shutil.copytree(served_space_path, copy)
    return copy


def _check(result: dict, name: str) -> None:
    record(name, **result)
    assert result["errors"] == 0, result["error_examples"]
    assert result["requests"] > 0
    assert result["rss_growth_pct"] < 10, result


def test_server_under_load(load_space):
    _check(run_load(load_space, clients=16, seconds=15, warmup=12), "server-load-16x15s")


@pytest.mark.slow
def test_server_under_load_long(load_space):
    _check(run_load(load_space, clients=32, seconds=60, warmup=15), "server-load-32x60s")
