"""Maximal marginal relevance over a space, for the frameworks' MMR searches.

The frameworks ask for ``k`` results picked among the ``fetch_k`` nearest with a weight
``lambda_mult`` on relevance (1 = closest first, 0 = most varied). The space already
has MMR for recommendations (``analysis/recommend.py``, weighted by ``diversity`` =
1 - lambda_mult); it runs here on the candidates' item vectors, the ones that ranking
and recommendations use, so the frameworks get the same selection as the space.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis.recommend import mmr
from ..errors import InvalidInputError
from ..search.results import Hit
from ..space import Space
from ..validation import check_k

#: Candidates MMR chooses among unless told (LangChain's default fetch_k).
DEFAULT_FETCH_K = 20


def mmr_search(
    space: Space,
    vector: np.ndarray,
    k: int,
    fetch_k: int,
    lambda_mult: float,
    where: dict[str, Any] | None = None,
) -> list[Hit]:
    """``k`` hits among the ``fetch_k`` closest to ``vector``, picked by MMR."""
    if isinstance(lambda_mult, bool) or not isinstance(lambda_mult, int | float):
        raise InvalidInputError(
            f"lambda_mult must be a number between 0 and 1, got {lambda_mult!r}"
        )
    if not 0.0 <= lambda_mult <= 1.0:
        raise InvalidInputError(
            f"lambda_mult must be between 0 (most varied) and 1 (closest first), got {lambda_mult}"
        )
    k = check_k(k)
    hits = space.search_vector(vector, k=max(k, check_k(fetch_k)), where=where)
    if not hits:
        return []
    vectors = space.vectors([h.id for h in hits])
    relevance = np.array([h.score for h in hits], dtype=np.float32)
    return [hits[i] for i in mmr(relevance, vectors, k, 1.0 - float(lambda_mult))]
