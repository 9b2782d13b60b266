"""Recommendations: a profile vector from what someone liked, then diverse neighbours.

* **Profile** (Rocchio, from relevance feedback in IR): the mean of the liked vectors,
  plus a typed description if there is one, minus a share of the mean of the disliked
  ones, so results move toward what was liked and away from what was not. One liked
  item and nothing else is plain item-to-item "more like this".
* **Maximal marginal relevance** (Carbonell & Goldstein 1998) picks results one at a
  time, trading closeness to the profile against similarity to what was already picked:
  without it, five near-identical items fill the top five.
"""

from __future__ import annotations

import numpy as np

from ..encoders.base import l2_normalise
from ..errors import InvalidInputError

#: Rocchio weights: liked items and the typed description count fully, dislikes at half
#: (Rocchio's classic beta=0.75, gamma=0.15 used a query as the anchor; with no query the
#: liked mean is the anchor, and 0.5 pushes away clearly without flipping the profile).
LIKED_WEIGHT = 1.0
QUERY_WEIGHT = 1.0
DISLIKED_WEIGHT = 0.5


def profile_vector(
    liked: np.ndarray, disliked: np.ndarray, query: np.ndarray | None = None
) -> np.ndarray:
    """Unit (1, d) profile: ``liked`` mean + ``query`` - 0.5 x ``disliked`` mean."""
    if not len(liked) and query is None:
        raise InvalidInputError(
            "recommendations need something liked (ids or texts) or a query describing "
            "what to find; dislikes alone give no direction"
        )
    width = liked.shape[1] if query is None or len(liked) else query.shape[-1]
    profile = np.zeros(width, dtype=np.float64)
    if len(liked):
        profile += LIKED_WEIGHT * l2_normalise(liked).mean(axis=0)
    if query is not None:
        profile += QUERY_WEIGHT * l2_normalise(np.atleast_2d(query))[0]
    if len(disliked):
        profile -= DISLIKED_WEIGHT * l2_normalise(disliked).mean(axis=0)
    if not np.linalg.norm(profile) > 1e-9:
        raise InvalidInputError("the liked and disliked items cancel out: nothing to aim at")
    return l2_normalise(profile[None, :].astype(np.float32))


def check_diversity(diversity: float) -> float:
    if isinstance(diversity, bool) or not isinstance(diversity, int | float | np.floating):
        raise InvalidInputError(f"diversity must be a number between 0 and 1, got {diversity!r}")
    if not 0.0 <= float(diversity) <= 1.0:
        raise InvalidInputError(
            f"diversity must be between 0 (closest first) and 1 (most varied), got {diversity}"
        )
    return float(diversity)


def mmr(relevance: np.ndarray, vectors: np.ndarray, k: int, diversity: float) -> np.ndarray:
    """Positions of ``k`` candidates picked by maximal marginal relevance.

    Each step takes the candidate maximising ``(1 - diversity) * relevance -
    diversity * (max cosine to anything already picked)``. ``diversity=0`` is plain
    ranking by relevance.
    """
    k = min(k, len(relevance))
    if diversity == 0.0 or k <= 1:
        return np.argsort(-relevance, kind="stable")[:k]
    vectors = l2_normalise(np.asarray(vectors, dtype=np.float32))
    closest = np.full(len(relevance), -np.inf)
    picked: list[int] = []
    available = np.ones(len(relevance), dtype=bool)
    for _ in range(k):
        redundancy = np.where(np.isfinite(closest), closest, 0.0)
        gain = (1.0 - diversity) * relevance - diversity * redundancy
        gain[~available] = -np.inf
        best = int(np.argmax(gain))
        picked.append(best)
        available[best] = False
        closest = np.maximum(closest, vectors @ vectors[best])
    return np.asarray(picked, dtype=np.int64)
