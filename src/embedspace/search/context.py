"""RAG context: turn ranked hits into a prompt-ready block of passages with citations.

Steps, in order, each for a reason:

1. passages = each hit's matched chunk (its span), so a long document contributes the
   part that answers the question, not its first page;
2. near-duplicates are dropped greedily (a passage whose cosine to an already kept one is
   >= ``dedupe``): copies of the same text waste the prompt's budget;
3. passages are added best first while they fit ``max_tokens`` counted with the model's
   own tokenizer; one that does not fit is skipped (a smaller, later one may still fit);
   if not even the best passage fits, it is cut at a token boundary;
4. ``order="relevance"`` keeps the best first; ``"source"`` groups passages of the same
   document and puts them in reading order, which reads better for long documents.

Each passage is numbered ``[n]`` in the text, and ``citations[n-1]`` says where it came
from (item id + character span, and for documents its page and section), so an answer
can cite its sources. A passage from a document is headed by where it stands,
``[n] (report.pdf p. 7 § Results)``, so the model reading the prompt can cite it too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from .results import Hit, locator

#: ``order=`` values: a plain str at the API, checked by check_context_args.
ORDERS = ("relevance", "source")
#: Cosine at which two passages count as the same text (all-MiniLM-L6-v2: copies and
#: light edits score >= 0.95; distinct passages on one topic rarely pass 0.9).
DEDUPE_COSINE = 0.95


@dataclass
class Citation:
    """Where passage ``[n]`` came from."""

    n: int
    id: str
    span: tuple[int, int]
    score: float
    metadata: dict[str, Any] = field(default_factory=dict)
    #: the page and heading path where the passage starts (documents; else None)
    page: int | None = None
    section: str | None = None

    @property
    def locator(self) -> str:
        return locator(self.page, self.section)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "id": self.id,
            "span": list(self.span),
            "score": self.score,
            "metadata": self.metadata,
            "page": self.page,
            "section": self.section,
        }


@dataclass
class Context:
    """A prompt-ready context: ``text`` with ``[n]`` markers and the citations behind them."""

    question: str
    text: str
    citations: list[Citation]
    tokens: int
    max_tokens: int
    dropped_duplicates: list[str] = field(default_factory=list)
    dropped_for_budget: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.text

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "text": self.text,
            "tokens": self.tokens,
            "max_tokens": self.max_tokens,
            "citations": [c.to_dict() for c in self.citations],
            "dropped_duplicates": self.dropped_duplicates,
            "dropped_for_budget": self.dropped_for_budget,
        }


@dataclass
class _Passage:
    hit: Hit
    span: tuple[int, int]

    @property
    def text(self) -> str:
        return self.hit.text[self.span[0] : self.span[1]].strip()

    @property
    def page(self) -> int | None:
        layout = self.hit.layout
        return layout.page_at(self.span[0]) if layout else None

    @property
    def section(self) -> str | None:
        layout = self.hit.layout
        return layout.section_at(self.span[0]) if layout else None


def _block(n: int, p: _Passage) -> str:
    where = locator(p.page, p.section)
    return f"[{n}] ({p.hit.id} {where}) {p.text}" if where else f"[{n}] {p.text}"


def check_context_args(max_tokens: int, dedupe: float, order: str) -> None:
    if not isinstance(max_tokens, int) or max_tokens < 16:
        raise InvalidInputError(f"max_tokens must be an integer >= 16, got {max_tokens!r}")
    if not 0.0 < dedupe <= 1.0:
        raise InvalidInputError(f"dedupe must be a cosine in (0, 1], got {dedupe}")
    if order not in ORDERS:
        raise InvalidInputError(f"order must be one of {ORDERS}, not {order!r}")


def build_context(
    question: str,
    hits: Sequence[Hit],
    *,
    embed: Callable[[list[str]], np.ndarray],
    token_spans: Callable[[str], list[tuple[int, int]]],
    max_tokens: int,
    dedupe: float = DEDUPE_COSINE,
    order: str = "relevance",
) -> Context:
    """Assemble the context from ranked ``hits`` (best first).

    ``embed`` gives unit vectors for duplicate checks; ``token_spans`` is the model's
    tokenizer (character spans of tokens), used for counting and for cutting."""
    check_context_args(max_tokens, dedupe, order)
    passages = [_Passage(h, h.chunk or (0, len(h.text))) for h in hits]
    passages = [p for p in passages if p.text]
    kept, duplicates = _dedupe(passages, embed, dedupe)

    def count(text: str) -> int:
        return len(token_spans(text))

    chosen: list[_Passage] = []
    over_budget: list[str] = []
    used = 0
    for p in kept:
        cost = count(_block(len(chosen) + 1, p)) + 1  # + the blank line between blocks
        if used + cost <= max_tokens:
            chosen.append(p)
            used += cost
        else:
            over_budget.append(p.hit.id)
    if not chosen and kept:
        chosen = [_cut(kept[0], max_tokens - 8, token_spans)]
        over_budget = over_budget[1:]
    if order == "source":
        first_seen: dict[str, int] = {}
        for p in chosen:
            first_seen.setdefault(p.hit.id, len(first_seen))
        chosen.sort(key=lambda p: (first_seen[p.hit.id], p.span[0]))
    blocks = [_block(n, p) for n, p in enumerate(chosen, start=1)]
    text = "\n\n".join(blocks)
    citations = [
        Citation(n, p.hit.id, p.span, p.hit.score, p.hit.metadata, p.page, p.section)
        for n, p in enumerate(chosen, start=1)
    ]
    return Context(question, text, citations, count(text), max_tokens, duplicates, over_budget)


def _dedupe(
    passages: list[_Passage], embed: Callable[[list[str]], np.ndarray], threshold: float
) -> tuple[list[_Passage], list[str]]:
    """Greedy: keep a passage unless it is as close as ``threshold`` to one kept before."""
    if len(passages) < 2 or threshold >= 1.0:
        return passages, []
    vectors = embed([p.text for p in passages])
    kept_rows: list[int] = []
    duplicates: list[str] = []
    for i, p in enumerate(passages):
        if kept_rows and float(np.max(vectors[kept_rows] @ vectors[i])) >= threshold:
            duplicates.append(p.hit.id)
        else:
            kept_rows.append(i)
    return [passages[i] for i in kept_rows], duplicates


def _cut(p: _Passage, budget: int, token_spans: Callable[[str], list[tuple[int, int]]]) -> _Passage:
    """The passage shortened to ``budget`` tokens (at a token boundary); span updated."""
    spans = token_spans(p.hit.text[p.span[0] : p.span[1]])
    if len(spans) <= budget:
        return p
    end = p.span[0] + spans[max(budget, 1) - 1][1]
    return _Passage(p.hit, (p.span[0], end))
