"""ChunkTable: the in-memory copy of the store's chunk vectors, caught up incrementally.

Chunk ids only grow, so catching up after any process's write costs one id scan plus the
new rows; deletions are found by comparing id sets. The table is also the exact index
(no second copy of the vectors) and the source of exact re-scoring for ANN candidates.
"""

from __future__ import annotations

import numpy as np

from ..index.base import prepare_vectors
from ..store.base import Store


class ChunkTable:
    """Chunk ids, their items, spans and (metric-prepared) vectors, sorted by chunk id."""

    def __init__(self, dim: int, metric: str) -> None:
        self.dim, self.metric = dim, metric
        empty = np.empty(0, dtype=np.int64)
        self.chunk_ids, self.item_rowids, self.starts, self.ends = empty, empty, empty, empty
        self.matrix = np.empty((0, dim), dtype=np.float32)
        self._group()

    def __len__(self) -> int:
        return len(self.chunk_ids)

    @property
    def max_id(self) -> int:
        return int(self.chunk_ids[-1]) if len(self.chunk_ids) else 0

    def catch_up(self, store: Store) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Apply the store's changes; returns (added labels, their vectors, removed labels)."""
        live, new = store.vectors(self.max_id)
        keep = np.isin(self.chunk_ids, live, assume_unique=True)
        removed = self.chunk_ids[~keep]
        if len(removed):
            self.chunk_ids, self.item_rowids = self.chunk_ids[keep], self.item_rowids[keep]
            self.starts, self.ends, self.matrix = (
                self.starts[keep],
                self.ends[keep],
                self.matrix[keep],
            )
        vectors = (
            prepare_vectors(new.vectors, self.dim, self.metric)
            if len(new.chunk_ids)
            else new.vectors
        )
        if len(new.chunk_ids):
            self.chunk_ids = np.concatenate([self.chunk_ids, new.chunk_ids])
            self.item_rowids = np.concatenate([self.item_rowids, new.item_rowids])
            self.starts = np.concatenate([self.starts, new.starts])
            self.ends = np.concatenate([self.ends, new.ends])
            self.matrix = np.concatenate([self.matrix, vectors]) if len(self.matrix) else vectors
        if len(removed) or len(new.chunk_ids):
            self._group()
        return new.chunk_ids, vectors, removed

    def _group(self) -> None:
        """Items (sorted rowids), each chunk's item position, and per-item chunk counts."""
        self.items, self.item_of_chunk = np.unique(self.item_rowids, return_inverse=True)
        self.chunks_per_item = np.bincount(self.item_of_chunk, minlength=len(self.items))

    def rows_of_labels(self, labels: np.ndarray) -> np.ndarray:
        """Row positions of chunk labels (all must be present)."""
        return np.searchsorted(self.chunk_ids, labels)

    def rows_of_items(self, item_positions: np.ndarray) -> np.ndarray:
        """Rows of every chunk of the given items."""
        return np.flatnonzero(np.isin(self.item_of_chunk, item_positions))

    def first_row_of_items(self, item_positions: np.ndarray) -> np.ndarray:
        first = np.full(len(self.items), -1, dtype=np.int64)
        first[self.item_of_chunk[::-1]] = np.arange(len(self.item_of_chunk))[::-1]
        return first[item_positions]

    def span(self, row: int) -> tuple[int, int] | None:
        """Character span of a chunk, or None when its item is a single chunk."""
        if self.chunks_per_item[self.item_of_chunk[row]] == 1:
            return None
        return int(self.starts[row]), int(self.ends[row])
