"""Outliers: items far from their neighbours, scored two ways from one k-NN graph.

* **k-NN distance**: the mean cosine distance to an item's k nearest neighbours. Simple
  and global: an item nobody resembles scores high.
* **Local outlier factor** (Breunig et al. 2000): how much sparser an item's neighbourhood
  is than its neighbours' own neighbourhoods. It adapts to density, so a loose but
  genuine topic is not flagged just for being loose.

Both come from the same ``knn_graph`` (exact blocks or HNSW), so scoring 100k items never
builds an n x n matrix. LOF is computed here from the graph (a few array operations)
rather than by a second neighbour search inside scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .neighbours import Neighbours

SCORES = ("knn", "lof")
#: Added to reachability means as scikit-learn does: exact copies have distance 0.
_EPS = 1e-10


@dataclass(frozen=True)
class Outlier:
    """An item and how unusual it is (higher = more of an outlier)."""

    id: str
    #: The score the list is sorted by (``knn_distance`` or ``lof``).
    score: float
    #: Mean cosine distance (1 - cosine) to the k nearest neighbours.
    knn_distance: float
    #: Local outlier factor: about 1 inside a cluster, well above 1 for outliers.
    lof: float

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "score": round(self.score, 6),
            "knn_distance": round(self.knn_distance, 6),
            "lof": round(self.lof, 6),
        }


def outlier_scores(graph: Neighbours) -> tuple[np.ndarray, np.ndarray]:
    """(mean k-NN cosine distance, local outlier factor) of every row of the graph.

    A row with no neighbour at all (a space of one item) scores 0 and 1: nothing to
    compare it with makes it ordinary, not infinitely odd.
    """
    if graph.k == 0:
        return np.zeros(len(graph.indices)), np.ones(len(graph.indices))
    valid = graph.indices >= 0
    lonely = ~valid.any(axis=1)
    valid[lonely] = False
    distance = np.where(valid, 1.0 - graph.scores.astype(np.float64), np.nan)
    distance[lonely] = 0.0  # placeholders, so the nan-means below have something to average
    knn = np.nanmean(distance, axis=1)
    # k-distance of each row: distance to its farthest (k-th) found neighbour
    k_distance = np.nanmax(distance, axis=1)
    neighbour = np.where(valid, graph.indices, 0)
    reach = np.where(valid, np.maximum(k_distance[neighbour], distance), np.nan)
    reach[lonely] = 0.0
    lrd = 1.0 / (np.nanmean(reach, axis=1) + _EPS)
    neighbour_lrd = np.where(valid, lrd[neighbour], np.nan)
    neighbour_lrd[lonely] = lrd[lonely, None]
    lof = np.nanmean(neighbour_lrd, axis=1) / lrd
    return knn, lof
