"""Zip-based documents (.docx, .epub) opened safely: bombs are refused before unpacking.

A zip archive says how large each member unpacks to. That is checked before anything
is read: an archive that would unpack to more than ``MAX_UNPACKED`` bytes, or holds a
large member squeezed more than ``MAX_RATIO`` times (real documents' XML compresses
10-30x; a bomb's zeros 1000x), is refused. A member that lies about its size fails its
own length and CRC check while it is read (zipfile stops at the declared size), so
memory stays bounded either way.
"""

from __future__ import annotations

import io
import zipfile

from ...errors import UnsupportedFileError

MAX_UNPACKED = 512 * 1024 * 1024
MAX_RATIO = 200
#: members below this size are never called bombs, however well they compress
_SMALL = 8 * 1024 * 1024


def open_zip(data: bytes, name: str, what: str) -> zipfile.ZipFile:
    """The archive in ``data`` (a ``what``, e.g. "Word document"), checked for bombs."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise UnsupportedFileError(
            f"{name} is not a readable {what}: not a zip archive, or a damaged one ({exc})"
        ) from exc
    total = sum(m.file_size for m in members)
    squeezed = [
        m
        for m in members
        if m.file_size > _SMALL and m.file_size > MAX_RATIO * max(m.compress_size, 1)
    ]
    if total > MAX_UNPACKED or squeezed:
        raise UnsupportedFileError(
            f"{name} would unpack to {total / 1e6:,.0f} MB from {len(data) / 1e6:,.1f} MB"
            + (
                f" ({squeezed[0].filename} alone {squeezed[0].file_size / 1e6:,.0f} MB)"
                if squeezed
                else ""
            )
            + "; refused as a likely zip bomb"
        )
    return archive


def read_member(archive: zipfile.ZipFile, member: str, name: str) -> bytes:
    """One member's bytes; a missing or damaged member is a clear error."""
    try:
        with archive.open(member) as handle:
            return handle.read()
    except KeyError as exc:
        raise UnsupportedFileError(
            f"{name} has no {member}; it is damaged or not what it says"
        ) from exc
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise UnsupportedFileError(f"{name}: {member} is damaged ({exc})") from exc
