"""HNSW graph index (FAISS ``IndexHNSWFlat``): fast, memory-hungry, no native delete.

Deleted labels become tombstones hidden by an ID selector; the owner rebuilds the graph
when ``tombstone_ratio`` grows (see ``Space``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Metric
from .faiss_base import FaissIndex


class HnswIndex(FaissIndex):
    kind = "hnsw"

    def __init__(
        self,
        dim: int,
        metric: Metric = "cosine",
        *,
        M: int = 32,
        ef_construction: int = 200,
        ef_search: int = 96,
    ) -> None:
        super().__init__(dim, metric, M=M, ef_construction=ef_construction, ef_search=ef_search)

    def _build(self, vectors: np.ndarray) -> Any:
        index = self.faiss.IndexHNSWFlat(self.dim, self.params["M"], self._faiss_metric())
        index.hnsw.efConstruction = self.params["ef_construction"]
        return index

    def _search_params(self, selector: Any) -> Any:
        return self.faiss.SearchParametersHNSW(sel=selector, efSearch=self.params["ef_search"])

    def set_ef_search(self, ef_search: int) -> None:
        """Trade speed for recall at query time."""
        self.params["ef_search"] = int(ef_search)
        self._plain_params = None
