"""Files -> items: plain text, Markdown, tables, PDF, HTML, Word, e-books and e-mail.

Each loader yields :class:`LoadedItem` records with an id that is stable across runs
(the file's path relative to where it was found, plus a row or attachment key), so
re-adding or syncing the same files upserts rather than duplicates. Documents carry a
:class:`~embedspace.ingest.layout.Layout` (pages, headings) beside their text. One
module per format; ``registry.LOADERS`` says which reads which kind, ``detect`` which
kind a file is (content signature, then extension), ``files`` finds and reads them.
"""

from .base import DEFAULT_MAX_BYTES, LoadedFile, LoadedItem
from .files import discover
from .registry import SUPPORTED_SUFFIXES, load_file

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SUPPORTED_SUFFIXES",
    "LoadedFile",
    "LoadedItem",
    "discover",
    "load_file",
]
