"""HNSW graph index (FAISS ``IndexHNSWFlat``): fast, memory-hungry, no native delete.

Deleted labels become tombstones hidden by an ID selector; the owner rebuilds the graph
when ``tombstone_ratio`` grows (see ``Space``).

After a bulk add the graph is laid out again in reverse Cuthill-McKee order of its base
layer (``locality_order``): FAISS stores nodes in insertion order, so a walk jumps all
over the vectors and neighbour lists; renumbered, a node's neighbours mostly sit a few
rows away and share cache lines and pages. Same graph, same results, more queries per
second at recall@10 = 0.95: +2-8% on GloVe 390k (50-d) and +16-19% on MiniLM 13k (384-d)
in two `make bench` runs (docs/benchmarks.md, "raw faiss (insertion order)"). The
ordering costs ~1.5 s per 400k nodes, ~1.5% of the build. Unfiltered searches also use
FAISS's unbounded candidate queue (see ``_search_params``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Metric
from .faiss_base import FaissIndex

#: A batch at least this share of the index (after adding) re-lays the graph out: a bulk
#: build or a large growth step, not every small add (ordering is O(edges)).
REORDER_SHARE = 0.5


def locality_order(hnsw: Any, faiss: Any) -> np.ndarray:
    """New-to-old node order that puts graph neighbours next to each other in memory
    (reverse Cuthill-McKee over the base layer, which every search walks)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    offsets = faiss.vector_to_array(hnsw.offsets).astype(np.int64)
    neighbours = faiss.vector_to_array(hnsw.neighbors)
    width = hnsw.nb_neighbors(0)
    nodes = len(offsets) - 1
    base_layer = neighbours[offsets[:-1, None] + np.arange(width)[None, :]]
    present = base_layer >= 0  # rows are padded with -1
    row_starts = np.concatenate([[0], np.cumsum(present.sum(axis=1))])
    targets = base_layer[present]  # row by row, so it matches row_starts (CSR, no COO copy)
    graph = csr_matrix(
        (np.ones(len(targets), dtype=np.int8), targets, row_starts), shape=(nodes, nodes)
    )
    return reverse_cuthill_mckee(graph, symmetric_mode=False).astype(np.int64)


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
        """Unfiltered searches use FAISS's unbounded candidate queue (hnswlib's search
        loop): same recall, 8-10% more queries/s on GloVe 390k at every efSearch tried
        (16-128). It ignores ID selectors, so filters and tombstones keep the bounded one."""
        return self.faiss.SearchParametersHNSW(
            sel=selector, efSearch=self.params["ef_search"], bounded_queue=selector is not None
        )

    def add(self, labels: np.ndarray, vectors: np.ndarray) -> None:
        super().add(labels, vectors)
        if self._index is not None and len(labels) >= REORDER_SHARE * self._index.ntotal:
            self._reorder_for_locality()

    def _reorder_for_locality(self) -> None:
        """Renumber the graph's nodes in ``locality_order``, ids following their vectors."""
        graph = self.faiss.downcast_index(self._index.index)
        order = locality_order(graph.hnsw, self.faiss)
        ids = self._stored_ids()[order]
        graph.permute_entries(order)
        self.faiss.copy_array_to_vector(ids, self._index.id_map)
        self._index.construct_rev_map()

    def set_ef_search(self, ef_search: int) -> None:
        """Trade speed for recall at query time."""
        self.params["ef_search"] = int(ef_search)
        self._plain_params = None
