"""Backups you can restore: ``embedspace backup SPACE DEST`` / ``Space.backup(dest)`` and
``embedspace restore DEST SPACE``.

A backup is a folder: the store copied by SQLite's online backup API (one read
transaction, so writers keep committing while it runs and the copy is one committed
state), the index files and thumbnails beside it, and ``backup.json`` naming every file
with its size and SHA-256. The database is kept as ``space.sqlite.backup``: a backup is
not a space, so nobody opens (and changes) it by mistake; restore makes it one again.

Why it cannot look whole when it is not: the backup is built in a hidden temporary folder
beside DEST, every file synced, the manifest written last, and only then renamed to DEST.
A full disk or any error removes the temporary folder; a kill leaves it hidden and
without a manifest, and restore refuses a folder without one. Restore works the same way
round: files copied into a temporary folder beside the target and verified against the
manifest, ``check`` run on the copy, and only then renamed into place.

Index files are caches of the store (docs/architecture.md): the copy taken may be a few
writes behind the database snapshot, and is caught up from the store when the restored
space opens (``check`` calls that a note, not an error). A file whose sidecar belongs to
another save (the space saved it while it was being copied) is copied again, or left out.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import time
import zlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from .atomic import fsync_dir, fsync_file, temp_path_for
from .encoders.image import THUMBNAIL_DIR
from .errors import BackupError, NotSupportedError, SpaceExistsError
from .index.faiss_base import recorded_checksum, sidecar_of
from .integrity import check_path
from .store.factory import backend_name
from .store.sqlite import DB_NAME, online_backup

MANIFEST = "backup.json"
FORMAT = "embedspace-backup/1"
#: The database's name inside a backup (restore renames it back to space.sqlite).
STORED_DB = DB_NAME + ".backup"
#: Attempts at copying an index file the space keeps re-saving.
_INDEX_ATTEMPTS = 3
_BLOCK = 1 << 20


@dataclass
class BackupReport:
    """What a backup holds: the store's generation and counts at the snapshot."""

    source: str
    destination: str
    generation: int
    items: int
    chunks: int
    model_id: str
    files: int
    bytes: int
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RestoreReport:
    """A restored space: the backup's counts, and what ``check`` noted on the copy."""

    source: str
    destination: str
    generation: int
    items: int
    chunks: int
    replaced: bool
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def backup(space: str | Path, destination: str | Path) -> BackupReport:
    """Take a consistent online backup of the space folder ``space`` into the new folder
    ``destination`` (an existing empty folder is fine; anything else is refused)."""
    if backend_name(space) != "sqlite":
        raise NotSupportedError(
            f"{space} is a remote space: export it to the folder format first "
            "(`embedspace migrate URI snapshot.space`, then back up snapshot.space), or use "
            "the database's own tool (pg_dump); see docs/reliability.md"
        )
    folder, dest = Path(space), Path(destination)
    if not (folder / DB_NAME).is_file():
        raise BackupError(f"no space at {folder} to back up")
    _refuse_non_empty(dest, "a backup never overwrites anything")
    started = time.perf_counter()
    tmp = temp_path_for(dest)
    try:
        tmp.mkdir(parents=True)
        facts = online_backup(folder, tmp / STORED_DB)
        fsync_file(tmp / STORED_DB)
        notes = _copy_index_files(folder, tmp)
        _copy_thumbnails(folder, tmp)
        files = _inventory(tmp)
        manifest = {
            "format": FORMAT,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "source": str(folder.resolve()),
            **facts,
            "files": files,
        }
        _write_synced(tmp / MANIFEST, json.dumps(manifest, indent=1).encode())
        _sync_tree(tmp)
        os.replace(tmp, dest)  # onto nothing, or an empty folder (rename(2) allows that)
        fsync_dir(dest.parent)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError | sqlite3.Error):
            raise BackupError(
                f"backup of {folder} failed ({exc}); nothing was left at {dest}"
            ) from exc
        raise
    return BackupReport(
        str(folder),
        str(dest),
        facts["generation"],
        facts["items"],
        facts["chunks"],
        facts["model_id"],
        len(files),
        sum(f["bytes"] for f in files.values()),
        round(time.perf_counter() - started, 3),
        notes,
    )


def restore(source: str | Path, target: str | Path, *, force: bool = False) -> RestoreReport:
    """Bring the backup folder ``source`` back as the space folder ``target``.

    An existing target is refused unless ``force``. Every file is checked against the
    manifest and the copy must pass ``check`` before it replaces anything."""
    if backend_name(target) != "sqlite":
        raise NotSupportedError(
            f"restore writes a space folder, not {target}: restore into a folder, then "
            "`embedspace migrate FOLDER URI` (copies without re-embedding)"
        )
    backup_dir, dest = Path(source), Path(target)
    manifest = read_manifest(backup_dir)
    exists = dest.exists() and (not dest.is_dir() or any(dest.iterdir()))
    if exists and not force:
        raise SpaceExistsError(
            f"{dest} already exists; restoring would replace it: pass --force "
            "(force=True) to do that, or restore to a new path"
        )
    tmp = temp_path_for(dest)
    try:
        tmp.mkdir(parents=True)
        for name, expected in manifest["files"].items():
            _copy_verified(backup_dir, tmp, name, expected)
        os.replace(tmp / STORED_DB, tmp / DB_NAME)
        report = check_path(tmp)
        if not report.ok:
            raise BackupError(
                f"the backup in {backup_dir} restores to a space that fails check: "
                + "; ".join(report.errors)
            )
        _sync_tree(tmp)
        _swap_into_place(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return RestoreReport(
        str(backup_dir),
        str(dest),
        manifest["generation"],
        manifest["items"],
        manifest["chunks"],
        exists,
        report.notes,
    )


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest of a whole backup; anything else (an interrupted backup, a space,
    a folder of other files) is refused with why."""
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(
            f"{folder} is not a whole backup (no {MANIFEST}); an interrupted backup leaves "
            "none, so this one cannot be trusted"
        ) from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path} cannot be read ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not an embedspace backup manifest ({FORMAT})")
    files = manifest.get("files")
    if not isinstance(files, dict) or STORED_DB not in files:
        raise BackupError(f"{path} lists no database; the backup is damaged")
    for name in files:
        _safe_relative(name)
    return manifest


# -- helpers --------------------------------------------------------------------------------
def _refuse_non_empty(dest: Path, why: str) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise SpaceExistsError(f"{dest} already exists and is not empty; {why}")


def _copy_index_files(folder: Path, tmp: Path) -> list[str]:
    """Each index file with its own sidecar; a pair that keeps changing under the copy
    is left out (the restored space rebuilds it from the store)."""
    notes = []
    for path in sorted(folder.glob("index-*.faiss")):
        sidecar = sidecar_of(path)
        for _ in range(_INDEX_ATTEMPTS):
            try:
                meta_bytes = sidecar.read_bytes()
                size, crc = _copy_file(path, tmp / path.name)
            except FileNotFoundError:  # removed meanwhile (e.g. the space was emptied)
                break
            if (size, crc) == recorded_checksum(json.loads(meta_bytes)):
                _write_synced(sidecar_of(tmp / path.name), meta_bytes)
                break
        else:
            (tmp / path.name).unlink(missing_ok=True)
            notes.append(f"{path.name} kept changing while copied; the restore rebuilds it")
    return notes


def _copy_thumbnails(folder: Path, tmp: Path) -> None:
    """Every thumbnail file present (one deleted meanwhile is a note for check, and
    remade from its source image by ``check --repair``)."""
    source = folder / THUMBNAIL_DIR
    if not source.is_dir():
        return
    (tmp / THUMBNAIL_DIR).mkdir()
    for path in sorted(source.glob("*.jpg")):
        try:
            _copy_file(path, tmp / THUMBNAIL_DIR / path.name)
        except FileNotFoundError:
            (tmp / THUMBNAIL_DIR / path.name).unlink(missing_ok=True)


def _copy_file(source: Path, target: Path) -> tuple[int, int]:
    """Copy and fsync one file; its size and CRC-32 (what index sidecars record)."""
    size, crc = 0, 0
    with source.open("rb") as src, target.open("wb") as dst:
        while block := src.read(_BLOCK):
            dst.write(block)
            size, crc = size + len(block), zlib.crc32(block, crc)
        dst.flush()
        os.fsync(dst.fileno())
    return size, crc


def _inventory(tmp: Path) -> dict[str, dict[str, Any]]:
    return {
        path.relative_to(tmp).as_posix(): {"bytes": path.stat().st_size, "sha256": _sha256(path)}
        for path in sorted(tmp.rglob("*"))
        if path.is_file()
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _copy_verified(backup_dir: Path, tmp: Path, name: str, expected: dict) -> None:
    source, target = backup_dir / name, tmp / name
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copyfile(source, target)
    except FileNotFoundError:
        raise BackupError(f"the backup in {backup_dir} lacks {name}; it is damaged") from None
    fsync_file(target)
    if target.stat().st_size != expected.get("bytes") or _sha256(target) != expected.get("sha256"):
        raise BackupError(
            f"{name} in {backup_dir} does not match its checksum: the backup was damaged or "
            "changed after it was taken"
        )


def _safe_relative(name: str) -> None:
    """A manifest names files inside the backup only (no absolute paths, no ``..``)."""
    parts = PurePosixPath(name).parts
    if not parts or PurePosixPath(name).is_absolute() or ".." in parts or "\x00" in name:
        raise BackupError(f"the manifest names {name!r}, outside the backup; refused")


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _sync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_dir():
            fsync_dir(path)
    fsync_dir(folder)


def _swap_into_place(tmp: Path, dest: Path) -> None:
    """Rename the verified copy to ``dest``; an existing ``dest`` is moved aside first and
    removed once the copy is in place (a crash between the two renames leaves both
    hidden beside ``dest``, named after it)."""
    if dest.exists():
        old = temp_path_for(dest).with_suffix(".old")
        os.replace(dest, old)
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
