"""What a search returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..ingest.layout import Layout


def locator(page: int | None, section: str | None) -> str:
    """How a passage is cited: "p. 7 § Results", "p. 7", "§ Install > From source" or ""."""
    parts = ([f"p. {page}"] if page is not None else []) + ([f"§ {section}"] if section else [])
    return " ".join(parts)


@dataclass
class Hit:
    """One result: the item, its score (higher is better) and, for chunked documents,
    the character span of the best-matching chunk.

    ``page`` and ``section`` say where that chunk starts in a document (the whole item's
    start when the hit has no chunk): read from the item's layout, so they always agree
    with ``chunk``, also after re-ranking moves it."""

    id: str
    score: float
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    chunk: tuple[int, int] | None = None
    layout: Layout | None = field(default=None, repr=False, compare=False)

    @property
    def chunk_text(self) -> str:
        """The best-matching part of the text (the whole text if it was not chunked)."""
        return self.text[self.chunk[0] : self.chunk[1]] if self.chunk else self.text

    @property
    def page(self) -> int | None:
        """1-based page where the best chunk starts (PDFs); None for texts without pages."""
        return self.layout.page_at(self._start) if self.layout else None

    @property
    def section(self) -> str | None:
        """Heading path in force where the best chunk starts ("Install > From source");
        None when the source had no headings (or the chunk comes before the first)."""
        return self.layout.section_at(self._start) if self.layout else None

    @property
    def locator(self) -> str:
        """ "p. 7 § Results": page and section as the CLI and citations print them."""
        return locator(self.page, self.section)

    @property
    def _start(self) -> int:
        return self.chunk[0] if self.chunk else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "score": self.score,
            "text": self.text,
            "metadata": self.metadata,
            "chunk": list(self.chunk) if self.chunk else None,
            "page": self.page,
            "section": self.section,
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
