"""Ranking metrics, computed the way BEIR / pytrec_eval do."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

#: A document's key: its id (str) in the suites, its row number in the fusion study.
Doc = TypeVar("Doc", bound=Hashable)


def ndcg_at_k(ranked: Sequence[Doc], relevant: Mapping[Doc, int], k: int = 10) -> float:
    """nDCG@k with graded relevance (gain = relevance, log2 discount)."""
    dcg = sum(relevant.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(rel / math.log2(rank + 2) for rank, rel in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at_k(ranked: Sequence[Doc], relevant: Mapping[Doc, int], k: int = 100) -> float:
    """Fraction of relevant documents found in the top k."""
    wanted = {doc for doc, rel in relevant.items() if rel > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0
