"""2-D maps of a space: PCA of the item vectors (numpy SVD, no extra dependency).

PCA is deterministic and linear, so a new query can be placed on the same map with the
same projection (``SpaceMap.place``); coordinates are scaled into [-1, 1] for drawing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..space import Space

#: Characters of each item's text kept on the map (hover labels, not whole documents).
MAP_TEXT_CHARS = 200


@dataclass
class SpaceMap:
    """Item coordinates plus the projection that produced them."""

    ids: list[str]
    texts: list[str]
    xy: np.ndarray  # (n, 2) in [-1, 1]
    mean: np.ndarray
    axes: np.ndarray  # (d, 2)
    scale: float
    generation: int

    def place(self, vectors: np.ndarray) -> np.ndarray:
        """Project new vectors (e.g. a query) onto this map."""
        return ((np.atleast_2d(vectors) - self.mean) @ self.axes) / self.scale


def pca_map(ids: list[str], texts: list[str], vectors: np.ndarray, generation: int) -> SpaceMap:
    """Project ``vectors`` on their two main axes (fewer than 3 items: trivial axes)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    dim = vectors.shape[1] if vectors.ndim == 2 else 0
    mean = vectors.mean(axis=0) if len(vectors) else np.zeros(dim)
    centred = vectors - mean
    axes = np.zeros((dim, 2))
    if len(vectors) >= 2:
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        axes[:, : min(2, len(vt))] = vt[:2].T
        # A sign convention, so the same data always gives the same picture.
        axes *= np.where(axes[np.abs(axes).argmax(axis=0), [0, 1]] < 0, -1.0, 1.0)
    xy = centred @ axes
    scale = float(np.abs(xy).max()) if xy.size and np.abs(xy).max() > 0 else 1.0
    return SpaceMap(ids, texts, (xy / scale).astype(np.float32), mean, axes, scale, generation)


def project_space(space: Space) -> SpaceMap:
    """The map of every item in ``space`` (first-chunk vectors, text cut for labels)."""
    generation = space.generation
    ids = space.ids()
    texts = [item.text[:MAP_TEXT_CHARS] for item in space.items(ids)]
    vectors = space.vectors(ids) if ids else np.zeros((0, space.dim), dtype=np.float32)
    return pca_map(ids, texts, vectors, generation)
