"""Markdown (.md): the text as written, its headings as sections.

The text is kept verbatim (Markdown reads well to people and to language models alike);
only where its headings stand is worked out, the way CommonMark sees them: ``#`` lines
(ATX) and lines underlined with ``===`` / ``---`` (setext), never inside fenced code
(where ``# comment`` is code) and never in a front-matter block.
"""

from __future__ import annotations

import re

from ..layout import MAX_TITLE, Heading, Layout
from .base import LoadedFile, LoadedItem, LoadOptions, Source, decode_text

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n.*?\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)


def markdown_headings(text: str) -> list[Heading]:
    """Headings of a Markdown text, each at the offset where its line starts (the ``#``
    marks are part of the heading, so a chunk starting there is in its section)."""
    headings: list[Heading] = []
    fence: str | None = None
    front = _FRONT_MATTER.match(text)
    offset = front.end() if front else 0
    previous: tuple[int, str] | None = None  # the last paragraph line: (offset, line)
    for line in text[offset:].splitlines(keepends=True):
        start, content = offset, line.rstrip("\r\n")
        offset += len(line)
        opening = _FENCE.match(content)
        if fence is not None:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = None
            continue
        if opening:
            fence, previous = opening.group(1), None
            continue
        atx = _ATX.match(content)
        if atx and atx.group(2):
            title = atx.group(2)
            headings.append(Heading(start, len(atx.group(1)), _clean(title)))
            previous = None
        elif (setext := _SETEXT.match(content)) and previous is not None:
            level = 1 if setext.group(1)[0] == "=" else 2
            line_start, title = previous
            headings.append(
                Heading(line_start + len(title) - len(title.lstrip()), level, _clean(title))
            )
            previous = None
        elif content.strip() and not content.startswith(("    ", "\t", ">", "- ", "* ", "+ ")):
            previous = (start, content)
        else:
            previous = None
    return headings


def _clean(title: str) -> str:
    return " ".join(title.split())[:MAX_TITLE]


def load_markdown(source: Source, options: LoadOptions) -> LoadedFile:
    text = decode_text(source)
    if not text.strip():
        return LoadedFile(skipped=[f"{source.rel}: empty file"])
    headings = markdown_headings(text)
    metadata = {"path": source.rel}
    if headings and headings[0].level == 1:
        metadata["title"] = headings[0].title
    layout = Layout(headings=tuple(headings)) if headings else None
    return LoadedFile(items=[LoadedItem(source.rel, text, metadata, source.origin, layout)])
