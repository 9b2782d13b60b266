"""E-books (.epub) read as the zip of XHTML they are: chapters in spine (reading) order,
their headings as sections, title, author, date and language from the package file.

No e-book library: the common one (ebooklib) is AGPL, and EPUB is simple enough, a
container file naming the package (OPF), whose spine lists the chapter files. Each
chapter goes through the HTML loader's writer whole (a chapter has no site navigation);
the book's own table of contents (``nav``) and non-linear extras are left out.
"""

from __future__ import annotations

import posixpath
from typing import Any
from urllib.parse import unquote

from ...errors import UnsupportedFileError
from ..layout import TextBuilder
from .archive import open_zip, read_member
from .base import LoadedFile, LoadOptions, Source, document
from .html import parse_html, write_html
from .xml import parse_xml

_CHAPTER_TYPES = ("application/xhtml+xml", "text/html")


def _dc(package: Any, name: str) -> str | None:
    found = package.xpath(f"//*[local-name()='metadata']/*[local-name()='{name}']/text()")
    return " ".join(found[0].split()) if found and found[0].strip() else None


def load_epub(source: Source, options: LoadOptions) -> LoadedFile:
    name = source.name
    archive = open_zip(source.data, name, "EPUB book")
    container = parse_xml(read_member(archive, "META-INF/container.xml", name), name)
    rootfiles = container.xpath("//*[local-name()='rootfile']/@full-path")
    if not rootfiles:
        raise UnsupportedFileError(f"{name}: META-INF/container.xml names no package file")
    package = parse_xml(read_member(archive, rootfiles[0], name), f"{name}#{rootfiles[0]}")
    base = posixpath.dirname(rootfiles[0])
    manifest = {
        item.get("id"): item
        for item in package.xpath("//*[local-name()='manifest']/*[local-name()='item']")
    }
    builder = TextBuilder()
    skipped = []
    for ref in package.xpath("//*[local-name()='spine']/*[local-name()='itemref']"):
        item = manifest.get(ref.get("idref"))
        if (
            item is None
            or ref.get("linear") == "no"
            or "nav" in (item.get("properties") or "").split()
        ):
            continue
        if item.get("media-type") not in _CHAPTER_TYPES:
            continue
        path = posixpath.normpath(posixpath.join(base, unquote(item.get("href", ""))))
        try:
            tree, _ = parse_html(read_member(archive, path, name))
        except UnsupportedFileError as exc:
            skipped.append(str(exc))
            continue
        if tree is not None:
            write_html(tree, builder, whole=True)
    text, layout = builder.build()
    metadata: dict[str, Any] = {
        "title": _dc(package, "title"),
        "author": _dc(package, "creator"),
        "created": _dc(package, "date"),
        "language": _dc(package, "language"),
    }
    loaded = document(source, "epub", text, layout, metadata)
    loaded.skipped.extend(skipped)
    return loaded
