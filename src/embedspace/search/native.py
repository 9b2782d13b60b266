"""Search that runs inside a remote backend (pgvector, Milvus) instead of a local view.

The embedded space pulls every chunk vector into memory and searches there; a backend
with its own vector index should not: its index is the reason to use it. Such a backend
implements the four small primitives of ``NativeSearch`` (best items for a vector or a
keyword query, and the scores of given items), and ``NativeSearcher`` composes them into
the same dense / sparse / hybrid modes and fusions as the local path, so fusion logic
lives in one place (``search/hybrid.py``) whatever the backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import NotSupportedError
from ..store.base import ItemRecord
from .hybrid import fuse
from .results import Hit


@dataclass
class Scored:
    """An item (by the store's row id) with a score and, for dense hits on a chunked
    item, the character span of its best chunk."""

    rowid: int
    score: float
    span: tuple[int, int] | None = None


@runtime_checkable
class NativeSearch(Protocol):
    """The search primitives a backend with its own indexes provides."""

    #: what ``Space.info()["index"]`` reports, e.g. "pgvector-hnsw"
    index_name: str

    def dense(self, query: np.ndarray, k: int, where: dict[str, Any] | None) -> list[Scored]:
        """The k best items for a (1, d) query vector, best first (best chunk per item)."""
        ...

    def keyword(self, query: str, k: int, where: dict[str, Any] | None) -> list[Scored]:
        """The k best keyword matches (items sharing no term with the query never appear)."""
        ...

    def keyword_ceiling(self, query: str) -> float | None:
        """The best keyword score this query's terms could reach (normalises convex
        fusion), or None if the backend cannot tell: then the best candidate's score is
        used instead."""
        ...

    def dense_of(self, query: np.ndarray, rowids: Sequence[int]) -> dict[int, Scored]:
        """Exact best-chunk scores of the given items."""
        ...

    def keyword_of(self, query: str, rowids: Sequence[int]) -> dict[int, float]:
        """Keyword scores of the given items (absent = no term in common)."""
        ...

    def get_by_rowids(self, rowids: Sequence[int]) -> dict[int, ItemRecord]: ...


class NativeSearcher:
    """Dense, sparse and hybrid search over a ``NativeSearch`` backend, returning Hits."""

    def __init__(self, backend: NativeSearch) -> None:
        self.backend = backend

    @property
    def index_name(self) -> str:
        return self.backend.index_name

    def search(
        self,
        query: str,
        qvec: np.ndarray | None,
        k: int,
        mode: str,
        where: dict[str, Any] | None,
        *,
        fusion: str,
        alpha: float,
        sparse_model: str,
        depth: int,
    ) -> list[Hit]:
        if mode != "dense" and sparse_model != "bm25":
            raise NotSupportedError(
                f"sparse_model={sparse_model!r} is not supported by this backend: its keyword "
                "search is its own BM25 (sparse_model='bm25'); see docs/scale.md"
            )
        if mode == "dense":
            return self.search_vector(qvec, k, where)
        if mode == "sparse":
            return self._hits(self.backend.keyword(query, k, where))
        return self._hybrid(query, qvec, k, where, fusion, alpha, depth)

    def search_vector(self, qvec: np.ndarray, k: int, where: dict[str, Any] | None) -> list[Hit]:
        return self._hits(self.backend.dense(qvec, k, where))

    def _hybrid(self, query, qvec, k, where, fusion, alpha, depth) -> list[Hit]:
        """The same fusion as the local path: union of both candidate lists, the missing
        half of each candidate's score computed exactly, then convex or RRF."""
        depth = max(depth, k)
        dense = self.backend.dense(qvec, depth, where)
        keyword = self.backend.keyword(query, depth, where)
        dense_by = {s.rowid: s for s in dense}
        keyword_by = {s.rowid: s.score for s in keyword}
        candidates = np.array(sorted(dense_by.keys() | keyword_by.keys()), dtype=np.int64)
        if not len(candidates):
            return []
        missing_dense = [int(r) for r in candidates if int(r) not in dense_by]
        dense_by.update(self.backend.dense_of(qvec, missing_dense) if missing_dense else {})
        missing_kw = [int(r) for r in candidates if int(r) not in keyword_by]
        keyword_by.update(self.backend.keyword_of(query, missing_kw) if missing_kw else {})
        kw = np.array([keyword_by.get(int(r), 0.0) for r in candidates])
        ceiling = self.backend.keyword_ceiling(query)
        kw = kw / ((ceiling if ceiling is not None else kw.max(initial=0.0)) or 1.0)
        fused = fuse(
            fusion,
            alpha,
            candidates,
            (
                np.array([dense_by[int(r)].score for r in candidates]),
                np.array([s.rowid for s in dense]),
            ),
            (kw, np.array([s.rowid for s in keyword])),
            None,  # coverage: backends do not report which query words their corpus has
        )
        order = np.argsort(-fused, kind="stable")[:k]
        return self._hits(
            [
                Scored(int(candidates[i]), float(fused[i]), dense_by[int(candidates[i])].span)
                for i in order
            ]
        )

    def _hits(self, scored: list[Scored]) -> list[Hit]:
        records = self.backend.get_by_rowids([s.rowid for s in scored])
        return [
            Hit(rec.id, s.score, rec.text, rec.metadata, s.span)
            for s in scored
            if (rec := records.get(s.rowid)) is not None
        ]
