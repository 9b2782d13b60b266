"""A flood of abusive clients against a running server (its own process, so its CPU is
not the server's): ``python tests/helpers/flood.py URL SECONDS CLIENTS KEY...``.

Every client loops until the deadline without ever waiting: mostly re-ranked searches
(the most expensive request there is), some hybrid searches, embeddings and maps, each
with one of the given keys in turn, and it retries a 429 at once instead of honouring
Retry-After. Prints one JSON object: statuses seen, client-side timeouts and errors.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections import Counter

import httpx

QUERIES = [
    "a gripping thriller with a twist",
    "funny family comedy",
    "slow and boring drama",
    "war film about soldiers",
]


def _request(rng: random.Random) -> tuple[str, str, dict | None]:
    kind = rng.choices(["rerank", "hybrid", "embed", "map"], [6, 2, 1, 1])[0]
    query = rng.choice(QUERIES)
    if kind == "rerank":
        return "POST", "/spaces/shop/search", {"query": query, "k": 10, "rerank": True}
    if kind == "hybrid":
        return "POST", "/spaces/shop/search", {"query": query, "k": 10, "mode": "hybrid"}
    if kind == "embed":
        return "POST", "/v1/embeddings", {"model": "default", "input": [query] * 3}
    return "GET", "/spaces/shop/map", None


async def _client(
    http: httpx.AsyncClient, number: int, key: str, stop_at: float, seen: Counter
) -> None:
    rng = random.Random(number)
    headers = {"Authorization": f"Bearer {key}"}
    while time.monotonic() < stop_at:
        method, path, body = _request(rng)
        try:
            response = await http.request(method, path, json=body, headers=headers)
            seen[str(response.status_code)] += 1
        except httpx.TimeoutException:
            seen["timeout"] += 1
        except httpx.HTTPError as exc:
            seen[type(exc).__name__] += 1
            print(f"{method} {path}: {type(exc).__name__}: {exc!r}", file=sys.stderr)


async def flood(url: str, seconds: float, clients: int, keys: list[str]) -> dict:
    seen: Counter = Counter()
    stop_at = time.monotonic() + seconds
    # Idle connections are dropped after 2 s, before the server's keep-alive timeout (5 s)
    # closes them: else a client can reuse one the server is closing at that instant and
    # read an empty answer (a ReadError that is the client's race, not the server's).
    limits = httpx.Limits(
        max_connections=clients, max_keepalive_connections=clients, keepalive_expiry=2
    )
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:
        await asyncio.gather(
            *(_client(http, i, keys[i % len(keys)], stop_at, seen) for i in range(clients))
        )
    return {"clients": clients, "seconds": seconds, "requests": sum(seen.values()), **seen}


if __name__ == "__main__":
    base, duration, count, *given = sys.argv[1:]
    print(json.dumps(asyncio.run(flood(base, float(duration), int(count), given))), flush=True)
