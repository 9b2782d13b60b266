"""Layouts (where pages and headings stand), structure-aware chunking, and spaces written
before layouts existed."""

from __future__ import annotations

import re
import sqlite3

import embedspace as es
from embedspace.ingest.chunking import structured_spans
from embedspace.ingest.layout import Heading, Layout, TextBuilder
from embedspace.search.results import Hit


def _tokens(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"\w+|[^\w\s]", text)]


def test_builder_records_pages_headings_and_paths():
    builder = TextBuilder()
    builder.page()
    builder.heading(1, "Install")
    builder.block("Download it.")
    builder.page()  # a blank page: still counted
    builder.page()
    builder.heading(2, "From  source\n")
    builder.block("Clone it.")
    builder.heading(1, "Usage")
    text, layout = builder.build()
    assert text == "Install\n\nDownload it.\n\nFrom source\n\nClone it.\n\nUsage"
    clone = text.index("Clone")
    assert layout.page_at(clone) == 3 and layout.page_at(0) == 1
    assert layout.section_at(clone) == "Install > From source"
    assert layout.section_at(text.index("Usage")) == "Usage"
    assert Layout.from_json(layout.to_json()) == layout
    assert TextBuilder().build() == ("", None)


def test_section_before_the_first_heading_is_none():
    layout = Layout(headings=(Heading(10, 2, "Later"),))
    assert layout.section_at(3) is None and layout.section_at(10) == "Later"
    assert Layout().page_at(5) is None and Layout.from_json(None) is None


def test_chunks_end_where_sections_and_pages_begin():
    builder = TextBuilder()
    builder.page()
    builder.heading(1, "Intro")
    builder.block("Some words here. " * 20)
    builder.heading(2, "Details")
    builder.block("Other words follow. " * 30)
    builder.page()
    builder.block("Page two text. " * 10)
    text, layout = builder.build()
    spans = structured_spans(_tokens(text), text, 48, 8, layout)
    starts = {a for a, _ in spans}
    assert text.index("Details") in starts and layout.pages[1] in starts
    for a, b in spans:  # no chunk crosses a break
        assert not any(a < brk < b for brk in layout.breaks)
        assert len([t for t in _tokens(text) if a <= t[0] < b]) <= 48


def test_a_running_header_stays_with_the_page_before():
    builder = TextBuilder()
    builder.page()
    builder.block("First page text. " * 40)
    builder.page()
    header = builder.block("Chapter 3: Tools 7")  # a page header, then the new section
    start = builder.block("Invoking the decoder")
    builder.mark(start, 1, "Invoking the decoder")
    builder.block("It reads DER files. " * 40)
    text, layout = builder.build()
    spans = structured_spans(_tokens(text), text, 60, 8, layout)
    assert start in {a for a, _ in spans} and header not in {a for a, _ in spans}
    chunk = next(a for a, _ in spans if a == start)
    assert layout.page_at(chunk) == 2 and layout.section_at(chunk) == "Invoking the decoder"


def test_long_sections_are_cut_at_paragraphs_into_even_chunks():
    paragraphs = [" ".join(f"w{p}x{i}" for i in range(18)) + "." for p in range(6)]
    text = "\n\n".join(paragraphs)
    spans = structured_spans(_tokens(text), text, 60, 10, Layout())
    assert all(text[b : b + 2] in ("\n\n", "") for _, b in spans)  # every cut at a paragraph end
    sizes = [len(_tokens(text[a:b])) for a, b in spans]
    assert max(sizes) - min(sizes) <= 20


def test_hit_page_and_section_follow_its_chunk():
    layout = Layout(pages=(0, 50), headings=(Heading(0, 1, "A"), Heading(60, 2, "B")))
    hit = Hit("doc", 1.0, "x" * 100, {}, (70, 90), layout)
    assert (hit.page, hit.section, hit.locator) == (2, "A > B", "p. 2 § A > B")
    assert Hit("doc", 1.0, "x" * 100, {}, None, layout).locator == "p. 1 § A"
    assert Hit("t", 1.0, "text").to_dict() | {} == {
        "id": "t",
        "score": 1.0,
        "text": "text",
        "metadata": {},
        "chunk": None,
        "page": None,
        "section": None,
    }


def test_a_space_from_before_layouts_opens_and_gains_them(tmp_path):
    path = tmp_path / "old.space"
    with es.Space(path, progress=False) as space:
        space.add(["An item written by an older version."], ids=["old"])
    db = sqlite3.connect(path / "space.sqlite")  # make it what format 1 wrote
    db.execute("ALTER TABLE items DROP COLUMN layout")
    db.execute("UPDATE meta SET value = '1' WHERE key = 'format_version'")
    db.commit()
    db.close()
    notes = tmp_path / "notes.md"
    notes.write_text("# Garden\n\nWater the tomatoes every evening in summer.\n")
    with es.Space(path, progress=False) as space:
        assert space.get("old").text == "An item written by an older version."
        space.add_files([notes])
        hit = space.search("tomatoes", k=1)[0]
        assert (hit.id, hit.section) == ("notes.md", "Garden")
        assert space.search("older version", k=1)[0].section is None
    db = sqlite3.connect(path / "space.sqlite")
    # migrated in place to the current format (3: named vectors came after layouts)
    assert db.execute("SELECT value FROM meta WHERE key='format_version'").fetchone() == ("3",)
    db.close()
