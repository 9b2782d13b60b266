"""Which loader reads which kind of document, and reading one file (or attachment) with it.

One table, ``LOADERS``: kind -> loader. The kind comes from ``detect.detect_kind``
(content signature, then extension). Loading a document also loads what it carries
(an e-mail's attachments), each as its own items, a few levels deep at most. A parser
that fails on a file in a way it does not name (third-party parsers raise many types on
damaged input) is reported as that file's failure, so one bad file never stops a folder.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from ...errors import EmbedspaceError, UnsupportedFileError
from .base import DEFAULT_MAX_BYTES, LoadedFile, LoadOptions, Source
from .detect import SUFFIX_KINDS, detect_kind
from .docx import load_docx
from .epub import load_epub
from .files import read_stable
from .html import load_html
from .mail import load_eml, load_mbox
from .markdown import load_markdown
from .pdf import load_pdf
from .tables import load_csv, load_jsonl, load_parquet
from .text import load_text

Loader = Callable[[Source, LoadOptions], LoadedFile]

LOADERS: dict[str, Loader] = {
    "text": load_text,
    "markdown": load_markdown,
    "csv": load_csv,
    "tsv": load_csv,
    "jsonl": load_jsonl,
    "parquet": load_parquet,
    "pdf": load_pdf,
    "html": load_html,
    "docx": load_docx,
    "epub": load_epub,
    "eml": load_eml,
    "mbox": load_mbox,
}
SUPPORTED_SUFFIXES = frozenset(SUFFIX_KINDS)
#: attachments of attachments (a forwarded mail's PDF) are read up to this depth
MAX_DEPTH = 3

_log = logging.getLogger(__name__)


def load_source(source: Source, options: LoadOptions, depth: int = 0) -> LoadedFile:
    """The items of one document and of the documents inside it."""
    kind, note = detect_kind(source.data, source.suffix)
    if kind is None:
        raise UnsupportedFileError(
            f"{source.name}: unsupported file type {source.suffix or '(none)'}; "
            f"supported: {sorted(SUPPORTED_SUFFIXES)}"
        )
    try:
        loaded = LOADERS[kind](source, options)
    except EmbedspaceError:
        raise
    except Exception as exc:  # noqa: BLE001 - see the module docstring
        _log.debug("loading %s failed", source.name, exc_info=True)
        raise UnsupportedFileError(
            f"{source.name} could not be read as {kind}: {type(exc).__name__}: {exc}"
        ) from exc
    if note:
        loaded.notes.append(f"{source.name}: {note}")
    for inner in loaded.attachments:
        if depth >= MAX_DEPTH:
            loaded.notes.append(f"{inner.name}: nested too deep, not read")
            continue
        try:
            loaded.extend(load_source(inner, options, depth + 1))
        except UnsupportedFileError as exc:
            loaded.skipped.append(str(exc))
    loaded.attachments = []
    return loaded


def load_file(
    path: Path,
    rel: str | None = None,
    *,
    text_field: str | None = None,
    id_field: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> LoadedFile:
    """Items of one file. ``rel`` is the id prefix (default: the file name). Their
    ``source`` is the file's absolute path as found (a link inside a folder is not
    resolved, so the items stay under the folder that ``sync`` mirrors)."""
    path = Path(path)
    rel = rel or path.name
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedFileError(
            f"{path}: unsupported file type {suffix or '(none)'}; supported: {sorted(SUPPORTED_SUFFIXES)}"
        )
    origin = str(path if path.is_absolute() else path.resolve())
    source = Source(read_stable(path, max_bytes), str(path), rel, origin, suffix)
    return load_source(source, LoadOptions(text_field, id_field, max_bytes))
