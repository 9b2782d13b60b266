"""Word documents (.docx) with python-docx: paragraphs and tables in reading order,
headings (the "Heading N" styles, and styles based on them) as sections.

Page headers, footers and comments are left out: they repeat on every page or are
not the document's text. The archive is checked for zip bombs before python-docx
unpacks it (``archive.open_zip``).
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from typing import Any

from ..layout import TextBuilder
from .archive import open_zip
from .base import LoadedFile, LoadOptions, Source, document, require

_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$", re.I)


def _heading_level(style: Any) -> int | None:
    """The heading level of a paragraph style, following the styles it is based on."""
    seen = 0
    while style is not None and seen < 10:
        match = _HEADING_STYLE.match(style.name or "")
        if match:
            return int(match.group(1))
        style, seen = style.base_style, seen + 1
    return None


def _table_text(table: Any) -> str:
    """One line per row, cells joined by " | " (a merged cell once, not once per column)."""
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if not cells or text != cells[-1]:
                cells.append(text)
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def load_docx(source: Source, options: LoadOptions) -> LoadedFile:
    docx = require("docx", "reading Word documents")
    from docx.table import Table

    open_zip(source.data, source.name, "Word document").close()
    doc = docx.Document(io.BytesIO(source.data))
    builder = TextBuilder()
    for block in doc.iter_inner_content():
        if isinstance(block, Table):
            builder.block(_table_text(block))
            continue
        level = _heading_level(block.style)
        if level is not None:
            builder.heading(level, block.text)
        else:
            builder.block(block.text)
    text, layout = builder.build()
    props = doc.core_properties
    metadata: dict[str, Any] = {
        "title": props.title,
        "author": props.author,
        "created": _iso(props.created),
        "modified": _iso(props.modified),
        "language": props.language,
    }
    return document(source, "docx", text, layout, metadata)
