"""Dense search over chunk vectors, reported per item.

A document split into chunks scores as its best chunk (max-sim) and the hit carries that
chunk's span. Candidates come from the vector index (exact or ANN); those of an index with
approximate scores (IVF-PQ, int8, binary) are re-scored exactly from the chunk table,
so approximate distances never reach the user and scores mean the same whatever the
index. Exact and HNSW/IVF-Flat scores are already exact float32 products over the same
prepared vectors, so their candidates skip that (column-major) gather.
"""

from __future__ import annotations

import numpy as np

from ..index.base import VectorIndex, prepare_vectors
from ..index.exact import similarity_of_rows
from .chunks import ChunkTable

#: Candidates fetched per wanted result from an index with approximate scores (IVF-PQ).
REFINE_FACTOR = 10
#: A filter that leaves at most this many chunks is searched exactly over the subset:
#: cheaper than an ANN walk that must skip almost everything it visits.
EXACT_FILTER_LIMIT = 20_000


class DenseSearcher:
    """Top items for a query vector through a VectorIndex over a ChunkTable."""

    def __init__(self, table: ChunkTable, index: VectorIndex) -> None:
        self.table, self.index = table, index

    def top_items(
        self, query: np.ndarray, k: int, allowed_items: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(item positions, scores, best chunk rows), best first, at most k items."""
        table = self.table
        query = prepare_vectors(query, table.dim, table.metric)
        chunk_mask = None if allowed_items is None else allowed_items[table.item_of_chunk]
        n_allowed = len(table) if chunk_mask is None else int(chunk_mask.sum())
        if n_allowed == 0 or k <= 0:
            return _empty()
        if chunk_mask is not None and n_allowed <= EXACT_FILTER_LIMIT:
            rows = np.flatnonzero(chunk_mask)
            return self._best_per_item(
                rows, similarity_of_rows(query, table.matrix, rows, table.metric)[0], k
            )
        allowed_labels = None if chunk_mask is None else table.chunk_ids[chunk_mask]
        approximate = getattr(self.index, "approximate_scores", False)
        want = min(n_allowed, max((REFINE_FACTOR if approximate else 4) * k, k + 16))
        while True:
            labels, scores = self.index.search(query, want, allowed_labels)
            found_any = labels[0] >= 0
            labels, scores = labels[0][found_any], scores[0][found_any]
            rows = table.rows_of_labels(labels)
            if approximate:
                scores = similarity_of_rows(query, table.matrix, rows, table.metric)[0]
            found = self._best_per_item(rows, scores, k)
            if len(found[0]) >= k or want >= n_allowed or len(labels) < want:
                return found
            want = min(n_allowed, want * 4)

    def scores_for_items(
        self, query: np.ndarray, item_positions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact best-chunk score (and row) of each given item, in the given order."""
        table = self.table
        query = prepare_vectors(query, table.dim, table.metric)
        rows = table.rows_of_items(item_positions)
        scores = similarity_of_rows(query, table.matrix, rows, table.metric)[0]
        best = np.full(len(table.items), -np.inf, dtype=np.float32)
        np.maximum.at(best, table.item_of_chunk[rows], scores)
        best_rows = np.full(len(table.items), -1, dtype=np.int64)
        is_best = scores >= best[table.item_of_chunk[rows]]
        best_rows[table.item_of_chunk[rows][is_best][::-1]] = rows[is_best][::-1]
        return best[item_positions], best_rows[item_positions]

    def _best_per_item(
        self, rows: np.ndarray, scores: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(items, scores, chunk rows) of the ``k`` best items, each by its best chunk."""
        order = np.argsort(-scores, kind="stable")
        rows, scores = rows[order], scores[order]
        items = self.table.item_of_chunk[rows]
        _, first = np.unique(items, return_index=True)  # first occurrence = best chunk
        first = np.sort(first)[:k]
        return items[first], scores[first], rows[first]


def _empty() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    empty = np.empty(0, dtype=np.int64)
    return empty, np.empty(0, dtype=np.float32), empty
