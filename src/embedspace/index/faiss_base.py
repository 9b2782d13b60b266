"""Shared machinery of the FAISS-backed indexes (HNSW, IVF).

FAISS ids are our chunk labels (``IndexIDMap2``). Filters and deletions both become an
``IDSelector`` at search time, so an index whose structure cannot delete (HNSW) hides
tombstoned labels instead, and is rebuilt by its owner once they pile up. Files are
written atomically (temp file + fsync + rename) with a checksum in the sidecar: a crash
mid-save leaves the previous index or a pair that ``load`` refuses, never a torn one.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ..atomic import write_bytes_atomic
from ..errors import MissingDependencyError
from .base import Metric, pad_results, prepare_vectors


def import_faiss() -> ModuleType:
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise MissingDependencyError("ANN indexes need faiss-cpu: pip install faiss-cpu") from exc
    return faiss


class TornIndexFileError(ValueError):
    """An index file and its sidecar come from different saves (a crash between the two
    renames). Expected after a kill, harmless: the owner rebuilds the index from the store."""


def sidecar_of(path: Path) -> Path:
    """The JSON sidecar saved beside an index file."""
    return path.with_name(path.name + ".json")


def recorded_checksum(sidecar: dict) -> tuple[int | None, int | None]:
    """(size, CRC-32) of the index file a sidecar was saved with: a copy of the file
    (a backup) that does not match them comes from another save than its sidecar."""
    return sidecar.get("bytes"), sidecar.get("crc32")


class FaissIndex:
    """Base class: subclasses build ``self._index`` and may support native removal."""

    kind = "faiss"
    native_remove = False

    def __init__(self, dim: int, metric: Metric = "cosine", **params: Any) -> None:
        self.faiss = import_faiss()
        self.dim, self.metric, self.params = dim, metric, params
        self._tombstones: set[int] = set()
        # FAISS objects differ by kind (IndexIDMap2 over HNSW, IndexIVF...) and are used
        # through members the base faiss.Index does not declare: Any; None until built.
        self._index: Any = None
        self._plain_params: Any = None  # cached search parameters without a selector
        self._dead: tuple[Any, Any] | None = None  # cached (selector hiding tombstones, batch)

    # -- subclass hooks -------------------------------------------------------------------
    def _faiss_metric(self) -> int:
        return (
            self.faiss.METRIC_L2 if self.metric == "euclidean" else self.faiss.METRIC_INNER_PRODUCT
        )

    def _build(self, vectors: np.ndarray) -> Any:
        raise NotImplementedError

    def _search_params(self, selector: Any) -> Any:
        raise NotImplementedError

    def _wrap(self, index: Any) -> Any:
        """Give the index our labels as ids (HNSW needs an id map; IVF stores ids itself)."""
        return self.faiss.IndexIDMap2(index)

    def _stored_ids(self) -> np.ndarray:
        return self.faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def _remove_native(self, labels: np.ndarray) -> int:
        raise NotImplementedError

    # -- protocol -------------------------------------------------------------------------
    def __len__(self) -> int:
        return 0 if self._index is None else int(self._index.ntotal) - len(self._tombstones)

    def labels(self) -> np.ndarray:
        if self._index is None:
            return np.empty(0, dtype=np.int64)
        ids = self._stored_ids()
        if self._tombstones:
            ids = ids[~np.isin(ids, np.fromiter(self._tombstones, dtype=np.int64))]
        return np.sort(ids)

    @property
    def tombstone_ratio(self) -> float:
        total = 0 if self._index is None else int(self._index.ntotal)
        return len(self._tombstones) / total if total else 0.0

    def add(self, labels: np.ndarray, vectors: np.ndarray) -> None:
        vectors = prepare_vectors(vectors, self.dim, self.metric)
        labels = np.ascontiguousarray(labels, dtype=np.int64)
        if len(labels) == 0:
            return
        if self._index is None:
            self._index = self._wrap(self._build(vectors))
        self._index.add_with_ids(vectors, labels)

    def remove(self, labels: Iterable[int]) -> int:
        labels = np.fromiter(labels, dtype=np.int64)
        if self._index is None or len(labels) == 0:
            return 0
        present = labels[np.isin(labels, self._stored_ids())]
        if self.native_remove:
            return self._remove_native(present)
        before = len(self._tombstones)
        self._tombstones.update(int(x) for x in present)
        self._dead = None
        return len(self._tombstones) - before

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        queries = prepare_vectors(queries, self.dim, self.metric)
        if self._index is None or k <= 0:
            empty = np.empty((len(queries), 0))
            return pad_results(empty.astype(np.int64), empty.astype(np.float32), k)
        # Selectors are C++ objects that reference each other by raw pointer: every one
        # stays bound to a local name until the search returns.
        selector = allowed_selector = None
        if allowed is not None:
            allowed_ids = np.ascontiguousarray(allowed, dtype=np.int64)
            allowed_selector = selector = self.faiss.IDSelectorBatch(allowed_ids)
        if self._tombstones:
            dead = self._live_selector()
            selector = (
                dead
                if allowed_selector is None
                else self.faiss.IDSelectorAnd(allowed_selector, dead)
            )
        if selector is None:  # the hot path: reuse one parameter object
            if self._plain_params is None:
                self._plain_params = self._search_params(None)
            params = self._plain_params
        else:
            params = self._search_params(selector)
        scores, labels = self._search_few_threads(queries, k, params)
        if self.metric == "euclidean":
            scores = -np.sqrt(np.maximum(scores, 0.0))
        scores[labels < 0] = -np.inf
        if allowed is not None and (labels < 0).any():
            return self._exact_among(queries, k, allowed, labels, scores)
        return labels, scores

    def _search_few_threads(self, queries: np.ndarray, k: int, params: Any) -> tuple:
        """One query cannot use several threads, but FAISS still starts an OpenMP team
        per call; for a handful of queries that start-up costs up to a third of the
        time. The thread count is per calling thread, so concurrent callers are unaffected."""
        if len(queries) > 2:
            return self._search_raw(queries, k, params)
        before = self.faiss.omp_get_max_threads()
        self.faiss.omp_set_num_threads(1)
        try:
            return self._search_raw(queries, k, params)
        finally:
            self.faiss.omp_set_num_threads(before)

    def _search_raw(self, queries: np.ndarray, k: int, params: Any) -> tuple:
        """FAISS's C++ search on our already prepared (float32, C-contiguous, checked)
        queries. Why not ``index.search``: its Python wrapper checks and copies the
        queries again, ~2 us per call, a good part of our wrapper's cost over raw
        FAISS on a 0.1 ms HNSW search (docs/benchmarks.md, ANN summary)."""
        n = len(queries)
        scores = np.empty((n, k), dtype=np.float32)
        labels = np.empty((n, k), dtype=np.int64)
        pointer = self.faiss.swig_ptr
        self._index.search_c(n, pointer(queries), k, pointer(scores), pointer(labels), params)
        return scores, labels

    def _live_selector(self) -> Any:
        """Selector hiding tombstones, built once per change of the tombstone set."""
        if self._dead is None:
            batch = self.faiss.IDSelectorBatch(np.fromiter(self._tombstones, dtype=np.int64))
            self._dead = (self.faiss.IDSelectorNot(batch), batch)  # keep batch alive
        return self._dead[0]

    def _exact_among(
        self,
        queries: np.ndarray,
        k: int,
        allowed: np.ndarray,
        labels: np.ndarray,
        scores: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """A selective filter can starve a graph/cell walk of results: when rows came back
        short although enough allowed labels exist, score the allowed vectors directly."""
        alive = np.asarray(allowed, dtype=np.int64)
        alive = alive[np.isin(alive, self._stored_ids())]
        if self._tombstones:
            alive = alive[~np.isin(alive, np.fromiter(self._tombstones, dtype=np.int64))]
        if len(alive) == 0 or (labels >= 0).sum(axis=1).min() >= min(k, len(alive)):
            return labels, scores
        from .exact import similarity, top_k

        vectors = np.vstack([self._index.reconstruct(int(label)) for label in alive])
        idx, top = top_k(similarity(queries, vectors, self.metric), k)
        return pad_results(alive[idx], top, k)

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the index and its sidecar ``.json`` (kind, params, tombstones, and the
        index file's size and CRC-32). Each file is replaced atomically; a crash between
        the two leaves a sidecar whose checksum does not match, so :meth:`load` refuses
        the pair and the owner rebuilds from the store instead of trusting a mix."""
        path = Path(path)
        if self._index is None:
            return
        data = self.faiss.serialize_index(self._index).tobytes()
        write_bytes_atomic(path, data)
        meta = {
            "kind": self.kind,
            "dim": self.dim,
            "metric": self.metric,
            "params": self.params,
            "tombstones": sorted(self._tombstones),
            "bytes": len(data),
            "crc32": zlib.crc32(data),
        }
        write_bytes_atomic(sidecar_of(path), json.dumps(meta).encode())

    @classmethod
    def load(cls, path: Path) -> FaissIndex:
        """Read an index saved by :meth:`save` (raises on a missing or damaged file)."""
        path = Path(path)
        meta = json.loads(sidecar_of(path).read_text())
        data = path.read_bytes()
        if (len(data), zlib.crc32(data)) != recorded_checksum(meta):
            raise TornIndexFileError(
                f"{path.name} does not match its checksum (torn or partial save)"
            )
        index = cls(meta["dim"], meta["metric"], **meta["params"])
        index._index = index.faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        if index._index.ntotal and index._index.d != meta["dim"]:
            raise ValueError(f"{path}: dimension mismatch")
        index._tombstones = set(meta["tombstones"])
        index._dead = None
        return index
