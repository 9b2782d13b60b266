"""Thumbnails are derived files: one JPEG per distinct image (named by its content hash),
shared by every item made from that image. Deleting or replacing the last item that uses
one removes it; ``check`` notes the ones no item uses (a crash between writing a thumbnail
and committing its item leaves one) and ``check --repair`` removes them, or makes a missing
one again from its source file when that file is still the same image.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from .encoders.image import (
    THUMBNAIL_DIR,
    image_digest,
    make_thumbnail,
    thumbnail_file,
    thumbnail_name,
)
from .errors import UnsupportedFileError
from .store.base import Store


def recorded_thumbnails(metadatas: Iterable[dict]) -> set[str]:
    """The thumbnail paths (as recorded, relative to the space) of these items' metadata."""
    return {md["thumbnail"] for md in metadatas if thumbnail_name(md)}


def drop_unused(store: Store, folder: Path, candidates: set[str]) -> int:
    """Remove the candidate thumbnails no item in ``store`` records any more; returns how
    many files went. Call it after the write that stopped using them has committed.

    Another process adding the same image at this very moment can lose its thumbnail
    (its item is not committed yet); the image stays searchable, ``check`` notes it and
    ``check --repair`` makes it again from the source file.
    """
    if not candidates:
        return 0
    users = store.filter_rowids({"thumbnail": {"$in": sorted(candidates)}})
    still_used = recorded_thumbnails(
        rec.metadata for rec in store.get_by_rowids(list(users)).values()
    )
    removed = 0
    for relative in candidates - still_used:
        target = folder / THUMBNAIL_DIR / Path(relative).name
        if target.is_file():
            target.unlink(missing_ok=True)  # another process may be removing it too
            removed += 1
    return removed


class Thumbnails:
    """The thumbnails of one space folder, as its writers need them."""

    def __init__(self, store: Store, folder: Path) -> None:
        self.store, self.folder = store, folder

    def used_by(self, ids: Sequence[str]) -> set[str]:
        """The thumbnails these items record (to drop once they are deleted or replaced)."""
        if not self.store.get_meta("image_model_id"):
            return set()  # no image was ever added: skip the lookup
        return recorded_thumbnails(rec.metadata for rec in self.store.get(ids))

    def drop_unused(self, candidates: set[str]) -> None:
        """Remove the candidates no item uses any more (after the write committed)."""
        drop_unused(self.store, self.folder, candidates)


class NoThumbnails:
    """A space without a folder (a remote backend) keeps no thumbnails."""

    def used_by(self, ids: Sequence[str]) -> set[str]:
        return set()

    def drop_unused(self, candidates: set[str]) -> None:
        """Nothing to remove."""


def thumbnails_for(store: Store, folder: Path | None) -> Thumbnails | NoThumbnails:
    """The thumbnail keeper of a space, chosen once when it opens."""
    return Thumbnails(store, folder) if folder is not None else NoThumbnails()


def unused_files(folder: Path, recorded: Iterable[str]) -> list[Path]:
    """Thumbnail files in the space folder that no recorded thumbnail path names."""
    names = {Path(r).name for r in recorded}
    directory = folder / THUMBNAIL_DIR
    if not directory.is_dir():
        return []
    return sorted(
        p for p in directory.iterdir() if p.name not in names and thumbnail_file(folder, p.name)
    )


def remake(folder: Path, relative: str, source: str) -> bool:
    """Make a missing thumbnail again from ``source`` if that file is still the image it
    was made from (its content hash is the thumbnail's name)."""
    if not thumbnail_name({"thumbnail": relative}):
        return False  # not a path add_images writes: nothing to make
    name = Path(relative).name
    try:
        if image_digest(Path(source)) != name.removesuffix(".jpg"):
            return False
        make_thumbnail(Path(source), folder / THUMBNAIL_DIR / name)
    except (OSError, UnsupportedFileError):
        return False
    return True
