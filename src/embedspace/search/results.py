"""What a search returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Hit:
    """One result: the item, its score (higher is better) and, for chunked documents,
    the character span of the best-matching chunk."""

    id: str
    score: float
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    chunk: tuple[int, int] | None = None

    @property
    def chunk_text(self) -> str:
        """The best-matching part of the text (the whole text if it was not chunked)."""
        return self.text[self.chunk[0] : self.chunk[1]] if self.chunk else self.text

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "score": self.score,
            "text": self.text,
            "metadata": self.metadata,
            "chunk": list(self.chunk) if self.chunk else None,
        }


@dataclass
class Ranking:
    """Item positions (into the view's item arrays) and scores, best first."""

    positions: np.ndarray
    scores: np.ndarray

    @classmethod
    def top(cls, scores: np.ndarray, k: int, eligible: np.ndarray | None = None) -> Ranking:
        """The k best positions of a per-item score array among ``eligible`` ones."""
        candidates = np.flatnonzero(eligible) if eligible is not None else np.arange(len(scores))
        if len(candidates) == 0 or k <= 0:
            return cls(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))
        values = scores[candidates]
        k = min(k, len(candidates))
        part = np.argpartition(-values, k - 1)[:k]
        order = part[np.argsort(-values[part], kind="stable")]
        return cls(candidates[order], values[order])
