"""Chunk records and embed the chunks: the one place where text becomes stored vectors.

Shared by ``Space.add`` (in process) and distributed ingest (in Ray workers), so a text
gets the same chunks and vectors wherever it is embedded.
"""

from __future__ import annotations

from ..encoders.base import Encoder
from ..store.base import ChunkRecord, ItemRecord
from .chunking import structured_spans
from .layout import Layout


def embed_records(
    encoder: Encoder, records: list[ItemRecord], chunk_tokens: int | None, chunk_overlap: int
) -> None:
    """Fill in ``rec.chunks`` of each record: chunks of at most ``chunk_tokens`` cut where
    the text's structure allows (its layout's pages and sections, paragraphs, lines,
    sentences; else windows overlapping by ``chunk_overlap``) for long texts, one chunk
    otherwise; all embedded in one call."""
    spans_per_item, chunk_texts = [], []
    for rec in records:
        if chunk_tokens and len(rec.text) > chunk_tokens:
            spans = structured_spans(
                encoder.token_spans(rec.text),
                rec.text,
                chunk_tokens,
                min(chunk_overlap, chunk_tokens - 1),
                Layout.from_json(rec.layout),
            )
        else:
            spans = [(0, len(rec.text))]
        spans_per_item.append(spans)
        chunk_texts.extend(rec.text[a:b] for a, b in spans)
    vectors = encoder.encode(chunk_texts, role="document")
    row = 0
    for rec, spans in zip(records, spans_per_item, strict=True):
        rec.chunks = [ChunkRecord(a, b, vectors[row + j]) for j, (a, b) in enumerate(spans)]
        row += len(spans)
