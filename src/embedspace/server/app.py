"""The app factory and ``serve``: one Space behind an HTTP API and the web explorer.

``create_app`` wires the pieces (service, routes, error bodies, limits, auth, static
page); ``serve`` checks the bind address and runs it under uvicorn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from .. import __version__
from . import openai_api, space_api, words_api
from .errors import install_error_handlers
from .security import BearerAuth, BodySizeLimit, check_bind_host
from .service import SpaceService

STATIC = Path(__file__).parent / "static"
#: Default request body limit: ~2,000 short texts of JSON, far below what hurts the server.
MAX_BODY_BYTES = 4 * 1024 * 1024
#: Default most texts/items/ids per request.
MAX_BATCH = 256


def create_app(
    space_path: str | Path,
    api_key: str | None = None,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_batch: int = MAX_BATCH,
) -> FastAPI:
    """An app serving the existing space at ``space_path``.

    With ``api_key``, every route except ``/health`` and the explorer's static files needs
    ``Authorization: Bearer <api_key>``. No CORS headers are sent: browsers only let the
    explorer's own origin call the API.
    """
    service = SpaceService(space_path, max_batch=max_batch)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(service.close)

    app = FastAPI(
        title="embedspace",
        version=__version__,
        description="A vector space over HTTP: OpenAI-compatible embeddings, search, items.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI loads from a CDN; the spec is at /openapi.json
        redoc_url=None,
    )
    app.state.service = service
    install_error_handlers(app, Path(space_path))
    for router in (openai_api.router, space_api.router, words_api.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def explorer() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    # Added last = outermost: the body limit and the key are checked before anything else.
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    if api_key:
        app.add_middleware(BearerAuth, api_key=api_key)
    return app


def serve(
    space_path: str | Path,
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    api_key: str | None = None,
    allow_remote: bool = False,
    log_level: str = "info",
) -> None:
    """Run the app under uvicorn until interrupted (blocking)."""
    import uvicorn

    check_bind_host(host, allow_remote)
    app = create_app(space_path, api_key)
    uvicorn.run(app, host=host, port=port, log_level=log_level, server_header=False)
