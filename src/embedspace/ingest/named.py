"""Embed records under a named vector set (``store/named.py``): the same chunking and
image handling as the main vectors, with that set's own model.

Each set is chunked by its own model's token limit, so a set's chunks need not match
the main vectors' chunks; an image item (``modality="image"``) is embedded from its
source file by the set's model's image tower, as ``add_images`` embeds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..encoders.base import Encoder
from ..encoders.registry import load_image_encoder
from ..errors import InvalidInputError
from ..store.base import ChunkRecord, ItemRecord
from .chunking import SPECIAL_TOKEN_MARGIN
from .embedding import embed_records


def is_image(record: ItemRecord) -> bool:
    return record.metadata.get("modality") == "image" and record.source is not None


@dataclass
class VectorMaker:
    """What makes one vector set's chunks from records."""

    encoder: Encoder
    chunk_tokens: int | None
    chunk_overlap: int = 32

    @classmethod
    def for_encoder(cls, encoder: Encoder, chunk_overlap: int = 32) -> VectorMaker:
        """Chunks as long as the model reads (the default a space chooses for its model)."""
        limit = getattr(encoder, "max_tokens", None)
        return cls(encoder, limit - SPECIAL_TOKEN_MARGIN if limit else None, chunk_overlap)

    def chunks(self, records: Sequence[ItemRecord]) -> list[list[ChunkRecord]]:
        """Each record's chunks under this set, in the order of ``records``."""
        texts = [
            ItemRecord(r.id, r.text, r.metadata, r.text_hash, r.source, layout=r.layout)
            for r in records
            if not is_image(r)
        ]
        if texts:
            embed_records(self.encoder, texts, self.chunk_tokens, self.chunk_overlap)
        images = [r for r in records if is_image(r)]
        image_chunks: dict[str, list[ChunkRecord]] = {}
        if images:
            try:
                vectors = load_image_encoder(self.encoder).encode_images(
                    [str(r.source) for r in images]
                )
            except (OSError, ValueError) as exc:
                raise InvalidInputError(
                    f"the images of items {[r.id for r in images][:5]} must be read again to "
                    f"embed them with {self.encoder.model_id!r}, but could not be ({exc}); "
                    "restore the files or delete those items, then retry"
                ) from exc
            image_chunks = {
                r.id: [ChunkRecord(0, len(r.text), v)] for r, v in zip(images, vectors, strict=True)
            }
        by_id = {r.id: r.chunks for r in texts} | image_chunks
        return [by_id[r.id] for r in records]


def embed_named(makers: Mapping[str, VectorMaker], records: Sequence[ItemRecord]) -> None:
    """Fill in ``rec.named`` of each record under every set of ``makers``."""
    for name, maker in makers.items():
        for rec, chunks in zip(records, maker.chunks(records), strict=True):
            rec.named[name] = chunks
