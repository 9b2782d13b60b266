"""Which loader reads a document: its content's signature first, then its extension.

Why content first: files are misnamed (a web page saved as ``.pdf``, a PDF mailed as
``scan.txt``), and a binary signature (``%PDF-``, a zip archive's, Parquet's ``PAR1``)
is never wrong. Plain-text formats carry no signature, so for them the extension
decides, except that an HTML document announces itself (``<!DOCTYPE html``, ``<html``)
and is read as HTML whatever its document extension says.
"""

from __future__ import annotations

import io
import re
import zipfile

#: extension -> kind (the registry's key); also what a folder is searched for
SUFFIX_KINDS = {
    ".txt": "text",
    ".rst": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".docx": "docx",
    ".epub": "epub",
    ".eml": "eml",
    ".mbox": "mbox",
}
#: kinds whose files are plain text without a signature: their extension is trusted
TEXT_KINDS = frozenset({"text", "markdown", "csv", "tsv", "jsonl"})
_HTML_START = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S
)


def signature_kind(data: bytes) -> str | None:
    """The kind a document's bytes announce, or None when they announce none."""
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if data.startswith(b"PAR1"):
        return "parquet"
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    if _HTML_START.match(data[:4096]):
        return "html"
    return None


def _zip_kind(data: bytes) -> str | None:
    """docx and epub are zip archives; which one is told by the members they must hold."""
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "word/document.xml" in names:
        return "docx"
    if "META-INF/container.xml" in names:
        return "epub"
    return None


def detect_kind(data: bytes, suffix: str) -> tuple[str | None, str | None]:
    """(kind, note): the kind to read ``data`` as, and a note when the content overrode
    the extension. None when neither knows it."""
    by_suffix = SUFFIX_KINDS.get(suffix)
    by_content = signature_kind(data)
    if by_content is None or by_content == by_suffix:
        return by_suffix, None
    if by_content == "html" and by_suffix in TEXT_KINDS:
        return by_suffix, None  # HTML source kept as the text file it was named as
    shown = suffix or "(no extension)"
    return by_content, f"read as {by_content} (its content), not as {shown} says"
