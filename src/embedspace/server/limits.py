"""Limits that hold under abuse: per-caller request rate and requests in flight, and a
bounded lane for expensive work, each refused with 429 and ``Retry-After``.

A caller is a key (its id), or the client's address when the server has no keys. Why
two kinds of limit: a rate bucket stops a caller sending too often, a concurrency cap
stops one holding many slow requests open at once. Why a lane: requests differ in cost
by a hundredfold (a re-ranked search runs a cross-encoder over 50 passages, a plain one
is a dot product), so expensive ones (re-ranking, whole-space analyses, images) run at
most ``heavy_slots`` at a time, at most ``heavy_queue`` wait, and none waits longer than
``queue_timeout``: a flood of them fills the lane and gets 429s while cheap requests keep
their own threads. Work that has started is never cancelled (a write half done is worse
than a slow answer); what bounds its length is the memory ceiling on every request (k,
batch size, text length: schemas.py) and the body limits (security.py).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import RateLimitedError, error_body, send_json
from .keys import Principal

T = TypeVar("T")
#: Where the authentication middleware leaves the caller's Principal in the ASGI scope.
PRINCIPAL = "embedspace.principal"
#: Callers remembered before idle ones are forgotten (bounds memory under a flood of
#: distinct client addresses).
_MAX_CALLERS = 10_000


def _default_heavy_slots() -> int:
    """All cores but one: a core stays free for cheap requests."""
    return max(1, (os.cpu_count() or 2) - 1)


@dataclass(frozen=True)
class Limits:
    """What one caller, and all heavy work together, may have. ``rate=0`` turns the rate
    limit off (a trusted benchmark); the other limits always apply."""

    rate: float = 100.0  # requests per second, sustained, per caller
    burst: int = 200  # requests a caller may send at once after being idle
    concurrent: int = 16  # requests in flight per caller
    heavy_slots: int = _default_heavy_slots()
    heavy_queue: int = 16  # heavy requests waiting for a slot, all callers
    queue_timeout: float = 30.0  # seconds a heavy request may wait for its slot
    body_timeout: float = 30.0  # seconds to receive a request body whole
    auth_failures: float = 5.0  # wrong keys per second per client address


class TokenBucket:
    """``rate`` tokens a second up to ``burst``; each request takes one."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = float(burst), time.monotonic()

    def take(self) -> float:
        """0 if a token was taken, else the seconds until one is there."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate

    def idle(self) -> bool:
        return self.tokens + (time.monotonic() - self.stamp) * self.rate >= self.burst


class Buckets:
    """One TokenBucket per caller, forgetting idle callers when there are too many."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def take(self, caller: str) -> float:
        with self._lock:
            bucket = self._buckets.get(caller)
            if bucket is None:
                if len(self._buckets) >= _MAX_CALLERS:
                    self._buckets = {k: b for k, b in self._buckets.items() if not b.idle()}
                bucket = self._buckets[caller] = TokenBucket(self.rate, self.burst)
            return bucket.take()


def caller_of(scope: Scope) -> str:
    """The key's id, or the client address on a server without keys."""
    principal: Principal | None = scope.get(PRINCIPAL)
    if principal is not None:
        return f"key:{principal.id}"
    client = scope.get("client")
    return f"addr:{client[0] if client else 'unknown'}"


def retry_after(seconds: float) -> list[tuple[bytes, bytes]]:
    return [(b"retry-after", str(max(1, math.ceil(seconds))).encode())]


class CallerLimits:
    """ASGI middleware (inside authentication): each caller's rate and requests in flight."""

    def __init__(self, app: ASGIApp, limits: Limits, public: Callable[[str], bool]) -> None:
        self.app, self.limits, self.public = app, limits, public
        self._buckets = Buckets(limits.rate, limits.burst) if limits.rate > 0 else None
        self._in_flight: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.public(scope["path"]):
            return await self.app(scope, receive, send)
        caller = caller_of(scope)
        wait = self._buckets.take(caller) if self._buckets is not None else 0.0
        if wait:
            return await self._refuse(
                send, wait, f"over this caller's limit of {self.limits.rate:g} requests/s"
            )
        if self._in_flight.get(caller, 0) >= self.limits.concurrent:
            return await self._refuse(
                send,
                1,
                f"this caller already has {self.limits.concurrent} requests in flight",
            )
        # The event loop is one thread: the counter needs no lock.
        self._in_flight[caller] = self._in_flight.get(caller, 0) + 1
        try:
            await self.app(scope, receive, send)
        finally:
            left = self._in_flight[caller] - 1
            if left:
                self._in_flight[caller] = left
            else:
                del self._in_flight[caller]

    @staticmethod
    async def _refuse(send: Send, wait: float, why: str) -> None:
        body = error_body(f"{why}; retry after the Retry-After header", code="rate_limited")
        await send_json(send, 429, body, retry_after(wait))


class HeavyLane:
    """At most ``heavy_slots`` expensive requests at once; at most ``heavy_queue`` wait."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._slots = anyio.Semaphore(limits.heavy_slots)
        self._waiting = 0

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._slots.value == 0 and self._waiting >= self.limits.heavy_queue:
            raise RateLimitedError(
                f"the server is busy with expensive requests ({self.limits.heavy_queue} "
                "waiting); retry later, or leave out rerank",
                retry_after=2,
            )
        self._waiting += 1
        try:
            with anyio.fail_after(self.limits.queue_timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise RateLimitedError(
                f"no slot for an expensive request within {self.limits.queue_timeout:g} s",
                retry_after=self.limits.queue_timeout,
            ) from None
        finally:
            self._waiting -= 1
        try:
            return await run_in_threadpool(fn, *args, **kwargs)
        finally:
            self._slots.release()


async def work(
    request: Request, fn: Callable[..., T], *args: Any, heavy: bool = False, **kwargs: Any
) -> T:
    """Run blocking ``fn`` in a worker thread, through the heavy lane if ``heavy``."""
    if heavy:
        return await request.app.state.heavy.run(fn, *args, **kwargs)
    return await run_in_threadpool(fn, *args, **kwargs)
