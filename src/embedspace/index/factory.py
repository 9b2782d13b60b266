"""Index kinds by name: the Space and benchmarks pick one without importing backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from .base import Metric, VectorIndex

INDEX_KINDS = ("auto", "exact", "hnsw", "ivf", "ivfpq", "int8", "binary", "truncated")
#: Below this many chunks "auto" searches exactly: a matmul over 50k x 384 takes a few ms.
AUTO_ANN_THRESHOLD = 50_000


def make_index(kind: str, dim: int, metric: Metric, **params: Any) -> VectorIndex:
    if kind == "exact":
        from .exact import ExactIndex

        return ExactIndex(dim, metric)
    if kind == "hnsw":
        from .hnsw import HnswIndex

        return HnswIndex(dim, metric, **params)
    if kind in ("ivf", "ivfpq"):
        from .ivf import IvfIndex

        if kind == "ivfpq":
            params.setdefault("pq_m", _default_pq_m(dim))
        return IvfIndex(dim, metric, **params)
    if kind == "int8":
        from .compressed import Int8Index

        return Int8Index(dim, metric, **params)
    if kind == "binary":
        from .compressed import BinaryIndex

        return BinaryIndex(dim, metric)
    if kind == "truncated":
        from .compressed import TruncatedIndex

        return TruncatedIndex(dim, metric, **params)
    raise InvalidInputError(f"index must be one of {INDEX_KINDS}, not {kind!r}")


def load_index(kind: str, path: Path) -> VectorIndex:
    if kind == "hnsw":
        from .hnsw import HnswIndex

        return HnswIndex.load(path)
    if kind == "int8":
        from .compressed import Int8Index

        return Int8Index.load(path)
    if kind == "binary":
        from .compressed import BinaryIndex

        return BinaryIndex.load(path)
    from .ivf import IvfIndex

    return IvfIndex.load(path)


def _default_pq_m(dim: int) -> int:
    """About 4 dimensions per 8-bit PQ sub-vector (384-d -> 96 bytes a vector, 16x smaller)."""
    target = max(1, dim // 4)
    return next(m for m in range(target, 0, -1) if dim % m == 0)
