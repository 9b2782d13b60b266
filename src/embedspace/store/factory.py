"""Choose a backend by location: a folder, ``postgresql://...`` or ``milvus://...``.

Users outgrow one machine by changing a URI, not their code. The facade asks this module
for a ``Backend`` and never imports a backend's library: remote drivers (psycopg,
pymilvus) are imported here, lazily, only when their scheme is used, so the embedded
default needs none of them. A remote backend brings its own vector index and searches
in place: the backend hands back its search primitives (``store.base.SearchPrimitives``),
which the search layer composes; the local search view still works over it for
operations that need every vector at hand (analysis, maps), pulling them once and then
only what changed. This module never imports the search layer above it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, NotSupportedError
from .base import SearchPrimitives, Store

#: URI scheme -> backend name (docs/scale.md has the capability table per backend).
SCHEMES = {"postgresql": "postgres", "postgres": "postgres", "milvus": "milvus"}
#: ``index=`` values a remote backend accepts: its own HNSW index, tuned by these keywords.
REMOTE_INDEXES = ("auto", "hnsw")
REMOTE_INDEX_PARAMS = ("M", "ef_construction", "ef_search")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


@dataclass
class Backend:
    """What a Space is built on."""

    store: Store
    #: the folder path or the URI (password hidden), for messages and ``Space.location``
    location: str
    #: the space folder (index files, thumbnails); None for a remote backend
    folder: Path | None
    #: the backend's own search primitives, or None to search in the local view
    native: SearchPrimitives | None
    #: the local view's index kind ("exact" over a remote backend: it is a fallback)
    view_index: str
    #: how another process opens the same space (absolute folder, or the full URI)
    reopen: str

    def require_folder(self, refusal: str) -> Path:
        """The space folder, for what only an embedded space keeps (thumbnails, index
        files); a remote backend raises NotSupportedError with ``refusal`` (``{location}``
        in it is filled in)."""
        if self.folder is None:
            raise NotSupportedError(refusal.format(location=self.location))
        return self.folder


def backend_name(location: str | Path) -> str:
    """ "sqlite" for a folder, else the backend named by the URI's scheme."""
    match = _SCHEME.match(str(location)) if isinstance(location, str) else None
    if match is None:
        return "sqlite"
    scheme = match.group(1).lower()
    if scheme not in SCHEMES:
        raise InvalidInputError(
            f"unknown space URI scheme {scheme!r}; use a folder path, postgresql://... or "
            "milvus://..."
        )
    return SCHEMES[scheme]


def open_backend(
    location: str | Path, *, create: bool, index: str, index_params: dict[str, Any]
) -> Backend:
    """The store at ``location`` (created if ``create``), with what a Space needs to know
    about it."""
    name = backend_name(location)
    if name == "sqlite":
        from .sqlite import SqliteStore

        folder = Path(location)
        local = SqliteStore(folder, create=create)
        return Backend(local, str(folder), folder, None, index, str(folder.resolve()))
    _check_remote_index(name, index, index_params)
    build = {k: v for k, v in index_params.items() if k != "ef_search"}
    store: Store
    search: SearchPrimitives
    if name == "postgres":
        from .postgres import PostgresStore
        from .postgres_search import PostgresSearch

        postgres = PostgresStore(str(location), create=create, **build)
        store, search = postgres, PostgresSearch(postgres, index_params.get("ef_search"))
    else:
        from .milvus import MilvusStore
        from .milvus_search import MilvusSearch

        milvus = MilvusStore(str(location), create=create, **build)
        store, search = milvus, MilvusSearch(milvus, index_params.get("ef_search"))
    return Backend(store, store.location, None, search, "exact", str(location))


def _check_remote_index(name: str, index: str, index_params: dict[str, Any]) -> None:
    if index not in REMOTE_INDEXES:
        raise NotSupportedError(
            f"index={index!r} is not supported by the {name} backend: it searches with its "
            f"own HNSW index (index='auto' or 'hnsw', tuned by {REMOTE_INDEX_PARAMS})"
        )
    unknown = sorted(set(index_params) - set(REMOTE_INDEX_PARAMS))
    if unknown:
        raise NotSupportedError(
            f"index parameters {unknown} are not supported by the {name} backend; "
            f"it takes {REMOTE_INDEX_PARAMS}"
        )
