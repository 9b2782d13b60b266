"""Plain text (.txt, .rst): the file's text is the item's, as written."""

from __future__ import annotations

from .base import LoadedFile, LoadedItem, LoadOptions, Source, decode_text


def load_text(source: Source, options: LoadOptions) -> LoadedFile:
    text = decode_text(source)
    if not text.strip():
        return LoadedFile(skipped=[f"{source.rel}: empty file"])
    return LoadedFile(items=[LoadedItem(source.rel, text, {"path": source.rel}, source.origin)])
