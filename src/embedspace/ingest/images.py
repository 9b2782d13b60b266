"""Image files -> items with thumbnails, embedded by the space's image tower.

An image item's text is its path (relative to the folder named), so keyword search can
match file names; its change key is the hash of the file's bytes, so re-adding a folder
embeds only the pictures that changed. Its thumbnail (a <= 256 px JPEG named by that
hash, ``thumbnails.py``) is written before the item is committed: decoding the image to
make it is also what finds corrupt and truncated files, which are skipped and reported
without losing the rest of the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..encoders.base import Encoder
from ..encoders.image import (
    IMAGE_SUFFIXES,
    THUMBNAIL_DIR,
    ImageEncoder,
    image_digest,
    make_thumbnail,
)
from ..encoders.registry import load_image_encoder
from ..errors import ModelMismatchError, UnsupportedFileError
from ..store.base import ChunkRecord, ItemRecord, Store
from ..validation import check_ids, check_metadata
from .loaders import LoadedItem, discover


@dataclass
class ImageBatch:
    """Image files ready to upsert: their items, content digests by id, skipped files."""

    items: list[LoadedItem] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def digest(self, item: LoadedItem) -> str:
        """The change key of an item of this batch (its file's content hash)."""
        return self.digests[item.id]


def image_tower(encoder: Encoder, store: Store, location: str, *, record: bool) -> ImageEncoder:
    """The image tower for this space's model; a space never mixes two towers, so the
    first one used is recorded (``record``) and any other refused."""
    tower = load_image_encoder(encoder)
    stored = store.get_meta("image_model_id")
    if stored and stored != tower.model_id:
        raise ModelMismatchError(
            f"{location} holds images embedded by {stored!r}, but this install's image "
            f"tower is {tower.model_id!r}; re-embed the space to bring its images over "
            f"(space.reembed(<its model>) or `embedspace reembed {location} --model <its "
            "model>`: the images are read again from their files), or install the tower it "
            "was built with"
        )
    if record and not stored:
        store.set_meta({"image_model_id": tower.model_id})
    return tower


def load_images(
    paths: Sequence[str | Path] | str | Path,
    ids: Sequence[str] | None,
    metadata: Sequence[dict[str, Any]] | dict[str, Any] | None,
    folder: Path,
) -> ImageBatch:
    """Items for the image files under ``paths`` (files, folders, glob patterns), each
    with a thumbnail in the space ``folder``; ``metadata`` is one dict for all or one per
    file found, ``ids`` one per file found (default: the relative paths)."""
    if isinstance(paths, str | Path):
        paths = [paths]
    files = list(discover(map(Path, paths), IMAGE_SUFFIXES))
    names = [rel for _, rel in files]
    ids = check_ids(names if ids is None else ids, len(names))
    if metadata is None or isinstance(metadata, dict):
        metas = [check_metadata([metadata or {}], 1)[0]] * len(files)
    else:
        metas = check_metadata(metadata, len(files))
    batch = ImageBatch()
    for (file, rel), id_, extra in zip(files, ids, metas, strict=True):
        try:
            batch.digests[id_] = image_digest(file)
            thumbnail = Path(THUMBNAIL_DIR) / f"{batch.digests[id_]}.jpg"
            if not (folder / thumbnail).is_file():
                make_thumbnail(file, folder / thumbnail)  # decodes: catches bad files
        except (UnsupportedFileError, OSError) as exc:
            batch.skipped.append(str(exc))
            continue
        source = str(file.resolve())
        md = {**extra, "modality": "image", "path": source, "thumbnail": str(thumbnail)}
        batch.items.append(LoadedItem(id_, rel, md, source))
    return batch


def tower_embedder(tower: ImageEncoder) -> Callable[[list[ItemRecord]], None]:
    """Fill in each image record's one chunk: the tower's vector of its source file."""

    def embed(records: list[ItemRecord]) -> None:
        vectors = tower.encode_images([rec.source for rec in records])
        for rec, vector in zip(records, vectors, strict=True):
            rec.chunks = [ChunkRecord(0, len(rec.text), vector)]

    return embed
