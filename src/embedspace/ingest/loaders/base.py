"""What every loader takes and gives: a document's bytes in, items out.

Loaders work on bytes, not paths, so an e-mail's attachment goes through the same
loader as a file on disk, and a file is read once (``files.read_stable``) however it is
parsed. Problems are never silent: a whole document that cannot be used raises
:class:`UnsupportedFileError` naming it; a part that cannot be used (a table row, an
attachment) is listed in ``skipped``; something kept with a caveat (a page without a
text layer, a malformed header) is listed in ``notes``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from ...errors import MissingDependencyError, UnsupportedFileError
from ..layout import Layout

#: Files above this size are refused: they are almost never one document and would be
#: read into memory whole. Override with ``max_bytes``.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
#: The extra that brings the document parsers (pypdf, python-docx, lxml...).
DOCS_EXTRA = "pip install 'embedspace[docs]'"


@dataclass
class LoadedItem:
    id: str
    text: str
    metadata: dict[str, Any]
    source: str | None
    #: pages and headings of a document's text (None: a plain text or a table row)
    layout: Layout | None = None


@dataclass
class LoadedFile:
    items: list[LoadedItem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "where: why" for parts we could not use
    notes: list[str] = field(default_factory=list)  # "where: what" for parts kept with a caveat
    #: documents found inside this one (an e-mail's attachments), loaded next as their own items
    attachments: list[Source] = field(default_factory=list)

    def extend(self, other: LoadedFile) -> None:
        self.items.extend(other.items)
        self.skipped.extend(other.skipped)
        self.notes.extend(other.notes)


@dataclass(frozen=True)
class Source:
    """One document to load."""

    data: bytes
    #: how messages name it: the path as given, or "mail.eml#report.pdf" for an attachment
    name: str
    #: its item's id (a table's rows get ``rel#row``)
    rel: str
    #: the absolute path of the file it came from: its items' ``source``
    origin: str
    #: lower-case extension, e.g. ".pdf" (the kind is detected from content and this)
    suffix: str
    #: metadata its container gives it (an attachment: which mail, its subject, sender, date)
    inherited: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadOptions:
    text_field: str | None = None
    id_field: str | None = None
    max_bytes: int = DEFAULT_MAX_BYTES


def document(
    source: Source, kind: str, text: str, layout: Layout | None, metadata: dict[str, Any]
) -> LoadedFile:
    """A document's one item: id = its path, metadata = its path, format and what the
    loader read (title, author, dates...; empty values left out). A document without
    text is reported as skipped, not stored empty."""
    if not text.strip():
        return LoadedFile(skipped=[f"{source.name}: no text in it"])
    own = {k: v for k, v in metadata.items() if v not in (None, "", [])}
    item = LoadedItem(
        source.rel,
        text,
        {"path": source.rel, "format": kind, **source.inherited, **own},
        source.origin,
        layout,
    )
    return LoadedFile(items=[item])


def decode_text(source: Source) -> str:
    """A UTF-8 text, refusing binary and non-UTF-8 data clearly."""
    data = source.data
    if b"\x00" in data[:8192]:
        raise UnsupportedFileError(
            f"{source.name} looks binary (contains NUL bytes); only text files are supported"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnsupportedFileError(
            f"{source.name} is not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "re-encode it, e.g. `iconv -f latin1 -t utf-8`"
        ) from exc


def require(module: str, what: str) -> ModuleType:
    """Import an optional parser, or say which extra brings it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{what} needs {module.split('.')[0]}, from the docs extra: {DOCS_EXTRA}"
        ) from exc
