"""Fusing dense and keyword rankings, weighing keyword evidence by how much of the query
it covers.

Both fusions run over the union of both halves' candidates:

* ``convex`` (default) — ``alpha * cosine + (1 - alpha) * gate * bm25 / bound(query)``.
  The bound is the best score *every* query term could reach, words the corpus has never
  seen included (at the idf of a term no document contains), so a document's keyword
  credit is the share of the query it matches: one incidental word of a six-word
  question earns a sixth, not all of it. Function words and one-letter tokens are not
  looked up at all (``scoring.sparse.QUERY_ANALYZER``).
* ``rrf`` — reciprocal rank fusion, ``sum(1 / (60 + rank))``; only items that matched a
  query term are in the keyword list, and that list's share is scaled by the same gate.

``gate`` is the query's *coverage*: the share of its keyword weight (idf) carried by words
that occur in the corpus at all. Up to :data:`GATE_START` the keyword half gets nothing
(a query whose words mostly match nothing falls back to dense), then the gate rises
linearly to 1 when every word occurs. The rule and ``alpha`` = 0.6 were chosen on the
13-task retrieval suite (``eval/retrieval_suite.py``, docs/benchmarks.md): with a
corrected bound and this gate, hybrid stays within 0.02 of the better half on every
task, where the old bound lost 0.3 top-1 on a small FAQ.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidInputError

FUSIONS = ("convex", "rrf")
RRF_K = 60
#: Default share of the dense score in convex fusion.
DEFAULT_ALPHA = 0.6
#: Query coverage at and below which keywords get no weight.
GATE_START = 0.5


def keyword_gate(coverage: float | None) -> float:
    """Weight of the keyword half for a query of this coverage (None: unknown, full)."""
    if coverage is None:
        return 1.0
    return float(np.clip((coverage - GATE_START) / (1.0 - GATE_START), 0.0, 1.0))


def rrf_scores(candidates: np.ndarray, ranked: np.ndarray, k: int = RRF_K) -> np.ndarray:
    """1 / (k + rank) for each candidate found in ``ranked`` (best first), else 0."""
    rank_of = {int(pos): rank for rank, pos in enumerate(ranked, start=1)}
    return np.array([1.0 / (k + rank_of[int(c)]) if int(c) in rank_of else 0.0 for c in candidates])


def fuse(
    fusion: str,
    alpha: float,
    candidates: np.ndarray,
    dense: tuple[np.ndarray, np.ndarray],
    keyword: tuple[np.ndarray, np.ndarray],
    coverage: float | None,
) -> np.ndarray:
    """Fused score of each candidate.

    ``dense`` and ``keyword`` are each (score of every candidate, that half's own ranked
    list): keyword scores already divided by the query's bound (0..1).
    """
    gate = keyword_gate(coverage)
    (dense_scores, dense_ranked), (keyword_scores, keyword_ranked) = dense, keyword
    if fusion == "rrf":
        return rrf_scores(candidates, dense_ranked) + gate * rrf_scores(candidates, keyword_ranked)
    fused = alpha * np.asarray(dense_scores, dtype=np.float64)
    return fused + (1.0 - alpha) * gate * np.asarray(keyword_scores, dtype=np.float64)


def check_fusion(fusion: str, alpha: float) -> None:
    """Validate fusion arguments up front, before any encoding work."""
    if fusion not in FUSIONS:
        raise InvalidInputError(f"fusion must be one of {FUSIONS}, not {fusion!r}")
    if not 0.0 <= alpha <= 1.0:
        raise InvalidInputError(f"alpha must be within [0, 1], got {alpha}")
