"""Exact search: one BLAS matrix product and a partial sort.

On these CPUs numpy's matmul beat ``faiss.IndexFlatIP``, so the exact index is plain
numpy. Scores: cosine and dot are inner products (cosine vectors are normalised on the
way in); euclidean is reported as the negative distance, so higher is always better.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..encoders.base import l2_normalise
from ..errors import InvalidInputError
from .base import Metric


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the k largest entries of each row, best first."""
    k = min(k, scores.shape[1])
    if k == 0:
        empty = np.empty((scores.shape[0], 0))
        return empty.astype(np.int64), empty.astype(np.float32)
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(part_scores, order, axis=1)


class ExactIndex:
    """Brute-force inner-product / L2 search over a dense float32 matrix."""

    def __init__(self, dim: int, metric: Metric = "cosine") -> None:
        self.dim, self.metric = dim, metric
        self._labels = np.empty(0, dtype=np.int64)
        self._matrix = np.empty((0, dim), dtype=np.float32)
        self._sq_norms = np.empty(0, dtype=np.float32)

    def __len__(self) -> int:
        return len(self._labels)

    def _prepare(self, vectors: np.ndarray) -> np.ndarray:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise InvalidInputError(
                f"expected vectors of shape (n, {self.dim}), got {vectors.shape}"
            )
        return l2_normalise(vectors) if self.metric == "cosine" else vectors

    def add(self, labels: np.ndarray, vectors: np.ndarray) -> None:
        labels = np.asarray(labels, dtype=np.int64)
        vectors = self._prepare(vectors)
        if len(self._labels):
            self.remove(labels)
        self._labels = np.concatenate([self._labels, labels])
        self._matrix = np.concatenate([self._matrix, vectors]) if len(self._matrix) else vectors
        self._sq_norms = np.einsum("ij,ij->i", self._matrix, self._matrix)

    def remove(self, labels: Iterable[int]) -> int:
        drop = np.isin(self._labels, np.fromiter(labels, dtype=np.int64))
        if drop.any():
            keep = ~drop
            self._labels, self._matrix = self._labels[keep], self._matrix[keep]
            self._sq_norms = self._sq_norms[keep]
        return int(drop.sum())

    def scores(self, queries: np.ndarray) -> np.ndarray:
        """Score of every stored vector for every query: shape (queries, stored)."""
        queries = self._prepare(np.atleast_2d(queries))
        sims = queries @ self._matrix.T
        if self.metric == "euclidean":
            q_sq = np.einsum("ij,ij->i", queries, queries)[:, None]
            sims = -np.sqrt(np.maximum(q_sq - 2 * sims + self._sq_norms[None, :], 0.0))
        return sims

    @property
    def labels(self) -> np.ndarray:
        return self._labels

    def search(
        self, queries: np.ndarray, k: int, allowed: set[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        sims = self.scores(queries)
        if allowed is not None:
            mask = np.isin(self._labels, np.fromiter(allowed, dtype=np.int64))
            sims[:, ~mask] = -np.inf
        idx, top = top_k(sims, k)
        labels = self._labels[idx]
        labels[~np.isfinite(top)] = -1
        if idx.shape[1] < k:  # fewer stored vectors than k: pad
            pad = k - idx.shape[1]
            labels = np.pad(labels, ((0, 0), (0, pad)), constant_values=-1)
            top = np.pad(top, ((0, 0), (0, pad)), constant_values=-np.inf)
        return labels, top

    def save(self, path: Path) -> None:
        """Exact indexes are rebuilt from the store; nothing needs saving."""
