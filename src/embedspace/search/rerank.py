"""Second stage: re-score a first stage's top candidates with a cross-encoder.

The cross-encoder reads the *matched passage*, not the document's start: a dense or
hybrid hit carries the span of its best chunk, and that span is what gets scored. A hit
without a span (keyword search ranks whole items) whose text is longer than the
cross-encoder's window is cut into overlapping windows on the cross-encoder's own
tokenizer and scored by its best window, which then becomes the hit's span.

``weight`` mixes the two stages: ``weight * cross + (1 - weight) * first / max(first)``.
The cross-encoder's sigmoid is in [0, 1]; dividing the first stage by the list's best
score puts cosine, convex-fused and raw BM25 scores on the same 0..1 footing. A little
of the first stage keeps its keyword and embedding evidence when the small
cross-encoder is unsure. ``weight=1`` is the cross-encoder's order alone.

The model's tuned setting (``weight=None``) also has a *confidence gate*: the mix
applies only to a query where the cross-encoder is sure that some candidate answers it
(its best score reaches ``gate``); otherwise the first stage's order stands. A small
cross-encoder that recognises no candidate is ordering weak matches by noise, and that
is where mixing it in lowered tasks on the suite (docs/benchmarks.md, "Re-ranker
settings"). An explicit ``weight`` mixes every query: a user who sets it asked for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ..encoders.reranker import CrossEncoder, reranker
from ..errors import InvalidInputError
from ..ingest.chunking import chunk_spans
from .results import Hit

#: How many first-stage candidates are re-scored by default: chosen with the weight on the
#: retrieval suite's dev queries (benchmarks/rerank_study.py; docs/benchmarks.md).
#: Depth 10, 20 and 30 score alike there, and 10 costs a third of 30.
RERANK_DEPTH = 10
#: Tokens of overlap between windows of a long, span-less hit.
WINDOW_OVERLAP = 32


def resolve(rerank: bool | str | Path | CrossEncoder | None) -> CrossEncoder | None:
    """``search(rerank=...)``: False/None = off, True = the default model, a name or
    folder = that cross-encoder, or a ready cross-encoder object."""
    if rerank is None or rerank is False:
        return None
    if rerank is True:
        return reranker("default")
    if isinstance(rerank, str | Path):
        return reranker(rerank)
    if callable(getattr(rerank, "score", None)):
        return rerank
    raise InvalidInputError(
        f"rerank must be True/False, a cross-encoder name or folder, or an object with "
        f".score(query, docs); got {type(rerank).__name__}"
    )


def default_weight(cross: CrossEncoder) -> float:
    """The mixing weight a model recommends in its config (tuned on held-out data), else 1."""
    return float(getattr(cross, "recommended_weight", None) or 1.0)


def default_gate(cross: CrossEncoder) -> float:
    """The confidence gate a model recommends with its weight, else 0 (always mix)."""
    return float(getattr(cross, "recommended_gate", None) or 0.0)


def check_rerank_args(depth: int, weight: float | None) -> None:
    if not isinstance(depth, int) or depth < 1:
        raise InvalidInputError(f"rerank_depth must be a positive integer, got {depth!r}")
    if weight is not None and not 0.0 <= weight <= 1.0:
        raise InvalidInputError(f"rerank_weight must be within [0, 1], got {weight}")


def _passages(cross: CrossEncoder, query: str, hit: Hit) -> list[tuple[int, int] | None]:
    """Spans to score for one hit: its matched chunk, else windows of a long text."""
    if hit.chunk is not None:
        return [hit.chunk]
    token_spans = getattr(cross, "token_spans", None)
    limit = getattr(cross, "max_length", None)
    if token_spans is None or limit is None:
        return [None]
    query_tokens = len(token_spans(query))
    window = max(limit - query_tokens - 3, 32)  # [CLS] query [SEP] passage [SEP]
    spans = token_spans(hit.text)
    if len(spans) <= window:
        return [None]
    return list(chunk_spans(spans, len(hit.text), window, min(WINDOW_OVERLAP, window - 1)))


def rerank_hits(
    cross: CrossEncoder,
    query: str,
    hits: Sequence[Hit],
    k: int,
    weight: float | None = None,
    gate: float | None = None,
) -> list[Hit]:
    """The k best of ``hits`` by ``weight * cross + (1 - weight) * first-stage score``,
    or by the first stage alone when no candidate's cross score reaches ``gate``.
    ``weight=None``: the model's tuned weight and gate; ``gate=None`` with an explicit
    weight: no gate."""
    if weight is None:
        weight, gate = default_weight(cross), default_gate(cross) if gate is None else gate
    owners, texts, spans = [], [], []
    for n, hit in enumerate(hits):
        for span in _passages(cross, query, hit):
            owners.append(n)
            spans.append(span)
            texts.append(hit.text[span[0] : span[1]] if span else hit.text)
    scores = cross.score(query, texts) if texts else []
    best: dict[int, tuple[float, tuple[int, int] | None]] = {}
    for owner, span, score in zip(owners, spans, scores, strict=True):
        if owner not in best or score > best[owner][0]:
            best[owner] = (float(score), span)
    if gate and max((s for s, _ in best.values()), default=0.0) < gate:
        weight = 0.0  # unsure of every candidate: the first stage's order, on the same scale
    top = max((h.score for h in hits), default=0.0)
    scale = 1.0 / top if top > 0 else 0.0
    rescored = []
    for n, hit in enumerate(hits):
        cross_score, span = best[n]
        mixed = weight * cross_score + (1.0 - weight) * hit.score * scale
        rescored.append(replace(hit, score=mixed, chunk=span if span else hit.chunk))
    rescored.sort(key=lambda h: -h.score)
    return rescored[:k]
