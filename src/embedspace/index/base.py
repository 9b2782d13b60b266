"""The VectorIndex protocol: vectors -> nearest neighbours.

Indexes hold (label, vector) pairs, where labels are the store's integer chunk ids, and
know nothing about texts or metadata. Filters arrive as a set of allowed labels resolved
by the caller from the store. Scores are "higher is closer" for every metric: cosine and
dot are inner products, euclidean is the negative distance.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal, Protocol, cast, runtime_checkable

import numpy as np

from ..encoders.base import l2_normalise
from ..errors import InvalidInputError

Metric = Literal["cosine", "dot", "euclidean"]
METRICS: tuple[str, ...] = ("cosine", "dot", "euclidean")


def as_metric(name: str) -> Metric:
    """``name`` as a :data:`Metric`: a space's metric comes back from its store as a plain
    string, checked here once so the indexes can rely on it."""
    if name not in METRICS:
        raise InvalidInputError(f"metric must be one of {METRICS}, not {name!r}")
    return cast(Metric, name)


@runtime_checkable
class VectorIndex(Protocol):
    """Nearest-neighbour search over labelled vectors."""

    dim: int
    metric: Metric

    @property
    def kind(self) -> str:
        """The index kind's name in ``index.factory`` (index files are named after it)."""
        ...

    def add(self, labels: np.ndarray, vectors: np.ndarray) -> None:
        """Insert vectors under new integer labels."""
        ...

    def remove(self, labels: Iterable[int]) -> int:
        """Forget labels; returns how many were present."""
        ...

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (labels, scores) per query, best first; ``allowed`` = sorted label array.

        Rows shorter than k are padded with label -1 and score -inf.
        """
        ...

    def labels(self) -> np.ndarray:
        """Every live label (sorted)."""
        ...

    def save(self, path: Path) -> None: ...

    def __len__(self) -> int: ...


def prepare_vectors(vectors: np.ndarray, dim: int, metric: str) -> np.ndarray:
    """Validate shape, make float32 C-contiguous, normalise for cosine."""
    vectors = np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[1] != dim:
        raise InvalidInputError(f"expected vectors of shape (n, {dim}), got {vectors.shape}")
    return l2_normalise(vectors) if metric == "cosine" else vectors


def pad_results(labels: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Pad result rows to width k with (-1, -inf)."""
    if labels.shape[1] >= k:
        return labels, scores
    pad = ((0, 0), (0, k - labels.shape[1]))
    return (np.pad(labels, pad, constant_values=-1), np.pad(scores, pad, constant_values=-np.inf))
