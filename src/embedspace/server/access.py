"""Which space a request is about, what its key may do there, and the audit log.

The space routes are one router mounted twice (app.py): at the root for ``serve SPACE``
(``default_space``) and under ``/spaces/{name}`` (``named_space``); either mount puts
the space's name in the ASGI scope before any route code runs. Each route then states
the scope it needs (``READ``, ``WRITE``, ``ADMIN``: read < write < admin); a valid key
without it gets 403 - the key is fine, the action is not (401 is for bad keys). The
space is looked up only after that check, so a key learns nothing about spaces it may
not use beyond a name's syntax.

Every write and admin call is logged to the ``embedspace.audit`` logger as one JSON line
- who (key id and label), what (method, path, space, status), when - whether allowed or
refused. Bodies are never logged, so no text or metadata reaches the log.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import Depends, Request, Security
from fastapi import Path as PathParam
from fastapi.security import HTTPBearer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ApiError
from .keys import Principal
from .limits import PRINCIPAL
from .registry import check_name
from .service import SpaceService

#: ASGI scope keys: the space a request is about, and the scope it needed (audited).
SPACE = "embedspace.space"
AUDIT = "embedspace.audit"
audit_log = logging.getLogger("embedspace.audit")


def default_space(request: Request) -> None:
    """The root mount: the one space of ``serve SPACE``."""
    request.scope[SPACE] = request.app.state.registry.default


def named_space(
    request: Request,
    name: str = PathParam(description="The space's name, as GET /spaces lists it."),
) -> None:
    """The ``/spaces/{name}`` mount: a name with ``..``, ``/`` or NUL is a 400 here."""
    request.scope[SPACE] = check_name(name)


def service_of(request: Request) -> SpaceService:
    """The request's space (404 if none has that name); call it after the scope check."""
    return request.app.state.registry.get(request.scope[SPACE])


def principal_of(request: Request) -> Principal | None:
    """The caller's key; None when the server runs without keys."""
    return request.scope.get(PRINCIPAL)


#: Declared so the OpenAPI spec shows every route's scope: ``security: [{"bearer":
#: ["write"]}]`` (authentication itself is done by security.BearerAuth, before routing).
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="A key from `embedspace keys add` (or --api-key-env); each operation "
    "lists the scope it needs: read < write < admin.",
)


def needs(scope: str) -> Any:
    """A dependency refusing (403) a key whose scope does not cover ``scope`` on the
    request's space (any space, for routes of none, such as /v1/embeddings)."""

    def check(request: Request, _: object = Depends(bearer)) -> None:
        require(request, scope, request.scope.get(SPACE))

    return Security(check, scopes=[scope])


def require(request: Request, scope: str, space: str | None) -> None:
    """403 unless the caller's key covers ``scope`` on ``space``; writes and admin calls
    are marked for the audit log, refused ones included."""
    if scope != "read":
        request.scope[AUDIT] = scope
        if space is not None:  # e.g. the name of a space being created, for the log
            request.scope[SPACE] = space
    principal = principal_of(request)
    if principal is None or principal.allows(scope, space):
        return
    where = f" on space {space!r}" if space else ""
    limited = f" limited to {sorted(principal.spaces)}" if principal.spaces else ""
    raise ApiError(
        f"key {principal.id} has scope {principal.scope!r}{limited}; "
        f"{request.method} {request.url.path} needs {scope!r}{where}",
        403,
        code="insufficient_scope",
    )


READ, WRITE, ADMIN = needs("read"), needs("write"), needs("admin")


class AuditLog:
    """ASGI middleware (inside authentication): one log line per write or admin call."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        status = 500

        async def watching_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        finally:
            if AUDIT in scope:
                _record(scope, status)


def _record(scope: Scope, status: int) -> None:
    principal: Principal | None = scope.get(PRINCIPAL)
    client = scope.get("client")
    entry = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "key": principal.id if principal else None,
        "label": principal.label if principal else None,
        "needs": scope[AUDIT],
        "method": scope["method"],
        "path": scope["path"][:300],
        "space": scope.get(SPACE),
        "status": status,
        "client": client[0] if client else None,
    }
    audit_log.info(json.dumps(entry))
