"""IVF indexes (FAISS): coarse k-means cells, search only the ``nprobe`` nearest cells.

``IVF-Flat`` stores full vectors; ``IVF-PQ`` compresses them with product quantisation
(``pq_m`` sub-vectors of 8 bits), so its scores are approximate: the Space re-scores
candidates exactly from its own vectors. The quantiser is trained on the first batch
added; ``trained_on`` lets the owner retrain once the data has grown well past it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import Metric
from .faiss_base import FaissIndex


def auto_nlist(n: int) -> int:
    """About 4·sqrt(n) cells, but at least ~40 training points per cell."""
    return max(1, min(int(4 * math.sqrt(max(n, 1))), n // 39 or 1))


class IvfIndex(FaissIndex):
    native_remove = True

    @property
    def kind(self) -> str:  # type: ignore[override]  # FaissIndex.kind is a class attribute
        return "ivfpq" if self.params["pq_m"] else "ivf"

    @property
    def approximate_scores(self) -> bool:
        """PQ codes only approximate distances: callers should over-fetch and re-score."""
        return bool(self.params["pq_m"])

    def __init__(
        self,
        dim: int,
        metric: Metric = "cosine",
        *,
        nlist: int | None = None,
        nprobe: int | None = None,
        pq_m: int | None = None,
        trained_on: int = 0,
    ) -> None:
        super().__init__(dim, metric, nlist=nlist, nprobe=nprobe, pq_m=pq_m, trained_on=trained_on)

    def _build(self, vectors: np.ndarray) -> Any:
        nlist = self.params["nlist"] or auto_nlist(len(vectors))
        nlist = min(nlist, len(vectors))
        quantizer = (
            self.faiss.IndexFlatL2(self.dim)
            if self.metric == "euclidean"
            else self.faiss.IndexFlatIP(self.dim)
        )
        if self.params["pq_m"]:
            index = self.faiss.IndexIVFPQ(
                quantizer, self.dim, nlist, self.params["pq_m"], 8, self._faiss_metric()
            )
        else:
            index = self.faiss.IndexIVFFlat(quantizer, self.dim, nlist, self._faiss_metric())
        index.train(vectors)
        index.set_direct_map_type(self.faiss.DirectMap.Hashtable)  # reconstruct + remove by id
        index.own_fields = True
        quantizer.this.disown()
        self.params.update(nlist=nlist, trained_on=len(vectors))
        return index

    def _wrap(self, index: Any) -> Any:
        return index  # IVF keeps our ids in its inverted lists

    def _stored_ids(self) -> np.ndarray:
        lists = self._index.invlists
        parts = [
            self.faiss.rev_swig_ptr(lists.get_ids(cell), lists.list_size(cell)).copy()
            for cell in range(self._index.nlist)
            if lists.list_size(cell)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.empty(0, dtype=np.int64)

    def _remove_native(self, labels: np.ndarray) -> int:
        labels = np.ascontiguousarray(labels, dtype=np.int64)
        return int(
            self._index.remove_ids(
                self.faiss.IDSelectorArray(len(labels), self.faiss.swig_ptr(labels))
            )
        )

    def _search_params(self, selector: Any) -> Any:
        nprobe = self.params["nprobe"] or min(256, max(16, self.params["nlist"] // 4))
        return self.faiss.SearchParametersIVF(
            sel=selector, nprobe=min(nprobe, self.params["nlist"])
        )

    def set_nprobe(self, nprobe: int) -> None:
        self.params["nprobe"] = int(nprobe)
        self._plain_params = None
