"""Atomic file replacement: a reader (or a restart after ``kill -9`` or power loss) sees
either the old file or the new one, never half of one.

The recipe: write a temporary file in the target's own folder (``os.replace`` is only
atomic within one file system), ``fsync`` it so its bytes are on disk before the rename
makes them visible, rename it over the target, then ``fsync`` the folder so the rename
itself survives a power cut. Temporary names carry the writer's pid and a random part:
two processes saving the same file never write into each other's temporary file, and
``embedspace check --repair`` can tell an abandoned one (dead pid) from a live one.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: ``.<target name>.<pid>.<random>.tmp``
_TMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp$")


def temp_path_for(target: Path) -> Path:
    """A fresh temporary path beside ``target`` (same folder, so the rename is atomic)."""
    target = Path(target)
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on folders
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write ``target``'s new content to; on success it is
    synced and renamed over ``target``, on failure removed (``target`` is untouched)."""
    target = Path(target)
    tmp = temp_path_for(target)
    try:
        yield tmp
        fsync_file(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


def write_bytes_atomic(target: str | Path, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def abandoned_temp_files(folder: Path) -> list[Path]:
    """Temporary files in ``folder`` whose writer process is gone (left by a crash)."""
    found = []
    for path in Path(folder).glob(".*.tmp"):
        match = _TMP.match(path.name)
        if match and not _pid_alive(int(match["pid"])):
            found.append(path)
    return sorted(found)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
