"""Dense search over chunk vectors, reported per item.

A document split into chunks scores as its best chunk (max-sim), and the hit carries that
chunk's span, so long documents are neither truncated nor diluted by averaging.
"""

from __future__ import annotations

import numpy as np

from ..index.exact import ExactIndex
from ..store.base import VectorSnapshot


class DenseSearcher:
    """Per-item dense scores from an exact index over chunks grouped by item."""

    def __init__(self, snapshot: VectorSnapshot, metric: str) -> None:
        order = np.argsort(snapshot.item_rowids, kind="stable")
        self.chunk_item = snapshot.item_rowids[order]
        self.starts, self.ends = snapshot.starts[order], snapshot.ends[order]
        self.item_rowids, self.segments = np.unique(self.chunk_item, return_index=True)
        dim = snapshot.vectors.shape[1] if snapshot.vectors.size else 1
        self.index = ExactIndex(dim, metric)  # type: ignore[arg-type]
        if len(order):
            self.index.add(np.arange(len(order)), snapshot.vectors[order])
        self.chunk_counts = np.diff(np.append(self.segments, len(order)))

    @property
    def matrix(self) -> np.ndarray:
        return self.index._matrix

    def item_scores(self, query_vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Best chunk score per item, and the chunk chosen, aligned with ``item_rowids``."""
        if len(self.item_rowids) == 0:
            return np.empty(0, dtype=np.float32), np.empty(0, dtype=np.int64)
        chunk_scores = self.index.scores(query_vector)[0]
        best = np.maximum.reduceat(chunk_scores, self.segments)
        if (self.chunk_counts == 1).all():
            return best, self.segments.copy()
        is_best = chunk_scores == np.repeat(best, self.chunk_counts)
        # first chunk (lowest position) that reaches the max within each segment
        positions = np.flatnonzero(is_best)
        seg_of = np.searchsorted(self.segments, positions, side="right") - 1
        first = np.full(len(best), -1, dtype=np.int64)
        first[seg_of[::-1]] = positions[::-1]
        return best, first

    def span(self, chunk_position: int, item_position: int) -> tuple[int, int] | None:
        """Character span of a chunk, or None if its item has a single chunk."""
        if self.chunk_counts[item_position] == 1:
            return None
        return int(self.starts[chunk_position]), int(self.ends[chunk_position])
