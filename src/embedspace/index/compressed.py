"""Compressed first-stage indexes: int8 codes (FAISS), binary sign codes, truncation.

Both only approximate similarity, so they declare ``approximate_scores``: the Space's
dense searcher then fetches 10x the candidates and re-scores them with the full float
vectors (two-stage search). int8 costs 1 byte a dimension (4x smaller than float32),
binary 1 bit (32x smaller); docs/benchmarks.md measures what each costs in nDCG.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_path
from ..errors import InvalidInputError
from .base import Metric, as_metric, pad_results, prepare_vectors
from .exact import ExactIndex, top_k
from .faiss_base import FaissIndex
from .quantization import hamming_scores, quantize_binary


class Int8Index(FaissIndex):
    """FAISS ``IndexScalarQuantizer`` (8 bits a dimension, trained ranges), brute force."""

    kind = "int8"
    native_remove = True
    approximate_scores = True

    def _build(self, vectors: np.ndarray) -> Any:
        index = self.faiss.IndexScalarQuantizer(
            self.dim, self.faiss.ScalarQuantizer.QT_8bit, self._faiss_metric()
        )
        index.train(vectors)
        return index

    def _remove_native(self, labels: np.ndarray) -> int:
        return int(self._index.remove_ids(np.ascontiguousarray(labels, dtype=np.int64)))

    def _search_params(self, selector: Any) -> Any:
        return self.faiss.SearchParameters(sel=selector)


class BinaryIndex:
    """Sign bits packed 8 to a byte, scanned by Hamming distance (numpy popcount)."""

    kind = "binary"
    approximate_scores = True

    def __init__(self, dim: int, metric: Metric = "cosine") -> None:
        self.dim, self.metric = dim, metric
        self._labels = np.empty(0, dtype=np.int64)
        self._codes = np.empty((0, (dim + 7) // 8), dtype=np.uint8)

    def __len__(self) -> int:
        return len(self._labels)

    def labels(self) -> np.ndarray:
        return np.sort(self._labels)

    def add(self, labels: np.ndarray, vectors: np.ndarray) -> None:
        vectors = prepare_vectors(vectors, self.dim, self.metric)
        self._labels = np.concatenate([self._labels, np.asarray(labels, dtype=np.int64)])
        self._codes = np.concatenate([self._codes, quantize_binary(vectors)])

    def remove(self, labels: Iterable[int]) -> int:
        drop = np.isin(self._labels, np.fromiter(labels, dtype=np.int64))
        self._labels, self._codes = self._labels[~drop], self._codes[~drop]
        return int(drop.sum())

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        queries = prepare_vectors(queries, self.dim, self.metric)
        rows = (
            np.arange(len(self._labels))
            if allowed is None
            else np.flatnonzero(np.isin(self._labels, allowed))
        )
        idx, top = top_k(hamming_scores(self._codes[rows], queries, self.dim), k)
        return pad_results(self._labels[rows][idx], top.astype(np.float32), k)

    def save(self, path: Path) -> None:
        with atomic_path(path) as tmp, tmp.open("wb") as handle:
            np.savez(
                handle, labels=self._labels, codes=self._codes, dim=self.dim, metric=self.metric
            )

    @classmethod
    def load(cls, path: Path) -> BinaryIndex:
        with np.load(path) as data:
            index = cls(int(data["dim"]), as_metric(str(data["metric"])))
            index._labels, index._codes = data["labels"], data["codes"]
        return index


class TruncatedIndex:
    """The first ``prefix`` dimensions of each vector, re-normalised (Matryoshka-style).

    A cheaper first stage for two-stage search: the Space re-scores its candidates with
    the full vectors. Models trained Matryoshka-style lose little; the packaged MiniLM is
    not, which docs/benchmarks.md quantifies.
    """

    kind = "truncated"
    approximate_scores = True

    def __init__(self, dim: int, metric: Metric = "cosine", *, prefix: int = 128) -> None:
        if not 0 < prefix <= dim:
            raise InvalidInputError(f"prefix must be within 1..{dim}, got {prefix}")
        self.dim, self.metric, self.prefix = dim, metric, prefix
        self._inner = ExactIndex(prefix, metric)

    def __len__(self) -> int:
        return len(self._inner)

    def labels(self) -> np.ndarray:
        return self._inner.labels()

    def _cut(self, vectors: np.ndarray) -> np.ndarray:
        return prepare_vectors(vectors, self.dim, self.metric)[:, : self.prefix]

    def add(self, labels: np.ndarray, vectors: np.ndarray) -> None:
        self._inner.add(labels, self._cut(vectors))

    def remove(self, labels: Iterable[int]) -> int:
        return self._inner.remove(labels)

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        return self._inner.search(self._cut(queries), k, allowed)

    def save(self, path: Path) -> None:
        """Rebuilt from the store's full vectors (cheap): nothing to save."""
