"""Who may connect and how much they may send.

Loopback by default: a server on another interface needs an explicit ``allow_remote``.
With an API key, every data route needs ``Authorization: Bearer <key>`` (compared in
constant time); the health check and the explorer's static shell stay open because they
hold no data. Bodies over the limit are refused with 413 before they are read whole.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import socket
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import InvalidInputError
from .errors import error_body

#: Paths served without a key: liveness, and the explorer's page and assets (no data).
PUBLIC_PATHS = frozenset({"/health", "/", "/favicon.ico"})
PUBLIC_PREFIXES = ("/static/",)


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


async def _send_json(
    send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BearerAuth:
    """ASGI middleware: every non-public path needs the bearer key."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self._expected = f"Bearer {api_key}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._public(scope["path"]):
            return await self.app(scope, receive, send)
        given = dict(scope["headers"]).get(b"authorization", b"")
        if hmac.compare_digest(given, self._expected):
            return await self.app(scope, receive, send)
        await _send_json(
            send,
            401,
            error_body(
                "missing or incorrect API key: send 'Authorization: Bearer <key>'",
                code="invalid_api_key",
            ),
            [(b"www-authenticate", b"Bearer")],
        )

    @staticmethod
    def _public(path: str) -> bool:
        return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class BodySizeLimit:
    """ASGI middleware: 413 for a declared or streamed body over ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await self._refuse(send)
        seen, started, refused = 0, False, False

        async def limited_receive() -> Message:
            # Answer 413 the moment the streamed body crosses the limit; whatever the app
            # makes of the interrupted body afterwards is dropped by tracking_send.
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes and not refused:
                    refused = True
                    if not started:
                        await self._refuse(send)
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            pass

    async def _refuse(self, send: Send) -> None:
        await _send_json(
            send,
            413,
            error_body(
                f"request body over the server's limit of {self.max_bytes:,} bytes; "
                "send smaller batches",
                code="request_too_large",
            ),
        )


class _TooLarge(Exception):
    """A streamed body crossed the limit (internal to BodySizeLimit)."""
