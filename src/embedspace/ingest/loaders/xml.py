"""XML parts of documents (OOXML, EPUB) parsed without entity expansion or network."""

from __future__ import annotations

from typing import Any

from ...errors import UnsupportedFileError
from .base import require


def parse_xml(data: bytes, name: str) -> Any:
    """An lxml element tree of ``data``; entities are not expanded (no billion laughs),
    no DTD or network is touched."""
    etree = require("lxml.etree", "reading XML-based documents")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, recover=False)
    try:
        return etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise UnsupportedFileError(f"{name} holds broken XML: {exc}") from exc
