"""Fusing dense and keyword rankings.

Two fusions, both safe to leave on:

* ``rrf`` — reciprocal rank fusion, ``sum(w / (k + rank))``. Unlike a naive RRF over
  every document, an item gets keyword credit only if it matched a query term: otherwise
  the sparse ranking's arbitrary order among zero scores would hand rank credit to
  unrelated documents and drown the dense signal on paraphrased queries.
* ``convex`` — ``alpha * dense + (1 - alpha) * bm25 / bm25_max(query)``. The BM25 scale
  is the best score the query's own terms could reach, so a query whose words barely
  occur contributes little keyword weight and dense ranking survives.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidInputError
from .results import Ranking

FUSIONS = ("rrf", "convex")
RRF_K = 60


def rrf_scores(
    dense: np.ndarray,
    sparse: np.ndarray,
    eligible: np.ndarray | None,
    *,
    weights: tuple[float, float] = (1.0, 1.0),
    depth: int = 1000,
    k: int = RRF_K,
) -> np.ndarray:
    """Per-item RRF score from per-item dense and sparse scores (same alignment)."""
    fused = np.zeros(len(dense), dtype=np.float64)
    keyword_hits = sparse > 0
    keyword_eligible = keyword_hits if eligible is None else keyword_hits & eligible
    for weight, scores, allowed in (
        (weights[0], dense, eligible),
        (weights[1], sparse, keyword_eligible),
    ):
        ranking = Ranking.top(scores, depth, allowed)
        fused[ranking.positions] += weight / (k + 1 + np.arange(len(ranking.positions)))
    return fused


def convex_scores(dense: np.ndarray, sparse_normalised: np.ndarray, alpha: float) -> np.ndarray:
    if not 0.0 <= alpha <= 1.0:
        raise InvalidInputError(f"alpha must be within [0, 1], got {alpha}")
    return alpha * dense + (1.0 - alpha) * sparse_normalised


def check_fusion(fusion: str) -> None:
    if fusion not in FUSIONS:
        raise InvalidInputError(f"fusion must be one of {FUSIONS}, not {fusion!r}")
