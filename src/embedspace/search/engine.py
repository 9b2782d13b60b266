"""Dense, sparse and hybrid search, re-ranking included, written once for every backend.

A backend answers a few primitives (``store.base.SearchPrimitives``: best items for a
vector or a keyword query, the scores of given items, the keyword bound of a query);
the local view answers them in memory (``search/local.py``), PostgreSQL and Milvus in
their own indexes (``store/*_search.py``). ``SearchEngine`` composes them: the union of
both halves' candidates, each candidate's missing half scored exactly, fusion by
``search/hybrid.py``, then the optional cross-encoder. A ``Space`` picks its engine's
source once, when it opens, and never asks which backend it is on again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import numpy as np

from ..encoders.reranker import CrossEncoder
from ..ingest.layout import Layout
from ..store.base import Scored, SearchPrimitives
from .hybrid import fuse
from .rerank import rerank_hits
from .results import Hit

MODES = ("dense", "sparse", "hybrid")
#: How many candidates each half of hybrid search contributes before fusion.
HYBRID_DEPTH = 100

T = TypeVar("T")


class SearchSource(Protocol):
    """Where the primitives come from, consistent with one state of the store."""

    @property
    def index_name(self) -> str: ...

    def run(self, fn: Callable[[SearchPrimitives], T]) -> T:
        """``fn`` over primitives that all see the same state of the store."""
        ...


class InPlace:
    """A database searching its own indexes: every query sees the committed state, so
    there is nothing to catch up and nothing to retry."""

    def __init__(self, primitives: SearchPrimitives) -> None:
        self.primitives = primitives

    @property
    def index_name(self) -> str:
        return self.primitives.index_name

    def run(self, fn: Callable[[SearchPrimitives], T]) -> T:
        return fn(self.primitives)


class SearchEngine:
    """Search modes, fusion and re-ranking over any ``SearchSource``, returning Hits."""

    def __init__(self, source: SearchSource) -> None:
        self.source = source

    @property
    def index_name(self) -> str:
        return self.source.index_name

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
        cross: CrossEncoder | None = None,
        rerank_depth: int = 0,
        rerank_weight: float | None = None,
    ) -> list[Hit]:
        """The k best items for ``query`` (``qvec``: its vector, None in sparse mode);
        with ``cross``, the best ``max(k, rerank_depth)`` re-scored by it, k kept."""
        first_k = max(k, rerank_depth) if cross else k

        def run(primitives: SearchPrimitives) -> list[Hit]:
            if mode == "sparse":
                scored = primitives.keyword(query, first_k, where, sparse_model)
            elif qvec is None:
                raise ValueError(f"{mode} search needs the query's vector")
            elif mode == "dense":
                scored = primitives.dense(qvec, first_k, where)
            else:
                scored = _hybrid(
                    primitives, query, qvec, first_k, where, fusion, alpha, sparse_model
                )
            return to_hits(primitives, scored)

        hits = self.source.run(run)
        return rerank_hits(cross, query, hits, k, rerank_weight) if cross else hits

    def search_vector(self, qvec: np.ndarray, k: int, where: dict[str, Any] | None) -> list[Hit]:
        """Dense search with a ready (1, d) vector."""
        return self.source.run(
            lambda primitives: to_hits(primitives, primitives.dense(qvec, k, where))
        )


def _hybrid(
    primitives: SearchPrimitives,
    query: str,
    qvec: np.ndarray,
    k: int,
    where: dict[str, Any] | None,
    fusion: str,
    alpha: float,
    sparse_model: str,
) -> list[Scored]:
    """Fuse both halves over the union of their candidates; the half a candidate is
    missing is computed exactly, so fusion never sees a missing score. Keywords go first:
    a backend refusing the sparse model does so before any vector search runs."""
    depth = max(HYBRID_DEPTH, k)
    keyword = primitives.keyword(query, depth, where, sparse_model)
    dense = primitives.dense(qvec, depth, where)
    dense_by = {s.rowid: s for s in dense}
    keyword_by = {s.rowid: s.score for s in keyword}
    candidates = np.array(sorted(dense_by.keys() | keyword_by.keys()), dtype=np.int64)
    if not len(candidates):
        return []
    rescore = [int(r) for r in candidates if primitives.rescore_dense or int(r) not in dense_by]
    dense_by.update(primitives.dense_of(qvec, rescore) if rescore else {})
    missing_kw = [int(r) for r in candidates if int(r) not in keyword_by]
    if missing_kw:
        keyword_by.update(primitives.keyword_of(query, missing_kw, sparse_model))
    kw = np.array([keyword_by.get(int(r), 0.0) for r in candidates])
    bound = primitives.keyword_bound(query, sparse_model)
    kw = kw / ((bound.ceiling if bound.ceiling is not None else kw.max(initial=0.0)) or 1.0)
    fused = fuse(
        fusion,
        alpha,
        candidates,
        (
            np.array([dense_by[int(r)].score for r in candidates]),
            np.array([s.rowid for s in dense]),
        ),
        (kw, np.array([s.rowid for s in keyword])),
        bound.coverage,
    )
    order = np.argsort(-fused, kind="stable")[:k]
    return [
        Scored(int(candidates[i]), float(fused[i]), dense_by[int(candidates[i])].span)
        for i in order
    ]


def to_hits(primitives: SearchPrimitives, scored: list[Scored]) -> list[Hit]:
    """Scored row ids as Hits; an item deleted since it was scored is left out."""
    records = primitives.get_by_rowids([s.rowid for s in scored])
    return [
        Hit(rec.id, s.score, rec.text, rec.metadata, s.span, Layout.from_json(rec.layout))
        for s in scored
        if (rec := records.get(s.rowid)) is not None
    ]
