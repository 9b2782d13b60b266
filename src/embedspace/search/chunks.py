"""ChunkTable: the in-memory copy of the store's chunk vectors, caught up incrementally.

Chunk ids only grow, so catching up after any process's write costs the new rows, plus
one scan of the live ids when the store says chunks were removed since the last catch-up
(deletions are then found by comparing id sets). The table is also the exact index
(no second copy of the vectors) and the source of exact re-scoring for ANN candidates.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import numpy as np

from ..errors import NotSupportedError
from ..index.base import as_metric, prepare_vectors
from ..store.base import ChunkChanges, NamedVectorStore, Store
from .vector_storage import make_storage

#: Vector bytes read from the store per page while catching up (a few MB: the rows of a
#: page exist twice in memory briefly, as SQLite blobs and as an array).
PAGE_BYTES = 8 * 2**20


#: the table's per-chunk columns, and all of them with the per-item grouping
_CHUNK_COLUMNS = ("chunk_ids", "item_rowids", "starts", "ends")
_COLUMNS = (*_CHUNK_COLUMNS, "items", "item_of_chunk", "chunks_per_item")


class _Column:
    """One int64 column of the table, appended in amortised O(1): a write at 1M chunks
    used to copy seven 8 MB columns (~9 ms) to add one row. Hands out ``[:n]`` views of
    a buffer with a quarter of growth room; views handed out earlier stay valid (appends
    write past them, growth and ``replace`` move to a new buffer)."""

    GROWTH = 1.25

    def __init__(self) -> None:
        self._buffer, self._rows = np.empty(0, dtype=np.int64), 0

    def append(self, values: np.ndarray) -> np.ndarray:
        needed = self._rows + len(values)
        if needed > len(self._buffer):
            grown = np.empty(max(needed, int(len(self._buffer) * self.GROWTH), 1024), np.int64)
            grown[: self._rows] = self._buffer[: self._rows]
            self._buffer = grown
        self._buffer[self._rows : needed] = values
        self._rows = needed
        return self._buffer[:needed]

    def replace(self, values: np.ndarray) -> np.ndarray:
        """Start over from ``values``, a fresh array the column now owns (no copy)."""
        self._buffer = np.ascontiguousarray(values, dtype=np.int64)
        self._rows = len(self._buffer)
        return self._buffer[: self._rows]


class ChunkTable:
    """Chunk ids, their items, spans and (metric-prepared) vectors, sorted by chunk id.

    ``storage`` is "ram" (a numpy matrix) or "mmap" (a memory-mapped file in ``folder``,
    for vectors that do not fit in memory); see search/vector_storage.py.
    """

    def __init__(
        self, dim: int, metric: str, storage: str = "ram", folder: Path | None = None
    ) -> None:
        self.dim, self.metric, self.storage = dim, as_metric(metric), storage
        self._vectors = make_storage(storage, folder, dim)
        empty = np.empty(0, dtype=np.int64)
        self.chunk_ids, self.item_rowids, self.starts, self.ends = empty, empty, empty, empty
        self.matrix = self._vectors.array
        self.items = self.item_of_chunk = self.chunks_per_item = empty
        self._columns = {name: _Column() for name in _COLUMNS}
        #: the store's chunk-deletion count at the last catch-up (None: scan the live ids)
        self._deletions: int | None = None
        self._group()

    def __len__(self) -> int:
        return len(self.chunk_ids)

    @property
    def max_id(self) -> int:
        return int(self.chunk_ids[-1]) if len(self.chunk_ids) else 0

    def catch_up(
        self, store: Store, named: str | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Apply the store's changes; returns (added labels, their vectors, removed labels).
        ``named``: follow that named vector set instead of the main vectors.

        New rows arrive page by page, so the first catch-up of a large space never holds
        more than one page besides the matrix (which, memory-mapped, is on disk)."""
        page_rows = max(256, PAGE_BYTES // (4 * max(self.dim, 1)))
        source = (
            store.vector_pages(self.max_id, page_rows, deletions_seen=self._deletions)
            if named is None
            else _named_pages(store, named, self.dim, self.max_id)
        )
        removed = np.empty(0, dtype=np.int64)
        with source as changes:
            self._deletions = changes.deletions
            if changes.live is not None:
                keep = np.isin(self.chunk_ids, changes.live, assume_unique=True)
                removed = self.chunk_ids[~keep]
            if len(removed):
                for name in _CHUNK_COLUMNS:
                    setattr(self, name, self._columns[name].replace(getattr(self, name)[keep]))
                self.matrix = self._vectors.keep(keep)
            start = len(self.chunk_ids)
            parts: list[tuple[np.ndarray, ...]] = []
            for page in changes.pages:
                if not len(page.chunk_ids):
                    continue
                self.matrix = self._vectors.append(
                    prepare_vectors(page.vectors, self.dim, self.metric)
                )
                parts.append((page.chunk_ids, page.item_rowids, page.starts, page.ends))
        if parts:
            ids, items, starts, ends = (
                np.concatenate(column) for column in zip(*parts, strict=True)
            )
            appended = not len(removed) and self._extend_groups(items)
            for name, values in zip(_CHUNK_COLUMNS, (ids, items, starts, ends), strict=True):
                setattr(self, name, self._columns[name].append(values))
            if not appended:
                self._group()
        elif len(removed):
            self._group()
        return self.chunk_ids[start:], self.matrix[start:], removed

    def _extend_groups(self, new_item_rowids: np.ndarray) -> bool:
        """Add the groups of chunks that belong to items newer than every held one (new
        items get growing rowids), without regrouping the whole table: a write at 1M
        chunks costs its own rows. False (nothing changed) when the rows are not such
        (an upserted item's new chunks): the caller regroups."""
        if not len(new_item_rowids):
            return True
        if len(self.items) and new_item_rowids[0] <= self.items[-1]:
            return False
        if np.any(np.diff(new_item_rowids) < 0):
            return False
        items, inverse, counts = np.unique(new_item_rowids, return_inverse=True,
                                           return_counts=True)  # fmt: skip
        added = {"item_of_chunk": len(self.items) + inverse, "items": items,
                 "chunks_per_item": counts}  # fmt: skip
        for name, values in added.items():
            setattr(self, name, self._columns[name].append(values))
        return True

    def _group(self) -> None:
        """Items (sorted rowids), each chunk's item position, and per-item chunk counts."""
        items, item_of_chunk = np.unique(self.item_rowids, return_inverse=True)
        grouped = {"items": items, "item_of_chunk": item_of_chunk,
                   "chunks_per_item": np.bincount(item_of_chunk, minlength=len(items))}  # fmt: skip
        for name, values in grouped.items():
            setattr(self, name, self._columns[name].replace(values))

    def arrange(self, row_major: bool) -> None:
        """Row-major vectors while an ANN index serves the view, column-major while exact
        search scans them (search/vector_storage.RamVectors says why)."""
        self.matrix = self._vectors.arrange(row_major)

    def rows_of_labels(self, labels: np.ndarray) -> np.ndarray:
        """Row positions of chunk labels (all must be present)."""
        return np.searchsorted(self.chunk_ids, labels)

    def rows_of_items(self, item_positions: np.ndarray) -> np.ndarray:
        """Rows of every chunk of the given items."""
        return np.flatnonzero(np.isin(self.item_of_chunk, item_positions))

    def span(self, row: int) -> tuple[int, int] | None:
        """Character span of a chunk, or None when its item is a single chunk."""
        if self.chunks_per_item[self.item_of_chunk[row]] == 1:
            return None
        return int(self.starts[row]), int(self.ends[row])


def _named_pages(
    store: Store, name: str, dim: int, after: int
) -> AbstractContextManager[ChunkChanges]:
    """A named set's new rows as one page (named sets are read whole, like a remote
    store's main vectors)."""
    if not isinstance(store, NamedVectorStore):
        raise NotSupportedError(f"{store.location} ({store.kind}) keeps no named vectors")

    @contextmanager
    def pages() -> Iterator[ChunkChanges]:
        live, snapshot = store.named_vectors(name, dim, after)
        yield ChunkChanges(live, iter([snapshot]))

    return pages()
