"""2-D maps of a space: the map object, and PCA of the item vectors (numpy only).

PCA is deterministic, linear and instant, so it paints the first picture and places a
query with the same projection; the default map is the neighbour-preserving layout of
``layout.py`` (``mapping.make_map`` chooses). Coordinates are scaled into [-1, 1].
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..encoders.image import thumbnail_name

#: Characters of each item's text kept on the map (hover labels, not whole documents).
MAP_TEXT_CHARS = 200


@dataclass
class SpaceMap:
    """Item coordinates plus the projection that produced them."""

    ids: list[str]
    texts: list[str]
    metadata: list[dict[str, Any]]
    xy: np.ndarray  # (n, 2) in [-1, 1]
    mean: np.ndarray
    axes: np.ndarray  # (d, 2)
    scale: float
    generation: int
    #: "pca" or the neighbour-preserving method's name (layout.NEIGHBOUR_METHOD).
    method: str = "pca"
    #: Items in the space (more than ``len(ids)`` when the map shows a sample).
    total: int = -1
    #: What a reader must know about this map (a sample, a fallback to PCA), else None.
    notice: str | None = None
    #: Places vectors on a map that is not a linear projection (by their neighbours);
    #: None: the PCA axes do.
    locator: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.total < 0:
            self.total = len(self.ids)

    def place(self, vectors: np.ndarray) -> np.ndarray:
        """Where new vectors (e.g. a query) fall on this map."""
        if self.locator is not None:
            return self.locator(np.atleast_2d(vectors))
        return ((np.atleast_2d(vectors) - self.mean) @ self.axes) / self.scale

    def to_columns(self, color_by: str | None = None) -> dict[str, Any]:
        """The map as JSON-ready columns (one list per field, not one object per point,
        so 100k points stay a compact payload); ``groups`` colour it by a metadata key."""
        return {
            "generation": self.generation,
            "count": len(self.ids),
            "total": self.total,
            "method": self.method,
            "notice": self.notice,
            "ids": self.ids,
            "x": self.xy[:, 0].round(5).tolist(),
            "y": self.xy[:, 1].round(5).tolist(),
            "text": self.texts,
            "keys": self.keys(),
            "color_by": color_by,
            "groups": self.groups(color_by) if color_by else None,
            "thumbnails": self.thumbnails(),
        }

    def thumbnails(self) -> list[str] | None:
        """Each item's thumbnail file name ("" for text items), or None when no item is an
        image, so a text-only map carries no extra column."""
        names = [thumbnail_name(md) for md in self.metadata]
        return names if any(names) else None

    def groups(self, key: str) -> list[str]:
        """Each item's ``key`` metadata value as text ("" where it has none): map colours."""
        return [_label(md.get(key)) for md in self.metadata]

    def keys(self, limit: int = 20) -> list[str]:
        """Metadata keys with scalar values, most common first (what a map can colour by)."""
        counts: dict[str, int] = {}
        for md in self.metadata:
            for key, value in md.items():
                if value is None or isinstance(value, str | int | float | bool):
                    counts[key] = counts.get(key, 0) + 1
        return sorted(counts, key=lambda k: (-counts[k], k))[:limit]


def _label(value: object) -> str:
    return "" if value is None or isinstance(value, dict | list) else str(value)


def scaled(xy: np.ndarray) -> tuple[np.ndarray, float]:
    """``xy`` centred on its bounding box and divided by its largest extent -> [-1, 1]."""
    if not len(xy):
        return xy.astype(np.float32), 1.0
    centre = (xy.max(axis=0) + xy.min(axis=0)) / 2
    extent = float(np.abs(xy - centre).max())
    extent = extent if extent > 0 else 1.0
    return ((xy - centre) / extent).astype(np.float32), extent


def pca_map(
    ids: list[str],
    texts: list[str],
    metadata: list[dict[str, Any]],
    vectors: np.ndarray,
    generation: int,
) -> SpaceMap:
    """Project ``vectors`` on their two main axes (fewer than 2 items: trivial axes).

    The axes are the top eigenvectors of the d x d scatter matrix: one pass over the
    items and a small eigenproblem, where an SVD of the n x d matrix took ~20 s at 100k.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    dim = vectors.shape[1] if vectors.ndim == 2 else 0
    mean = vectors.mean(axis=0, dtype=np.float64) if len(vectors) else np.zeros(dim)
    centred = vectors - mean.astype(np.float32)
    axes = np.zeros((dim, 2))
    if len(vectors) >= 2:
        _, eigenvectors = np.linalg.eigh((centred.T @ centred).astype(np.float64))
        axes = eigenvectors[:, ::-1][:, :2].copy()  # eigh sorts ascending
        # A sign convention, so the same data always gives the same picture.
        axes *= np.where(axes[np.abs(axes).argmax(axis=0), [0, 1]] < 0, -1.0, 1.0)
    xy = centred @ axes
    scale = float(np.abs(xy).max()) if xy.size and np.abs(xy).max() > 0 else 1.0
    xy = (xy / scale).astype(np.float32)
    return SpaceMap(ids, texts, metadata, xy, mean, axes, scale, generation)
