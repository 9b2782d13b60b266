"""The k-nearest-neighbour graph of a set of item vectors, without an n x n matrix.

Duplicates, outliers and density-based questions all start from "who are each item's k
closest items". Exact search does it block by block (a ``block x n`` score matrix at a
time, so memory stays flat and BLAS stays busy); past ``EXACT_LIMIT`` items an HNSW graph
(FAISS) answers instead, either the space's own ANN index when it can be reused, or one
built for the occasion. Scores are always recomputed exactly from the vectors, so an
approximate index only decides *who* the neighbours are, never how close they look.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..index.exact import top_k
from ..index.factory import AUTO_ANN_THRESHOLD, make_index
from ..progress import progress_bar

#: Above this many items the neighbours come from an HNSW graph, not exact products.
EXACT_LIMIT = AUTO_ANN_THRESHOLD
#: Query rows per exact block: 2048 x 100k float32 scores is 800 MB, 512 x 100k is 200 MB.
BLOCK_BYTES = 256 * 2**20

#: ``search(queries, k) -> (positions, scores)``: top-k rows of the same matrix per query
#: (self included, -1 padding allowed). Lets a caller lend an index it already has.
Searcher = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]]


@dataclass
class Neighbours:
    """Each row's k nearest other rows (best first) and their exact cosine similarities.

    Missing neighbours (fewer than k other rows, or an ANN walk that found too few) are
    index -1 with score -inf.
    """

    indices: np.ndarray  # int64 (n, k)
    scores: np.ndarray  # float32 (n, k)

    @property
    def k(self) -> int:
        return self.indices.shape[1]


def knn_graph(
    matrix: np.ndarray,
    k: int,
    *,
    searcher: Searcher | None = None,
    progress: bool = False,
    description: str = "neighbours",
) -> Neighbours:
    """The k nearest neighbours of every row of ``matrix`` (unit rows: cosine), self excluded.

    ``searcher`` is used when given; otherwise exact blocks up to ``EXACT_LIMIT`` rows and a
    temporary HNSW graph above.
    """
    n = len(matrix)
    k = max(0, min(k, n - 1))
    if k == 0:
        empty = np.empty((n, 0))
        return Neighbours(empty.astype(np.int64), empty.astype(np.float32))
    if searcher is None:
        searcher = _exact_searcher(matrix) if n <= EXACT_LIMIT else _hnsw_searcher(matrix)
    block = max(64, min(4096, BLOCK_BYTES // (4 * n)))
    indices = np.full((n, k), -1, dtype=np.int64)
    with progress_bar(n, description, progress and n > 5 * block) as bar:
        for start in range(0, n, block):
            stop = min(n, start + block)
            found, _ = searcher(matrix[start:stop], k + 1)
            indices[start:stop] = _drop_self(found, np.arange(start, stop), k)
            bar.advance(stop - start)
    return Neighbours(indices, _exact_scores(matrix, indices))


def _drop_self(found: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """Remove each row's own position from its result row and keep k (pad -1).

    Exact copies tie with the row itself, so self is not always first: it is removed
    wherever it is, and the row is cut to k only afterwards."""
    found = np.where(found == rows[:, None], -1, found)
    # stable sort moving -1 entries to the end keeps the ranking of the others
    order = np.argsort(found < 0, axis=1, kind="stable")
    return np.take_along_axis(found, order, axis=1)[:, :k]


def _exact_scores(matrix: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Cosine of each row with each of its neighbours (-inf where there is none)."""
    scores = np.full(indices.shape, -np.inf, dtype=np.float32)
    for start in range(0, len(indices), 8192):
        part = indices[start : start + 8192]
        valid = part >= 0
        vectors = matrix[np.where(valid, part, 0)]  # (b, k, d)
        dots = np.einsum("bkd,bd->bk", vectors, matrix[start : start + 8192])
        scores[start : start + 8192] = np.where(valid, dots, -np.inf)
    return scores


def _exact_searcher(matrix: np.ndarray) -> Searcher:
    def search(queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return top_k(queries @ matrix.T, k)

    return search


def _hnsw_searcher(matrix: np.ndarray) -> Searcher:
    """A throwaway HNSW graph over ``matrix`` (labels = row positions). Built lighter than
    a search index (M=16, efConstruction=80: ~3x faster to build) since it answers one
    batch of k-NN queries and is dropped; exact re-scoring follows anyway."""
    index = make_index("hnsw", matrix.shape[1], "cosine", M=16, ef_construction=80)
    index.add(np.arange(len(matrix), dtype=np.int64), matrix)

    def search(queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return index.search(queries, k)

    return search
