"""Exact search: one BLAS matrix product and a partial sort.

On these CPUs numpy's matmul beat ``faiss.IndexFlatIP``, so the exact index is plain
numpy, over a column-major matrix (BLAS reads that layout near memory speed). It can
wrap arrays it does not own (``ExactIndex.over``) so the Space's in-memory chunk table
doubles as the exact index without a second copy of the vectors.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .base import Metric, pad_results, prepare_vectors


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the k largest entries of each row, best first.

    Partitions from the right end instead of negating: no copy of the score matrix.
    """
    n = scores.shape[1]
    k = min(k, n)
    if k == 0:
        empty = np.empty((scores.shape[0], 0))
        return empty.astype(np.int64), empty.astype(np.float32)
    part = np.argpartition(scores, n - k, axis=1)[:, n - k :]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(part_scores, order, axis=1)


def similarity(queries: np.ndarray, matrix: np.ndarray, metric: str) -> np.ndarray:
    """Scores (queries x rows), higher is closer; inputs already prepared for the metric."""
    # one query: a matrix-vector product (gemv) streams the matrix once, faster than gemm
    sims = (matrix @ queries[0])[None, :] if len(queries) == 1 else queries @ matrix.T
    if metric == "euclidean":
        q_sq = np.einsum("ij,ij->i", queries, queries)[:, None]
        m_sq = np.einsum("ij,ij->i", matrix, matrix)[None, :]
        sims = -np.sqrt(np.maximum(q_sq - 2 * sims + m_sq, 0.0))
    return sims


#: A column-major matrix is scanned whole instead of gathered once more than this share
#: of its rows is wanted. Measured at 100k x 384: gathering a row costs ~1.9 us (one cache
#: line per dimension), scanning costs ~28 ns a row, so the break-even is near 1/68.
SCAN_INSTEAD_OF_GATHER = 1 / 64


def similarity_of_rows(
    queries: np.ndarray, matrix: np.ndarray, rows: np.ndarray, metric: str
) -> np.ndarray:
    """Scores (queries x chosen rows) against ``matrix[rows]``, by the cheaper route.

    A row-major matrix gathers rows cheaply. A column-major one (the Space's in-memory
    chunk table, see search/vector_storage.RamVectors) does not, so for many rows one
    full matrix-vector product and picking its entries is faster than the gather.
    """
    column_major = matrix.ndim == 2 and matrix.strides[0] == matrix.itemsize
    if column_major and len(rows) > SCAN_INSTEAD_OF_GATHER * len(matrix):
        return similarity(queries, matrix, metric)[:, rows]
    return similarity(queries, matrix[rows], metric)


class ExactIndex:
    """Brute-force search over a float32 matrix whose rows carry sorted int64 labels.

    Vectors it owns are kept column-major, for the same reason as the Space's chunk
    table (search/vector_storage.RamVectors): BLAS streams that layout faster for a
    single query.
    """

    kind = "exact"

    def __init__(self, dim: int, metric: Metric = "cosine") -> None:
        self.dim, self.metric = dim, metric
        self._labels = np.empty(0, dtype=np.int64)
        self._matrix = np.empty((0, dim), dtype=np.float32)

    @classmethod
    def over(cls, labels: np.ndarray, matrix: np.ndarray, metric: Metric) -> ExactIndex:
        """Wrap existing (already prepared) arrays without copying them."""
        index = cls(matrix.shape[1] if matrix.ndim == 2 else 0, metric)
        index._labels, index._matrix = labels, matrix
        return index

    def __len__(self) -> int:
        return len(self._labels)

    def labels(self) -> np.ndarray:
        return self._labels

    def add(self, labels: np.ndarray, vectors: np.ndarray) -> None:
        labels = np.asarray(labels, dtype=np.int64)
        vectors = prepare_vectors(vectors, self.dim, self.metric)
        all_labels = np.concatenate([self._labels, labels])
        merged = np.empty((len(all_labels), self.dim), dtype=np.float32, order="F")
        old = len(self._labels)
        if np.all(all_labels[1:] > all_labels[:-1]):  # the usual case: labels only grow
            merged[:old], merged[old:] = self._matrix, vectors  # one copy, column by column
            self._labels = all_labels
        else:
            order = np.argsort(all_labels, kind="stable")
            np.take(np.concatenate([self._matrix, vectors]), order, axis=0, out=merged)
            self._labels = all_labels[order]
        self._matrix = merged

    def remove(self, labels: Iterable[int]) -> int:
        drop = np.isin(self._labels, np.fromiter(labels, dtype=np.int64))
        if drop.any():
            self._labels = self._labels[~drop]
            self._matrix = np.asfortranarray(self._matrix[~drop])
        return int(drop.sum())

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        queries = prepare_vectors(queries, self.dim, self.metric)
        if allowed is not None:
            rows = np.flatnonzero(np.isin(self._labels, allowed, assume_unique=True))
            sims = similarity_of_rows(queries, self._matrix, rows, self.metric)
            idx, top = top_k(sims, k)
            labels = self._labels[rows][idx]
        else:
            idx, top = top_k(similarity(queries, self._matrix, self.metric), k)
            labels = self._labels[idx]
        return pad_results(labels, top, k)

    def save(self, path: Path) -> None:
        """Nothing to save: the store holds the vectors and the index is rebuilt from it."""
