"""Keyword search: a sparse model (BM25 by default) over whole item texts."""

from __future__ import annotations

import numpy as np

from ..encoders.sparse import Bm25Model, sparse_model


class SparseSearcher:
    """Scores every item for a query with one of the sparse models."""

    def __init__(self, texts: list[str], model: str = "bm25") -> None:
        self.model = sparse_model(model).fit(texts)

    def item_scores(self, query: str) -> np.ndarray:
        return self.model.scores(query).astype(np.float32)

    def normalised(self, scores: np.ndarray, query: str) -> np.ndarray:
        """Scores on a 0..1 scale that depends on the query only, not on the results:
        BM25 / the best BM25 the query's terms could reach; cosine models already are."""
        if isinstance(self.model, Bm25Model):
            best_possible = self.model.max_score(query)
            return scores / best_possible if best_possible > 0 else scores
        return scores
