"""Errors as clients see them: one OpenAI-shaped body for every route.

``{"error": {"message", "type", "param", "code"}}`` is what OpenAI returns, so the official
client raises its usual exceptions (BadRequestError, AuthenticationError...). Deliberate
errors keep their message, with the space's folder replaced by its name; anything else
becomes a generic 500 - its traceback goes to the server log, never to the client.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Send

from ..errors import (
    BackupError,
    EmbedspaceError,
    ItemNotFoundError,
    MissingDependencyError,
    ModelNotFoundError,
    SpaceExistsError,
    SpaceLockedError,
    UnknownWordError,
)

log = logging.getLogger(__name__)


class ApiError(EmbedspaceError):
    """A request the server refuses, with the HTTP status and OpenAI error fields to use."""

    def __init__(
        self,
        message: str,
        status: int = 400,
        *,
        param: str | None = None,
        code: str | None = None,
        type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status, self.param, self.code, self.type = status, param, code, type


class RequestTooLargeError(ApiError):
    """A body or a batch over the server's limits (413)."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message, 413, param=param, code="request_too_large")


class RateLimitedError(ApiError):
    """A caller or the server over a limit (429, with the seconds to wait)."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, 429, code="rate_limited")
        self.retry_after = retry_after


#: Library errors whose meaning is "not found" or "try later" rather than "bad request".
_STATUS = (
    (ItemNotFoundError, 404),
    (UnknownWordError, 404),
    (ModelNotFoundError, 404),
    (SpaceLockedError, 503),
    (MissingDependencyError, 501),
    (SpaceExistsError, 409),
    (BackupError, 500),
)


def error_body(
    message: str,
    type: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


async def send_json(
    send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """Answer from ASGI middleware (before any route runs) with a JSON body. The
    connection is closed after it: the request's body was not read, so the connection
    cannot carry another request, and saying so keeps clients from reusing it."""
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def install_error_handlers(app: FastAPI, hidden: dict[str, str]) -> None:
    """Map every exception to an OpenAI-shaped body; ``hidden`` maps each served
    location (and the folders around them) to what clients see instead."""
    replacements = sorted(hidden.items(), key=lambda pair: len(pair[0]), reverse=True)

    def scrub(message: str) -> str:
        for path, shown in replacements:
            message = message.replace(path, shown)
        return message

    @app.exception_handler(EmbedspaceError)
    async def library_error(request: Request, exc: EmbedspaceError) -> JSONResponse:
        if isinstance(exc, ApiError):
            status, param, code, kind = exc.status, exc.param, exc.code, exc.type
        else:
            status = next((s for cls, s in _STATUS if isinstance(exc, cls)), 400)
            param, code = None, type(exc).__name__
            kind = "server_error" if status >= 500 else "invalid_request_error"
        headers = None
        if isinstance(exc, RateLimitedError):
            headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
        body = error_body(scrub(str(exc)), kind, param, code)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{where}: {first.get('msg', 'invalid request')}" if where else "invalid request"
        return JSONResponse(error_body(message, param=where or None), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            error_body(str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error serving %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body("internal server error; see the server log", "server_error"),
            status_code=500,
        )
