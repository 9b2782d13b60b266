"""The app factory and ``serve``: one space, a folder of spaces or a TOML list of them
behind an HTTP API and the web explorer.

``create_app`` wires the pieces (registry of spaces, routes, error bodies, keys, limits,
audit log, static page); ``serve`` checks the bind address and runs it under uvicorn.
The space routes are one router mounted twice: at the root when one space is served
(``/search``), and under ``/spaces/{name}`` always (``/spaces/shop/search``).
"""

from __future__ import annotations

import ctypes
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from .. import __version__
from ..errors import InvalidInputError
from . import backups_api, openai_api, space_api, spaces_api, stats_api, tour_api, words_api
from .access import AuditLog, audit_log, default_space, named_space
from .errors import install_error_handlers
from .keys import KeyRing
from .limits import CallerLimits, HeavyLane, Limits
from .registry import SpaceRegistry
from .security import Authenticator, BearerAuth, BodyLimits, StaticKey, check_bind_host, is_public

STATIC = Path(__file__).parent / "static"
#: Default request body limit: ~2,000 short texts of JSON, far below what hurts the server.
MAX_BODY_BYTES = 4 * 1024 * 1024
#: Default most texts/items/ids per request.
MAX_BATCH = 256
#: glibc's mallopt parameter number for the arena cap (malloc.h: M_ARENA_MAX).
_M_ARENA_MAX = -8
#: Routers about one space: mounted at the root (one space) and under /spaces/{name}.
SPACE_ROUTERS = (space_api.router, backups_api.router)


def create_app(
    target: str | Path,
    api_key: str | None = None,
    *,
    keys: str | Path | None = None,
    limits: Limits | None = None,
    backups: str | Path | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_batch: int = MAX_BATCH,
) -> FastAPI:
    """An app serving ``target``: a space (folder or URI), a folder of spaces, or a TOML
    config listing them (registry.py).

    With ``keys`` (a key file, see keys.py) or ``api_key`` (one admin key), every route
    except ``/health`` and the explorer's static files needs ``Authorization: Bearer``;
    each route then checks the key's scope. No CORS headers are sent: browsers only let
    the explorer's own origin call the API.
    """
    if keys and api_key:
        raise InvalidInputError("give a key file (--keys) or one key (--api-key-env), not both")
    authenticator: Authenticator | None = (
        KeyRing(keys) if keys else StaticKey(api_key) if api_key else None
    )
    limits = limits or Limits()
    registry = SpaceRegistry(target, max_batch=max_batch, backups=backups)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(registry.close)

    app = FastAPI(
        title="embedspace",
        version=__version__,
        description="Vector spaces over HTTP: OpenAI-compatible embeddings, search, items.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI loads from a CDN; the spec is at /openapi.json
        redoc_url=None,
    )
    app.state.registry = registry
    app.state.heavy = HeavyLane(limits)
    install_error_handlers(app, _hidden_paths(registry))
    for router in SPACE_ROUTERS:
        if registry.default is not None:
            app.include_router(router, dependencies=[Depends(default_space)])
        app.include_router(router, prefix="/spaces/{name}", dependencies=[Depends(named_space)])
    if registry.default is None:
        app.include_router(spaces_api.liveness)
    for router in (
        spaces_api.router,
        openai_api.router,
        words_api.router,
        tour_api.router,
        stats_api.router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _add_explorer(app, registry)

    # Added last = outermost: body limits, then the key, then the caller's limits and the
    # audit log, then the routes.
    app.add_middleware(AuditLog)
    app.add_middleware(CallerLimits, limits=limits, public=is_public)
    if authenticator is not None:
        app.add_middleware(
            BearerAuth, authenticator=authenticator, failures_per_second=limits.auth_failures
        )
    app.add_middleware(BodyLimits, max_bytes=max_body_bytes, timeout=limits.body_timeout)
    return app


def _add_explorer(app: FastAPI, registry: SpaceRegistry) -> None:
    """The explorer page at ``/`` (one space) and at ``/spaces/{name}/`` (any); the page
    finds its space's routes from its own address."""
    page = STATIC / "index.html"

    @app.get("/", include_in_schema=False)
    async def explorer() -> Response:
        if registry.default is None and registry.names():
            return RedirectResponse(f"/spaces/{registry.names()[0]}/")
        return FileResponse(page)

    @app.get("/spaces/{name}/", include_in_schema=False)
    async def space_explorer(name: str) -> FileResponse:
        return FileResponse(page)

    @app.get("/tour", include_in_schema=False)
    async def tour_page() -> FileResponse:
        return FileResponse(STATIC / "tour.html")


def _hidden_paths(registry: SpaceRegistry) -> dict[str, str]:
    """Locations error messages must not show, and what they show instead: each space's
    folder its folder name, the folder of spaces its name, the backups "backups"."""
    folders = [(s.space.path, s.space.path.name) for s in registry.services() if s.space.path]
    if registry.root is not None:
        folders.append((registry.root, registry.root.name))
    if registry.backups is not None:
        folders.append((registry.backups, "backups"))
    hidden: dict[str, str] = {}
    for folder, shown in folders:
        hidden[str(folder)] = shown
        hidden[str(folder.resolve())] = shown
    return hidden


def cap_malloc_arenas(arenas: int = 2) -> None:
    """Give glibc's allocator at most ``arenas`` arenas (as MALLOC_ARENA_MAX would).

    Why: every worker thread otherwise gets an arena of its own and keeps what it freed;
    under a flood of 64 clients the server's RSS rose from 337 to 706 MB in 30 s and was
    still climbing, while with two arenas it stayed at 330 MB (docs/reliability.md).
    Called before uvicorn starts its threads; a no-op where the C library is not glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_ARENA_MAX, arenas)
    except (OSError, AttributeError):
        pass


def serve(
    target: str | Path,
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    api_key: str | None = None,
    keys: str | Path | None = None,
    limits: Limits | None = None,
    backups: str | Path | None = None,
    audit_file: str | Path | None = None,
    allow_remote: bool = False,
    log_level: str = "info",
) -> None:
    """Run the app under uvicorn until interrupted (blocking). The audit log goes to
    ``audit_file`` (appended) or to stderr."""
    import uvicorn

    check_bind_host(host, allow_remote)
    cap_malloc_arenas()
    app = create_app(target, api_key, keys=keys, limits=limits, backups=backups)
    handler = logging.FileHandler(audit_file) if audit_file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("audit %(message)s"))
    audit_log.addHandler(handler)
    audit_log.setLevel(logging.INFO)
    uvicorn.run(app, host=host, port=port, log_level=log_level, server_header=False)
