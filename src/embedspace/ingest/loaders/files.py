"""Finding files in folders and reading each one once, whole and unchanged.

Folders are walked with linked folders followed but never twice: a symbolic link back
up the tree (a loop) or to a folder already read is reported and skipped, as is a link
that leads nowhere. A file is read in one go and checked against its own metadata
before and after, so a file being written meanwhile is refused (and its stored items
kept) instead of being half-read.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Collection, Iterable
from pathlib import Path

from ...errors import InvalidInputError, UnsupportedFileError


def read_stable(path: Path, max_bytes: int) -> bytes:
    """The bytes of ``path``, refusing oversized files and files that change while read."""
    try:
        before = os.stat(path)
        if before.st_size > max_bytes:
            raise UnsupportedFileError(
                f"{path} is {before.st_size / 1e6:.0f} MB, over the {max_bytes / 1e6:.0f} MB "
                "limit per file; split it into smaller files or raise max_bytes"
            )
        with open(path, "rb") as handle:
            # one byte more than it should hold: a file that grew shows as changed (and
            # read(n) reserves n bytes up front, so never ask for the limit itself)
            data = handle.read(before.st_size + 1)
        after = os.stat(path)
    except OSError as exc:
        raise UnsupportedFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    stamp = (before.st_ino, before.st_size, before.st_mtime_ns)
    if (after.st_ino, after.st_size, after.st_mtime_ns) != stamp or len(data) != after.st_size:
        raise UnsupportedFileError(
            f"{path} changed while it was being read; its items are left as they were. "
            "Add or sync it again once it is written"
        )
    return data


def _expand_globs(paths: Iterable[Path]) -> list[Path]:
    """``covers/*.jpg`` -> the matching paths (sorted); other paths pass through."""
    expanded: list[Path] = []
    for path in paths:
        if not path.exists() and any(ch in str(path) for ch in "*?["):
            matches = sorted(Path(p) for p in glob.glob(str(path), recursive=True))
            if not matches:
                raise InvalidInputError(f"no file matches {path}")
            expanded.extend(matches)
        else:
            expanded.append(path)
    return expanded


def _walk(folder: Path, suffixes: Collection[str], skipped: list[str]) -> list[tuple[Path, str]]:
    """Files under ``folder`` (absolute, symlinks in it unresolved) with their paths
    relative to it; hidden files and folders are left out."""
    found: list[tuple[Path, str]] = []
    seen = {os.path.realpath(folder)}
    for top, dirs, files in os.walk(folder, followlinks=True):
        here = Path(top)
        for name in sorted(dirs):
            linked = here / name
            if name.startswith("."):
                dirs.remove(name)
            elif linked.is_symlink():
                real = os.path.realpath(linked)
                if real in seen or folder.is_relative_to(real):
                    skipped.append(
                        f"{linked}: a link to a folder read already (a loop?); not followed"
                    )
                    dirs.remove(name)
                else:
                    seen.add(real)
            else:
                seen.add(os.path.realpath(linked))
        for name in sorted(files):
            file = here / name
            if name.startswith("."):
                continue
            if not file.exists():  # a dangling link or one that loops
                skipped.append(f"{file}: a symbolic link that leads to no file")
            elif file.is_file() and file.suffix.lower() in suffixes:
                found.append((file, file.relative_to(folder).as_posix()))
    return sorted(found, key=lambda pair: pair[1])


def discover(
    paths: Iterable[Path], suffixes: Collection[str], skipped: list[str] | None = None
) -> list[tuple[Path, str]]:
    """Expand files, folders and glob patterns into (file, id prefix) pairs, sorted.

    Inside folders only ``suffixes`` are picked up. Files inside a folder get ids relative
    to that folder, so a folder can be moved and synced again without changing ids.
    Links that loop or lead nowhere are listed in ``skipped`` (when given).
    """
    skipped = [] if skipped is None else skipped
    found: list[tuple[Path, str]] = []
    for path in _expand_globs(map(Path, paths)):
        if path.is_dir():
            found.extend(_walk(path.resolve(), suffixes, skipped))
        elif path.is_file():
            found.append((path, path.name))
        else:
            raise InvalidInputError(f"{path} does not exist")
    return found
