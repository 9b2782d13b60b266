"""HTTP layer: a FastAPI app over one Space (OpenAI-compatible embeddings, search, items,
the web explorer). Needs the ``server`` extra (fastapi, uvicorn)."""

from .app import create_app, serve

__all__ = ["create_app", "serve"]
