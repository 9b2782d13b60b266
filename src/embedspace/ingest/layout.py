"""Where an item's pages start and its headings stand, and the text builder that says so.

A document loader writes an item's text block by block with :class:`TextBuilder`, which
records beside the text the character offset where each page starts (PDFs) and where
each heading stands, with its level. That :class:`Layout` is stored next to the text,
not marked up inside it: a ``# comment`` line in a PDF's code sample or a Markdown
heading can then never be mistaken for one another, and the page and section of any
span (a hit's best chunk) are looked up, not guessed. The chunker reads the same
offsets to prefer cutting where a section or a page begins.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

#: Between two blocks of a built text: a blank line, which is also a paragraph end to
#: the chunker.
BLOCK_SEPARATOR = "\n\n"
#: Joins the headings of a section path: "Install > From source".
PATH_SEPARATOR = " > "
#: A heading title longer than this is cut (a "heading" that long is a styled paragraph).
MAX_TITLE = 200


@dataclass(frozen=True)
class Heading:
    """A heading: where its title starts in the text, its level (1 = top) and title."""

    start: int
    level: int
    title: str


@dataclass(frozen=True)
class Layout:
    """Pages and headings of one item's text, as character offsets into it.

    ``pages[i]`` is where page ``i + 1`` starts (empty for texts without pages);
    ``headings`` are in text order.
    """

    pages: tuple[int, ...] = ()
    headings: tuple[Heading, ...] = ()

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding character ``offset``, or None for a text without
        pages. An empty page shares its start with the next, which then wins."""
        if not self.pages:
            return None
        return max(bisect_right(self.pages, offset), 1)

    def section_at(self, offset: int) -> str | None:
        """The heading path in force at ``offset`` ("Install > From source"), or None
        before the first heading and for texts without headings."""
        at = bisect_right(self._starts, offset) - 1
        return self._paths[at] if at >= 0 else None

    @cached_property
    def _starts(self) -> list[int]:
        return [h.start for h in self.headings]

    @cached_property
    def _paths(self) -> list[str]:
        """Each heading's full path: the headings above it (lower level) and itself."""
        stack: list[Heading] = []
        paths = []
        for heading in self.headings:
            while stack and stack[-1].level >= heading.level:
                stack.pop()
            stack.append(heading)
            paths.append(PATH_SEPARATOR.join(h.title for h in stack))
        return paths

    @cached_property
    def breaks(self) -> tuple[int, ...]:
        """Sorted offsets where a page or a section begins: the chunker's best cuts."""
        return tuple(sorted(set(self.pages[1:]) | set(self._starts)))

    def to_json(self) -> dict[str, Any]:
        return {
            "pages": list(self.pages),
            "headings": [[h.start, h.level, h.title] for h in self.headings],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Layout | None:
        """The stored form back; None (no layout) stays None."""
        if not data:
            return None
        return cls(
            tuple(int(p) for p in data.get("pages", ())),
            tuple(Heading(int(s), int(lv), str(t)) for s, lv, t in data.get("headings", ())),
        )

    def __bool__(self) -> bool:
        return bool(self.pages or self.headings)


@dataclass
class TextBuilder:
    """An item's text written block by block, recording where pages and headings start.

    Blocks are separated by a blank line. ``page()`` says the next block starts a new
    page; a page that gets no block (a blank or scanned page) still counts, so the page
    numbers stay those of the document.
    """

    _parts: list[str] = field(default_factory=list)
    _length: int = 0
    _pages: list[int] = field(default_factory=list)
    _pending_pages: int = 0
    _headings: list[Heading] = field(default_factory=list)

    def page(self) -> None:
        """The next block begins a new page."""
        self._pending_pages += 1

    def block(self, text: str) -> int | None:
        """Append a paragraph (or any block: a list item, a table row, code); returns
        where it starts, or None when it is blank and nothing was added."""
        text = text.strip()
        if not text:
            return None
        if self._parts:
            self._parts.append(BLOCK_SEPARATOR)
            self._length += len(BLOCK_SEPARATOR)
        start = self._length
        self._pages.extend([start] * self._pending_pages)
        self._pending_pages = 0
        self._parts.append(text)
        self._length += len(text)
        return start

    def heading(self, level: int, title: str) -> None:
        """Append a heading (1 = top level) as its own block; blank titles are ignored."""
        title = " ".join(title.split())[:MAX_TITLE]
        start = self.block(title)
        if start is not None:
            self._headings.append(Heading(start, min(max(int(level), 1), 9), title))

    def mark(self, start: int, level: int, title: str) -> None:
        """A heading that stands in text already written (a PDF outline entry, found on
        its page): recorded at ``start`` without adding text."""
        title = " ".join(title.split())[:MAX_TITLE]
        if title:
            self._headings.append(Heading(start, min(max(int(level), 1), 9), title))

    @property
    def length(self) -> int:
        """Characters written so far (where the next block would start, less its gap)."""
        return self._length

    @property
    def empty(self) -> bool:
        return not self._parts

    def build(self) -> tuple[str, Layout | None]:
        """The text and its layout (None when it has neither pages nor headings)."""
        pages = self._pages + [self._length] * self._pending_pages
        headings = sorted(self._headings, key=lambda h: h.start)  # stable: marks stay in order
        layout = Layout(tuple(pages), tuple(headings))
        return "".join(self._parts), layout or None
