"""HTTP layer: a FastAPI app over one space or several (OpenAI-compatible embeddings,
search, items, backups, the web explorer). Needs the ``server`` extra (fastapi, uvicorn).

``create_app`` and ``serve`` are imported on first use, so ``embedspace keys`` (keys.py:
the standard library only) works without the extra.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "serve"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
