"""The Store protocol and its records.

A store keeps items (id, text, metadata, content hash, where it came from) and their
chunk vectors durably and transactionally. The embedded default is SQLite; remote
backends (Postgres, Milvus: see ``factory.py``) implement the same protocol and pass the
same behavioural tests (tests/store/test_backends.py).

A store with its own vector and keyword indexes also answers the few search primitives
of ``SearchPrimitives``; they are declared here, beside the store, so a backend's search
module never imports the search layer above it (``search/`` composes them into dense,
sparse and hybrid search, and implements the same primitives over the local view).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np

from ..errors import ModelChangedError, NotSupportedError


@dataclass
class ChunkRecord:
    """A window of an item's text and its vector."""

    start: int
    end: int
    vector: np.ndarray


@dataclass
class ItemRecord:
    """One item as stored: what the user gave plus what we derived."""

    id: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    text_hash: str = ""
    source: str | None = None
    chunks: list[ChunkRecord] = field(default_factory=list)
    #: Where the text's pages start and its headings stand (``ingest.layout.Layout`` as
    #: JSON), for items read from documents; None otherwise. Opaque to every store: it is
    #: kept and handed back as given, beside the text it describes.
    layout: dict[str, Any] | None = None
    #: The item's chunks under each named vector of the space besides its main one
    #: (``store/named.py``), by name: each set is chunked by its own model's tokenizer.
    named: dict[str, list[ChunkRecord]] = field(default_factory=dict)


@dataclass
class VectorSnapshot:
    """Every chunk vector with what is needed to map hits back to items."""

    chunk_ids: np.ndarray  # int64 (n,)
    item_rowids: np.ndarray  # int64 (n,)
    starts: np.ndarray  # int64 (n,)
    ends: np.ndarray  # int64 (n,)
    vectors: np.ndarray  # float32 (n, d)


@dataclass
class ChunkChanges:
    """What a search view's catch-up reads from one consistent state of the store."""

    #: every live chunk id (sorted), or None when the store vouches that no chunk was
    #: removed since the caller's ``deletions_seen``: a write at 1M chunks then costs its
    #: new rows, not a scan of every id
    live: np.ndarray | None
    #: the rows with a larger chunk id than the caller's, in pages
    pages: Iterator[VectorSnapshot]
    #: the store's count of chunk deletions in that state, to pass back next time (None:
    #: this store keeps no count, so ``live`` is always the full scan)
    deletions: int | None = None


class Store(Protocol):
    """Durable items + metadata + vectors."""

    #: the backend's name ("sqlite", "postgres", "milvus")
    kind: str
    #: where it lives: a folder path, or a URI with any password hidden
    location: str

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, values: dict[str, str]) -> None: ...

    def generation(self) -> int:
        """A number that changes whenever any process commits a write."""
        ...

    def count(self) -> int: ...

    def hashes(self, ids: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """text hash and metadata of the given ids that exist."""
        ...

    def upsert(self, items: Sequence[ItemRecord], expect_model: str | None = None) -> None:
        """Insert or replace items with their chunks, all in one transaction; with
        ``expect_model``, refused (``model_changed``) unless that is still the space's
        model id, so vectors embedded before a re-embed's swap never land after it."""
        ...

    def update_metadata(self, updates: dict[str, dict[str, Any]]) -> None: ...

    def delete(self, ids: Iterable[str]) -> int: ...

    def get(self, ids: Sequence[str]) -> list[ItemRecord]: ...

    def get_by_rowids(self, rowids: Sequence[int]) -> dict[int, ItemRecord]: ...

    def rowids(self, ids: Sequence[str]) -> list[int]:
        """Internal row numbers of ids, in the same order (ids must exist)."""
        ...

    def ids(self) -> list[str]: ...

    def chunk_count(self) -> int: ...

    def records(self, batch_size: int = 1000) -> Iterator[list[ItemRecord]]:
        """Every item with its chunks, in batches (exports and migrations)."""
        ...

    def vectors(self, after_chunk_id: int = 0) -> tuple[np.ndarray, VectorSnapshot]:
        """All live chunk ids, and full rows of the chunks with a larger id."""
        ...

    def vector_pages(
        self, after_chunk_id: int = 0, page_rows: int = 50_000, deletions_seen: int | None = None
    ) -> AbstractContextManager[ChunkChanges]:
        """The same as :meth:`vectors`, new rows in pages, from one consistent read; the
        live ids are left out when no chunk was deleted since ``deletions_seen``."""
        ...

    def texts(self) -> tuple[np.ndarray, list[str]]:
        """(item rowids, texts) of every item, for keyword scorers."""
        ...

    def filter_rowids(self, where: dict[str, Any]) -> set[int]: ...

    def ids_from_source_prefix(self, prefix: str) -> dict[str, str]:
        """id -> source of items whose source path starts with ``prefix``."""
        ...

    def disk_bytes(self) -> int: ...

    def close(self) -> None: ...


@runtime_checkable
class NamedVectorStore(Protocol):
    """A store that keeps named vector sets beside its main vectors (``store/named.py``).

    ``upsert`` writes each record's ``named`` chunks with the item in its transaction and
    drops the item's rows of every set it does not carry (a changed text invalidates them
    all); deleting an item deletes its rows of every set."""

    def named_ids(self, name: str) -> set[str]:
        """Ids of the items that hold vectors under ``name``."""
        ...

    def put_named(self, name: str, items: Sequence[ItemRecord]) -> int:
        """Write ``item.named[name]`` of each item whose stored text hash is still
        ``item.text_hash`` (one changed meanwhile was embedded by its writer), all in one
        transaction; returns how many items were written."""
        ...

    def named_vectors(
        self, name: str, dim: int, after_chunk_id: int = 0
    ) -> tuple[np.ndarray, VectorSnapshot]:
        """``vectors`` over the set ``name`` (chunk ids of their own, only growing)."""
        ...

    def named_chunk_count(self, name: str) -> int: ...

    def drop_named(self, name: str) -> None:
        """Delete every row of the set ``name``."""
        ...

    def promote_named(self, name: str, keep_old_as: str | None, meta: dict[str, str]) -> bool:
        """Make the set ``name`` the main vectors in one atomic step: the main vectors
        are dropped (or become the set ``keep_old_as``) and ``meta`` is written with them.
        Refused (False, nothing changed) while any item lacks vectors under ``name``."""
        ...

    def job_lock(self, job: str) -> AbstractContextManager[None]:
        """Hold the space's lock for ``job`` (one re-embed at a time) or raise
        SpaceLockedError at once; released when the holder ends, however it ends."""
        ...

    def job_running(self, job: str) -> bool:
        """Whether some process holds the lock for ``job`` now."""
        ...

    def follow_swap(self) -> None:
        """Re-read whatever this object caches about the main vectors, after a re-embed
        by another process swapped them (Milvus: which collection holds them)."""
        ...


class _ReadsVectors(Protocol):
    def vectors(self, after_chunk_id: int = 0) -> tuple[np.ndarray, VectorSnapshot]: ...


class WholeSnapshotPages:
    """``vector_pages`` for stores that read their new rows in one query (Postgres,
    Milvus): one page holding :meth:`vectors`' snapshot. Their catch-up costs the new rows'
    memory at once; paging them would need a server-side cursor per backend."""

    @contextmanager
    def vector_pages(
        self: _ReadsVectors,
        after_chunk_id: int = 0,
        page_rows: int = 50_000,
        deletions_seen: int | None = None,
    ) -> Iterator[ChunkChanges]:
        live, snapshot = self.vectors(after_chunk_id)
        yield ChunkChanges(live, iter([snapshot]))


@dataclass
class Scored:
    """An item (by the store's row id) with a score and, for dense hits on a chunked
    item, the character span of its best chunk."""

    rowid: int
    score: float
    span: tuple[int, int] | None = None


class KeywordBound(NamedTuple):
    """What normalises a query's keyword scores for fusion."""

    #: the best keyword score the query's terms could reach, or None if the backend
    #: cannot tell (the best candidate's score is used instead)
    ceiling: float | None
    #: the share of the query's keyword weight the corpus can match, or None if unknown
    coverage: float | None


class SearchPrimitives(Protocol):
    """The search questions a backend answers; everything else (modes, fusion, hits) is
    composed from them once, in ``search/engine.py``."""

    # Read-only properties, so a class attribute and a computed property both qualify.
    @property
    def index_name(self) -> str:
        """What ``Space.info()["index"]`` reports, e.g. "pgvector-hnsw"."""
        ...

    @property
    def rescore_dense(self) -> bool:
        """True: hybrid fusion takes every candidate's dense score from ``dense_of`` (exact
        per item even where an ANN walk missed an item's best chunk: cheap in memory);
        False: only the candidates ``dense`` did not return (each lookup is a round trip)."""
        ...

    def dense(self, query: np.ndarray, k: int, where: dict[str, Any] | None) -> list[Scored]:
        """The k best items for a (1, d) query vector, best first (best chunk per item)."""
        ...

    def dense_of(self, query: np.ndarray, rowids: Sequence[int]) -> dict[int, Scored]:
        """Exact best-chunk scores of the given items."""
        ...

    def keyword(self, query: str, k: int, where: dict[str, Any] | None, model: str) -> list[Scored]:
        """The k best keyword matches under sparse ``model``, best first (items sharing no
        term with the query never appear)."""
        ...

    def keyword_of(self, query: str, rowids: Sequence[int], model: str) -> dict[int, float]:
        """Keyword scores of the given items (absent = no term in common)."""
        ...

    def keyword_bound(self, query: str, model: str) -> KeywordBound: ...

    def get_by_rowids(self, rowids: Sequence[int]) -> dict[int, ItemRecord]: ...


def model_changed(location: str, expected: str, stored: str | None) -> ModelChangedError:
    return ModelChangedError(
        f"{location} was re-embedded with {stored!r} while this write was embedded with "
        f"{expected!r}; embed it again with the space's current model"
    )


def require_bm25(model: str) -> None:
    """A database's keyword search is its own BM25: refuse any other sparse model."""
    if model != "bm25":
        raise NotSupportedError(
            f"sparse_model={model!r} is not supported by this backend: its keyword "
            "search is its own BM25 (sparse_model='bm25'); see docs/scale.md"
        )
