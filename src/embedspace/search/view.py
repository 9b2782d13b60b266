"""SearchView: everything search needs, kept in step with the store.

It owns the chunk table, the vector index over it and (lazily) keyword scorers. Any
commit by any process bumps the store's generation; the next search catches the table
up incrementally, applies the same changes to the ANN index, and drops keyword scorers
(rebuilt on demand). The ANN index is saved beside the store and reloaded on open; a
missing, damaged or stale file is repaired from the table, never trusted blindly.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ..index.base import VectorIndex
from ..index.exact import ExactIndex
from ..index.factory import AUTO_ANN_THRESHOLD, load_index, make_index
from ..index.ivf import IvfIndex
from ..store.base import Store
from .chunks import ChunkTable
from .dense import DenseSearcher
from .sparse import SparseSearcher

log = logging.getLogger(__name__)

#: Rebuild an HNSW graph once this share of its nodes are tombstones.
REBUILD_TOMBSTONE_RATIO = 0.25
#: Filters whose item masks a view keeps (each costs one byte per item).
FILTER_MASKS = 16
#: Catch-ups tried before a reader gives up on a space that keeps changing under it.
RUN_ATTEMPTS = 5

T = TypeVar("T")


class StaleView(Exception):
    """The store changed while a view was being completed; catch up and retry."""


class SearchView:
    def __init__(
        self,
        store: Store,
        folder: Path | None,
        dim: int,
        metric: str,
        index_kind: str,
        index_params: dict[str, Any],
        vector_storage: str = "ram",
        named: str | None = None,
    ) -> None:
        # ``named``: a view over that named vector set (store/named.py) instead of the
        # main vectors; such views are exact and keep no index file.
        self._named = named
        self._store, self._folder = store, folder
        self.index_kind, self.index_params = index_kind, index_params
        self.vector_storage = vector_storage
        self.table = ChunkTable(dim, metric, vector_storage, folder)
        self.generation = -1
        self._ann: VectorIndex | None = None
        self._ann_dirty = 0
        self._sparse: dict[str, SparseSearcher] = {}
        self._sparse_generation: dict[str, int] = {}  # the generation each one matches
        #: (filter as canonical JSON, generation) -> which table items pass it
        self._filter_masks: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self._lock = threading.RLock()

    # -- keeping up -----------------------------------------------------------------------
    def refresh(self, force: bool = False) -> None:
        with self._lock:
            generation = self._store.generation()
            if generation == self.generation and not force:
                return
            first = self.generation < 0
            if first and self._named is None:  # lay a large space out row-major at once
                expected = max(self._store.count(), len(self.table))
                self.table.arrange(row_major=self._wanted_ann_kind(expected) is not None)
            labels, vectors, removed = self.table.catch_up(self._store, self._named)
            self.table.arrange(row_major=self._wanted_ann_kind() is not None)
            self.generation = generation
            if first:
                self._open_ann()
            elif self._ann is not None:
                self._ann.remove(removed)
                self._ann.add(labels, vectors)
                self._ann_dirty += len(labels) + len(removed)
            self._maybe_switch_or_rebuild()

    def reset(self) -> None:
        """Forget everything derived; the next refresh rebuilds it from the store
        (``check --repair`` after the view was found out of step)."""
        with self._lock:
            self.table = ChunkTable(
                self.table.dim, self.table.metric, self.vector_storage, self._folder
            )
            self.generation, self._ann, self._ann_dirty = -1, None, 0
            self._sparse.clear()
            self._sparse_generation.clear()
            self._filter_masks.clear()

    def _wanted_ann_kind(self, chunks: int | None = None) -> str | None:
        """The ANN index kind for ``chunks`` vectors (default: the table's), or None."""
        if self.index_kind == "exact":
            return None
        if self.index_kind == "auto":
            size = len(self.table) if chunks is None else chunks
            return "hnsw" if size >= AUTO_ANN_THRESHOLD else None
        return self.index_kind

    def _index_path(self, kind: str) -> Path:
        if self._folder is None:  # a remote backend's view searches exactly: no index file
            raise ValueError("index files need the space folder")
        return self._folder / f"index-{kind}.faiss"

    def _open_ann(self) -> None:
        kind = self._wanted_ann_kind()
        if kind is None:
            return
        path = self._index_path(kind)
        if path.exists():
            try:
                ann = load_index(kind, path)
                stored = ann.labels()
                ann.remove(np.setdiff1d(stored, self.table.chunk_ids, assume_unique=True))
                missing = np.isin(self.table.chunk_ids, stored, assume_unique=True, invert=True)
                ann.add(self.table.chunk_ids[missing], self.table.matrix[missing])
                self._ann, self._ann_dirty = ann, int(missing.sum())
                return
            except Exception as exc:  # a damaged file is rebuilt, not trusted
                log.warning("rebuilding %s index: %s could not be used (%s)", kind, path, exc)
        self._build_ann(kind)

    def _build_ann(self, kind: str) -> None:
        started = time.perf_counter()
        params = {k: v for k, v in self.index_params.items() if k != "trained_on"}
        ann = make_index(kind, self.table.dim, self.table.metric, **params)
        ann.add(self.table.chunk_ids, self.table.matrix)
        self._ann, self._ann_dirty = ann, len(self.table) or 1
        log.info(
            "built %s index over %d vectors in %.1f s",
            kind,
            len(self.table),
            time.perf_counter() - started,
        )

    def _maybe_switch_or_rebuild(self) -> None:
        kind = self._wanted_ann_kind()
        current = getattr(self._ann, "kind", None)
        if kind != current:
            self._ann = None
            if kind is not None:
                self._build_ann(kind)
        elif kind is None:  # no ANN index wanted and none held
            return
        elif (
            self._ann is not None
            and getattr(self._ann, "tombstone_ratio", 0.0) > REBUILD_TOMBSTONE_RATIO
        ):
            self._build_ann(kind)
        elif isinstance(self._ann, IvfIndex) and len(self.table) > 4 * max(
            self._ann.params["trained_on"], 1
        ):
            self._build_ann(kind)  # cells trained on a small start no longer fit the data

    def save_index(self, force: bool = False) -> None:
        """Persist the ANN index if it changed enough since the last save (atomic write)."""
        with self._lock:
            if self._ann is None or not self._ann_dirty:
                return
            if force or self._ann_dirty >= max(1000, len(self.table) // 10):
                self._ann.save(self._index_path(self._ann.kind))
                self._ann_dirty = 0

    def filter_mask(self, where: dict[str, Any], rowids: Callable[[], np.ndarray]) -> np.ndarray:
        """Which table items pass ``where``: the store's matching ``rowids()`` turned into
        a mask, kept for the FILTER_MASKS most recent filters until the next write. A
        server under one tenant's filter then pays the store's scan (a full pass over the
        items' metadata, ~0.3 s at 1M items) once per write, not once per query."""
        key = (json.dumps(where, sort_keys=True, default=str), self.generation)
        with self._lock:
            mask = self._filter_masks.get(key)
            if mask is not None:
                self._filter_masks.move_to_end(key)
                return mask
        mask = _positions_mask(self.table.items, rowids())
        with self._lock:
            stale = [k for k in self._filter_masks if k[1] != self.generation]
            for old in stale:
                del self._filter_masks[old]
            self._filter_masks[key] = mask
            while len(self._filter_masks) > FILTER_MASKS:
                self._filter_masks.popitem(last=False)
        return mask

    def run(self, fn: Callable[[SearchView], T]) -> T:
        """``fn(self)`` on an up-to-date view. A reader that finds the store moved on
        underneath it (``StaleView``: an item deleted, texts out of step) catches up and
        starts again, so no result ever mixes two states of the store."""
        for attempt in range(RUN_ATTEMPTS):
            self.refresh(force=attempt > 0)
            try:
                return fn(self)
            except StaleView:
                continue
        raise StaleView("the space kept changing during the search; retry")

    # -- searching ------------------------------------------------------------------------
    @property
    def dense(self) -> DenseSearcher:
        index = (
            self._ann
            if self._ann is not None
            else ExactIndex.over(self.table.chunk_ids, self.table.matrix, self.table.metric)
        )
        return DenseSearcher(self.table, index)

    @property
    def index_name(self) -> str:
        return getattr(self._ann, "kind", "exact")

    def sparse(self, model: str) -> SparseSearcher:
        """The keyword searcher of ``model``, caught up with this view's generation (only
        new and changed texts are analysed again)."""
        with self._lock:
            searcher = self._sparse.get(model) or SparseSearcher(model)
            if self._sparse_generation.get(model) != self.generation:
                rowids, texts = self._store.texts()
                if not np.array_equal(rowids, self.table.items):
                    raise StaleView
                searcher = searcher.updated(rowids, texts)
                self._sparse[model], self._sparse_generation[model] = searcher, self.generation
            return searcher


def _positions_mask(items: np.ndarray, rowids: np.ndarray) -> np.ndarray:
    """Which of the sorted ``items`` are in ``rowids``: a binary search per matching row
    (the store's index hands over only those), not a pass that sorts all of them."""
    mask = np.zeros(len(items), dtype=bool)
    if len(items) == 0 or len(rowids) == 0:
        return mask
    positions = np.searchsorted(items, rowids)
    inside = positions < len(items)
    positions = positions[inside]
    mask[positions[items[positions] == rowids[inside]]] = True
    return mask
