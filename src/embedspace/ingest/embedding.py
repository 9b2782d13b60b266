"""Chunk records and embed the chunks: the one place where text becomes stored vectors.

Shared by ``Space.add`` (in process) and distributed ingest (in Ray workers), so a text
gets the same chunks and vectors wherever it is embedded.
"""

from __future__ import annotations

from ..encoders.base import Encoder, TokenizingEncoder
from ..errors import InvalidInputError
from ..store.base import ChunkRecord, ItemRecord
from .chunking import chunk_spans, structured_spans
from .layout import Layout


def embed_records(
    encoder: Encoder, records: list[ItemRecord], chunk_tokens: int | None, chunk_overlap: int
) -> None:
    """Fill in ``rec.chunks`` of each record, all embedded in one call: one chunk for a
    short text; for a long document with a layout, chunks of at most ``chunk_tokens`` cut
    where its structure allows (``structured_spans``); for a long plain text, windows of
    ``chunk_tokens`` overlapping by ``chunk_overlap`` (as every published figure was
    measured with)."""
    spans_per_item: list[list[tuple[int, int]]] = []
    chunk_texts: list[str] = []
    for rec in records:
        if chunk_tokens and len(rec.text) > chunk_tokens:
            if not isinstance(encoder, TokenizingEncoder):
                raise InvalidInputError(
                    f"chunk_tokens={chunk_tokens} needs a model with a tokenizer (token_spans "
                    f"and max_tokens); {encoder.model_id!r} has none: leave chunk_tokens unset"
                )
            token_spans = encoder.token_spans(rec.text)
            overlap = min(chunk_overlap, chunk_tokens - 1)
            layout = Layout.from_json(rec.layout)
            if layout:
                spans = structured_spans(token_spans, rec.text, chunk_tokens, overlap, layout)
            else:
                spans = chunk_spans(token_spans, len(rec.text), chunk_tokens, overlap)
        else:
            spans = [(0, len(rec.text))]
        spans_per_item.append(spans)
        chunk_texts.extend(rec.text[a:b] for a, b in spans)
    vectors = encoder.encode(chunk_texts, role="document")
    row = 0
    for rec, spans in zip(records, spans_per_item, strict=True):
        rec.chunks = [ChunkRecord(a, b, vectors[row + j]) for j, (a, b) in enumerate(spans)]
        row += len(spans)
