"""The VectorIndex protocol: vectors -> nearest neighbours.

Indexes hold (label, vector) pairs, where labels are the store's integer chunk ids, and
know nothing about texts or metadata. Filtering arrives as an ``allowed`` boolean mask
over labels-in-insertion-order or a label set, resolved by the caller from the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np

Metric = Literal["cosine", "dot", "euclidean"]
METRICS: tuple[str, ...] = ("cosine", "dot", "euclidean")


@runtime_checkable
class VectorIndex(Protocol):
    """Nearest-neighbour search over labelled vectors."""

    dim: int
    metric: Metric

    def add(self, labels: np.ndarray, vectors: np.ndarray) -> None:
        """Insert vectors under integer labels (replacing any with the same label)."""
        ...

    def remove(self, labels: Iterable[int]) -> int:
        """Forget labels; returns how many were present."""
        ...

    def search(
        self, queries: np.ndarray, k: int, allowed: set[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (labels, scores) per query, best first; higher score = closer.

        Rows shorter than k are padded with label -1 and score -inf.
        """
        ...

    def save(self, path: Path) -> None: ...

    def __len__(self) -> int: ...
