"""Index kinds by name: one ``{kind: class}`` table, used both to make and to load.

Why a table: making and loading used to be two if-chains that drifted apart (loading
fell back to IVF for any kind it did not list). Now a kind exists in one place, and an
unknown kind, or a kind that is never saved, is refused with a clear error. The classes
import FAISS only when an index is made, so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from .base import Metric, VectorIndex
from .compressed import BinaryIndex, Int8Index, TruncatedIndex
from .exact import ExactIndex
from .hnsw import HnswIndex
from .ivf import IvfIndex

#: Below this many chunks "auto" searches exactly: a matmul over 50k x 384 takes a few ms.
AUTO_ANN_THRESHOLD = 50_000


def _default_pq_m(dim: int) -> dict[str, Any]:
    """About 4 dimensions per 8-bit PQ sub-vector (384-d -> 96 bytes a vector, 16x smaller)."""
    target = max(1, dim // 4)
    return {"pq_m": next(m for m in range(target, 0, -1) if dim % m == 0)}


def _no_defaults(dim: int) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class IndexKind:
    """How one kind is made: its class, whether it takes tuning parameters (exact and
    binary have none, and ignore the space's), and parameter defaults that depend on the
    dimension."""

    cls: Callable[..., VectorIndex]
    tunable: bool = True
    defaults: Callable[[int], dict[str, Any]] = field(default=_no_defaults)

    @property
    def loader(self) -> Callable[[Path], VectorIndex] | None:
        """The class's ``load``; None for kinds rebuilt from the store on every open."""
        load: Callable[[Path], VectorIndex] | None = getattr(self.cls, "load", None)
        return load


INDEXES: dict[str, IndexKind] = {
    "exact": IndexKind(ExactIndex, tunable=False),
    "hnsw": IndexKind(HnswIndex),
    "ivf": IndexKind(IvfIndex),
    "ivfpq": IndexKind(IvfIndex, defaults=_default_pq_m),
    "int8": IndexKind(Int8Index),
    "binary": IndexKind(BinaryIndex, tunable=False),
    "truncated": IndexKind(TruncatedIndex),
}
INDEX_KINDS = ("auto", *INDEXES)
#: Kinds written to an index file beside the store (the rest are rebuilt on open).
SAVED_KINDS = tuple(kind for kind, spec in INDEXES.items() if spec.loader is not None)


def _kind(kind: str) -> IndexKind:
    try:
        return INDEXES[kind]
    except KeyError:
        raise InvalidInputError(f"index must be one of {INDEX_KINDS}, not {kind!r}") from None


def make_index(kind: str, dim: int, metric: Metric, **params: Any) -> VectorIndex:
    """A new, empty index of ``kind``; ``params`` override the kind's defaults."""
    spec = _kind(kind)
    if not spec.tunable:
        return spec.cls(dim, metric)
    return spec.cls(dim, metric, **{**spec.defaults(dim), **params})


def load_index(kind: str, path: Path) -> VectorIndex:
    """The index of ``kind`` saved at ``path``; kinds rebuilt from the store on every
    open (exact, truncated) have no file to load and are refused."""
    loader = _kind(kind).loader
    if loader is None:
        raise InvalidInputError(
            f"{kind!r} indexes are never saved (rebuilt from the store), so none can be loaded"
        )
    return loader(path)
