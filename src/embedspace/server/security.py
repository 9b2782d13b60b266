"""Who may connect, who they are, and how much they may send.

Loopback by default: a server on another interface needs an explicit ``allow_remote``.
With keys (a key file, or one key from ``--api-key-env``) every data route needs
``Authorization: Bearer <key>``, compared in constant time; what a valid key may do is
checked per route (access.py). The health check and the explorer's static shell stay
open because they hold no data. Bodies over the limit are refused with 413 before they
are read whole, and bodies that trickle in with 408.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import re
import socket
import time
from typing import Protocol

from fastapi.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import InvalidInputError
from .errors import error_body, send_json
from .keys import Principal
from .limits import PRINCIPAL, Buckets, caller_of, retry_after

#: Paths served without a key: liveness, and the explorer's page and assets (no data).
PUBLIC_PATHS = frozenset({"/health", "/", "/tour", "/favicon.ico"})
PUBLIC_PREFIXES = ("/static/",)
#: The explorer's page of one space (the same static shell, no data).
_SPACE_PAGE = re.compile(r"^/spaces/[^/]+/$")


def is_loopback(host: str) -> bool:
    """True if every address ``host`` resolves to is a loopback address."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def check_bind_host(host: str, allow_remote: bool) -> None:
    """Refuse to listen beyond this machine unless the caller said so explicitly."""
    if not allow_remote and not is_loopback(host):
        raise InvalidInputError(
            f"refusing to listen on {host!r}: other machines could reach the space. "
            "Use 127.0.0.1, or pass --allow-remote (and set an API key with --api-key-env)"
        )


class Authenticator(Protocol):
    """Turns a presented key into a Principal: ``known`` must be cheap (it runs on the
    event loop), ``verify`` may be slow (it runs in a worker thread)."""

    def known(self, token: str) -> Principal | None: ...

    def verify(self, token: str) -> Principal | None: ...


class StaticKey:
    """The one key of ``--api-key-env``: admin on every space, compared in constant time."""

    PRINCIPAL = Principal("env", "admin")

    def __init__(self, api_key: str) -> None:
        self._expected = api_key.encode()

    def known(self, token: str) -> Principal | None:
        return self.PRINCIPAL if hmac.compare_digest(token.encode(), self._expected) else None

    verify = known


def is_public(path: str) -> bool:
    return (
        path in PUBLIC_PATHS
        or path.startswith(PUBLIC_PREFIXES)
        or _SPACE_PAGE.match(path) is not None
    )


class BearerAuth:
    """ASGI middleware: every non-public path needs a valid bearer key (401 otherwise);
    the caller's Principal is left in the scope for scope checks and limits. Wrong keys
    count against the client address (429 past ``failures_per_second``), so guessing
    cannot turn the slow hash check into a way of burning the server's CPU."""

    def __init__(
        self, app: ASGIApp, authenticator: Authenticator, failures_per_second: float
    ) -> None:
        self.app, self.authenticator = app, authenticator
        self._failures = Buckets(failures_per_second, max(1, int(4 * failures_per_second)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope["path"]):
            return await self.app(scope, receive, send)
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = header.partition(" ")
        principal = None
        if scheme.lower() == "bearer" and token:
            principal = self.authenticator.known(token)
            if principal is None:
                principal = await run_in_threadpool(self.authenticator.verify, token)
        if principal is not None:
            scope[PRINCIPAL] = principal
            return await self.app(scope, receive, send)
        wait = self._failures.take(caller_of(scope))
        if wait:
            body = error_body("too many wrong API keys from this address", code="rate_limited")
            return await send_json(send, 429, body, retry_after(wait))
        await send_json(
            send,
            401,
            error_body(
                "missing, incorrect or revoked API key: send 'Authorization: Bearer <key>'",
                code="invalid_api_key",
            ),
            [(b"www-authenticate", b"Bearer")],
        )


class BodyLimits:
    """ASGI middleware: 413 for a declared or streamed body over ``max_bytes``, 408 for
    one that has not arrived whole within ``timeout`` seconds (a client trickling its
    body would otherwise hold a connection and its caller's slot for as long as it
    likes)."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float) -> None:
        self.app, self.max_bytes, self.timeout = app, max_bytes, timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await self._too_large(send)
        deadline = time.monotonic() + self.timeout
        seen, started, refused, whole = 0, False, False, False

        async def limited_receive() -> Message:
            # Answer the moment the body breaks a limit; whatever the app makes of the
            # interrupted body afterwards is dropped by tracking_send.
            nonlocal seen, refused, whole
            if whole:  # later receives only wait for a disconnect: no deadline
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                refused = True
                if not started:
                    await self._too_slow(send)
                raise _Refused from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                whole = not message.get("more_body", False)
                if seen > self.max_bytes and not refused:
                    refused = True
                    if not started:
                        await self._too_large(send)
                    raise _Refused
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _Refused:
            pass

    async def _too_large(self, send: Send) -> None:
        await send_json(
            send,
            413,
            error_body(
                f"request body over the server's limit of {self.max_bytes:,} bytes; "
                "send smaller batches",
                code="request_too_large",
            ),
        )

    async def _too_slow(self, send: Send) -> None:
        await send_json(
            send,
            408,
            error_body(
                f"the request body did not arrive within {self.timeout:g} s",
                code="request_timeout",
            ),
        )


class _Refused(Exception):
    """A body broke a limit (internal to BodyLimits)."""
