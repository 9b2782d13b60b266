"""PDF with pypdf: text page by page in reading order, page numbers, outline as
sections, title / author / dates, words hyphenated across line ends joined.

pypdf is pure Python (BSD), reads damaged files leniently (a broken cross-reference
table is rebuilt by scanning the file, and said so in a note) and decrypts PDFs that
carry only an owner password. Pages are extracted one at a time into the text; a page
without a text layer is kept as a page (numbers stay the document's) and noted. No
text on any page means a scan: refused, since OCR is not included.

Sections come from the PDF's outline (bookmarks): each entry's title is looked for on
its page, and the section starts where it stands (at the page's top if not found).
"""

from __future__ import annotations

import io
import logging
import re
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from ...errors import MissingDependencyError, UnsupportedFileError
from ..layout import TextBuilder
from .base import DOCS_EXTRA, LoadedFile, LoadOptions, Source, document, require

#: A word cut at a line end: "exam-\nple" -> "example" (only before a lower-case letter,
#: so "Jean-\nPaul" and "2019-\n2020" keep their hyphen).
_HYPHENATED = re.compile(r"([^\W\d_])[-\u2010\u00ad]\n[ \t]*(?=[^\W\d_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")
#: pypdf's own warnings kept as notes, at most this many per file
_MAX_NOTES = 3


def clean_page(text: str) -> str:
    """A page's extracted text, tidied: control characters out, hyphenated words joined,
    line ends trimmed, runs of blank lines cut to one."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _HYPHENATED.sub(lambda m: m[1] if m.string[m.end()].islower() else m[0], text)
    text = text.replace("\u00ad", "")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message not in self.messages:
            self.messages.append(message)


@contextmanager
def _pypdf_warnings() -> Iterator[list[str]]:
    """pypdf's warnings (repairs it made) while reading, instead of on stderr."""
    logger = logging.getLogger("pypdf")
    handler, propagate = _Collect(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _unlock(reader: Any, name: str) -> None:
    """Decrypt a PDF that has only an owner password; refuse one that needs a password."""
    from pypdf import PasswordType
    from pypdf.errors import DependencyError

    if not reader.is_encrypted:
        return
    try:
        unlocked = reader.decrypt("")
    except DependencyError as exc:
        raise MissingDependencyError(
            f"{name} is AES-encrypted; decrypting it needs cryptography: {DOCS_EXTRA}"
        ) from exc
    if unlocked == PasswordType.NOT_DECRYPTED:
        raise UnsupportedFileError(
            f"{name} is password-protected, and embedspace takes no passwords: remove the "
            "protection (e.g. qpdf --decrypt --password=... in.pdf out.pdf) and add it again"
        )


def _outline(reader: Any) -> dict[int, list[tuple[int, str]]]:
    """0-based page -> [(level, title)] of the outline entries pointing at it."""
    entries: dict[int, list[tuple[int, str]]] = defaultdict(list)

    def walk(items: list, level: int) -> None:
        for entry in items:
            if isinstance(entry, list):
                walk(entry, level + 1)
                continue
            try:
                page = reader.get_destination_page_number(entry)
            except Exception:  # noqa: BLE001 - a dangling bookmark is not worth failing for
                continue
            if page is not None and page >= 0 and entry.title:
                entries[page].append((level, str(entry.title)))

    try:
        walk(reader.outline, 1)
    except Exception:  # noqa: BLE001 - a broken outline leaves the text readable
        return {}
    return entries


def _find(title: str, text: str, after: int) -> int:
    """Where ``title`` stands in a page's text at or after ``after`` (spacing and case
    ignored), else ``after``."""
    words = title.split()
    if not words:
        return after
    found = re.compile(r"\s+".join(map(re.escape, words)), re.I).search(text, after)
    return found.start() if found else after


def _date(info: Any, attr: str) -> str | None:
    try:
        value = getattr(info, attr)
    except Exception:  # noqa: BLE001 - a malformed date string: leave it out
        return None
    return value.isoformat() if isinstance(value, datetime) else None


def _metadata(reader: Any, pages: int) -> dict[str, Any]:
    try:
        info = reader.metadata
    except Exception:  # noqa: BLE001 - a damaged info dictionary: pages are still text
        info = None
    if info is None:
        return {"pages": pages}
    return {
        "title": str(info.title or "").strip() or None,
        "author": str(info.author or "").strip() or None,
        "created": _date(info, "creation_date"),
        "modified": _date(info, "modification_date"),
        "pages": pages,
    }


def load_pdf(source: Source, options: LoadOptions) -> LoadedFile:
    pypdf = require("pypdf", "reading PDF files")
    name = source.name
    notes: list[str] = []
    with _pypdf_warnings() as warnings:
        try:
            reader = pypdf.PdfReader(io.BytesIO(source.data), strict=False)
            _unlock(reader, name)
            count = len(reader.pages)
        except (UnsupportedFileError, MissingDependencyError):
            raise
        except Exception as exc:  # noqa: BLE001 - pypdf raises many types on damaged files
            raise UnsupportedFileError(
                f"{name} is damaged or truncated, and could not be repaired ({exc}); "
                "re-export it, or try qpdf in.pdf out.pdf"
            ) from exc
        outline = _outline(reader)
        builder, blank, carried = TextBuilder(), [], []
        for number in range(count):
            builder.page()
            try:
                text = clean_page(reader.pages[number].extract_text() or "")
            except Exception as exc:  # noqa: BLE001 - one bad page, not a bad document
                notes.append(f"{name} p. {number + 1}: could not be read ({exc})")
                text = ""
            start = builder.block(text)
            if start is None:
                blank.append(number + 1)
                carried.extend(outline.get(number, []))
                continue
            at = 0
            for level, title in carried + outline.get(number, []):
                at = _find(title, text, at)
                builder.mark(start + at, level, title)
            carried = []
        metadata = _metadata(reader, count)
    if builder.empty:
        raise UnsupportedFileError(
            f"{name}: no text layer on any of its {count} pages (a scan?); OCR is not "
            "included: run an OCR tool on it first (e.g. ocrmypdf) and add the result"
        )
    if blank:
        shown = ", ".join(map(str, blank[:10])) + (" ..." if len(blank) > 10 else "")
        notes.append(
            f"{name}: {len(blank)} of {count} pages have no text layer (p. {shown}); OCR is not included"
        )
    notes.extend(f"{name}: pypdf: {w}" for w in warnings[:_MAX_NOTES])
    text, layout = builder.build()
    loaded = document(source, "pdf", text, layout, metadata)
    loaded.notes.extend(notes)
    return loaded
