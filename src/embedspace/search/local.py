"""The search primitives over the local view: the embedded space's own backend.

``ViewSearch`` answers ``store.base.SearchPrimitives`` from one caught-up ``SearchView``
(the chunk table, its vector index, the keyword scorers), translating the view's item
positions into the store's row ids, so ``search/engine.py`` composes local search
exactly as it composes a database's. ``LocalSource`` hands out one per attempt of
``SearchView.run``: a search that finds the store moved on starts again on a fresh view.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from ..store.base import ItemRecord, KeywordBound, Scored, Store
from .results import Ranking
from .sparse import SparseSearcher
from .view import SearchView

T = TypeVar("T")


class ViewSearch:
    """``SearchPrimitives`` over one state of a ``SearchView``."""

    # Exact scores of a few hundred items are one gather in memory, and the ANN walk
    # may have reached a long item through a chunk other than its best.
    rescore_dense = True

    def __init__(self, view: SearchView, store: Store) -> None:
        self.view, self.store = view, store
        self._mask: tuple[dict[str, Any] | None, np.ndarray | None] = (None, None)
        self._sparse: dict[str, SparseSearcher] = {}
        self._keyword_scores: dict[tuple[str, str], np.ndarray] = {}

    @property
    def index_name(self) -> str:
        return self.view.index_name

    def _eligible(self, where: dict[str, Any] | None) -> np.ndarray | None:
        """Which view items pass ``where`` (None: all); asked of the store once per filter
        and write (the view keeps recent filters' masks)."""
        if where is None:
            return None
        if self._mask[0] is not where:
            mask = self.view.filter_mask(
                where, lambda: np.fromiter(self.store.filter_rowids(where), dtype=np.int64)
            )
            self._mask = (where, mask)
        return self._mask[1]

    def _positions(self, rowids: Sequence[int]) -> np.ndarray:
        """View positions of row ids this view returned."""
        return np.searchsorted(self.view.table.items, np.asarray(rowids, dtype=np.int64))

    def _scored(
        self, positions: np.ndarray, scores: np.ndarray, rows: np.ndarray | None
    ) -> list[Scored]:
        table = self.view.table
        return [
            Scored(
                int(table.items[p]),
                float(score),
                table.span(int(rows[i])) if rows is not None else None,
            )
            for i, (p, score) in enumerate(zip(positions, scores, strict=True))
        ]

    def dense(self, query: np.ndarray, k: int, where: dict[str, Any] | None) -> list[Scored]:
        return self.top(query, k, where)[0]

    def top(
        self, query: np.ndarray, k: int, where: dict[str, Any] | None
    ) -> tuple[list[Scored], np.ndarray]:
        """``dense`` and each hit's best chunk row in the view's table, for callers that
        go on to use the vectors themselves (recommendations)."""
        positions, scores, rows = self.view.dense.top_items(query, k, self._eligible(where))
        return self._scored(positions, scores, rows), rows

    def dense_of(self, query: np.ndarray, rowids: Sequence[int]) -> dict[int, Scored]:
        positions = self._positions(rowids)
        scores, rows = self.view.dense.scores_for_items(query, positions)
        return {s.rowid: s for s in self._scored(positions, scores, rows)}

    def _searcher(self, model: str) -> SparseSearcher:
        """The view's scorer of ``model``, held for this search: scores and bound then
        come from one fit even if another thread catches the view up meanwhile."""
        if model not in self._sparse:
            self._sparse[model] = self.view.sparse(model)
        return self._sparse[model]

    def _scores(self, query: str, model: str) -> np.ndarray:
        """Every view item's keyword score (computed once per query and model)."""
        key = (query, model)
        if key not in self._keyword_scores:
            self._keyword_scores[key] = self._searcher(model).item_scores(query)
        return self._keyword_scores[key]

    def keyword(self, query: str, k: int, where: dict[str, Any] | None, model: str) -> list[Scored]:
        scores = self._scores(query, model)
        eligible = self._eligible(where)
        matched = scores > 0 if eligible is None else (scores > 0) & eligible
        ranking = Ranking.top(scores, k, matched)
        return self._scored(ranking.positions, ranking.scores, None)

    def keyword_of(self, query: str, rowids: Sequence[int], model: str) -> dict[int, float]:
        scores = self._scores(query, model)[self._positions(rowids)]
        return {int(r): float(s) for r, s in zip(rowids, scores, strict=True) if s > 0}

    def keyword_bound(self, query: str, model: str) -> KeywordBound:
        searcher = self._searcher(model)
        return KeywordBound(searcher.ceiling(query), searcher.coverage(query))

    def get_by_rowids(self, rowids: Sequence[int]) -> dict[int, ItemRecord]:
        return self.store.get_by_rowids(rowids)


class LocalSource:
    """Search over the local view, kept in step with ``store``."""

    def __init__(self, view: SearchView, store: Store) -> None:
        self.view, self.store = view, store

    @property
    def index_name(self) -> str:
        """The view's index, or the kind asked for before the first search opened it."""
        return self.view.index_name if self.view.generation >= 0 else self.view.index_kind

    def run(self, fn: Callable[[ViewSearch], T]) -> T:
        return self.view.run(lambda view: fn(ViewSearch(view, self.store)))
