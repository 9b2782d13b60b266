"""One vector per item: what whole-space analyses (duplicates, clusters, outliers) work on.

Search scores a chunked document by its best chunk, but "is this document a duplicate of
that one" or "which topic is it about" is a question about the whole document, so an
item's vector here is the normalised mean of its chunk vectors (a single-chunk item keeps
its own vector).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from ..encoders.base import l2_normalise


@dataclass
class ItemSet:
    """Items in a fixed order with their texts, content hashes and unit vectors."""

    ids: list[str]
    texts: list[str]
    #: Content hash per item, or None where equal hashes do not mean equal content
    #: (a space of your own vectors hashes only the optional text).
    hashes: list[str | None]
    matrix: np.ndarray  # float32 (n, d), unit rows

    def __len__(self) -> int:
        return len(self.ids)


def mean_item_vectors(item_of_chunk: np.ndarray, chunks: np.ndarray, n_items: int) -> np.ndarray:
    """Unit mean of each item's chunk vectors; ``item_of_chunk`` gives each chunk's item."""
    if len(item_of_chunk) == n_items:  # one chunk per item: nothing to average
        order = np.argsort(item_of_chunk, kind="stable")
        return l2_normalise(np.ascontiguousarray(chunks[order], dtype=np.float32))
    rows = np.arange(len(item_of_chunk))
    membership = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (item_of_chunk, rows)), shape=(n_items, len(rows))
    )
    return l2_normalise(np.asarray(membership @ chunks, dtype=np.float32))
