"""Fusing dense and keyword rankings.

Two fusions over the union of both halves' candidates:

* ``convex`` (default) — ``alpha * cosine + (1 - alpha) * bm25 / bm25_max(query)``. The
  BM25 scale is the best score the query's own terms could reach, so a query whose words
  barely occur contributes little keyword weight and the dense ranking survives
  (paraphrases), while strong keyword matches lift documents dense search ranks low.
* ``rrf`` — reciprocal rank fusion, ``sum(1 / (60 + rank))``. Unlike a naive RRF over
  every document, only items that matched a query term are in the keyword list, so the
  arbitrary order of zero scores never hands out rank credit.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidInputError

FUSIONS = ("convex", "rrf")
RRF_K = 60


def rrf_scores(candidates: np.ndarray, ranked: np.ndarray, k: int = RRF_K) -> np.ndarray:
    """1 / (k + rank) for each candidate found in ``ranked`` (best first), else 0."""
    rank_of = {int(pos): rank for rank, pos in enumerate(ranked, start=1)}
    return np.array([1.0 / (k + rank_of[int(c)]) if int(c) in rank_of else 0.0 for c in candidates])


def convex_scores(dense: np.ndarray, sparse_normalised: np.ndarray, alpha: float) -> np.ndarray:
    return alpha * dense + (1.0 - alpha) * sparse_normalised


def check_fusion(fusion: str, alpha: float) -> None:
    """Validate fusion arguments up front, before any encoding work."""
    if fusion not in FUSIONS:
        raise InvalidInputError(f"fusion must be one of {FUSIONS}, not {fusion!r}")
    if not 0.0 <= alpha <= 1.0:
        raise InvalidInputError(f"alpha must be within [0, 1], got {alpha}")
