"""HTML (.html, .htm, .xhtml): a page's main content, its headings as sections.

lxml parses (libxml2's HTML parser: fast, forgiving of real-world markup). What is not
content is dropped by rules one can read, not a trained model: scripts, styles and
forms; navigation, banners, footers and sidebars, recognised by their element
(``nav``, ``aside``, a page-level ``header``/``footer``), their ARIA role or a class or
id such as ``sidebar`` or ``breadcrumb``; hidden elements. The content root is the page's
``main`` (or ``role="main"``, or its one ``article``) when it has one, else the body, in
which blocks that are mostly links (menus, link lists) are dropped too. Headings
(``h1``-``h6``) become sections; a link keeps its text.

Encodings: a byte-order mark, then the page's own declaration (``<meta charset>``),
then UTF-8, then charset-normalizer's guess (noted as detected). Megabytes of inline
script are cut out before parsing (a script ends at the first ``</script``, as browsers
read it), so they cost a scan, not a parse.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

from ..layout import TextBuilder
from .base import LoadedFile, LoadOptions, Source, document, require

_HEADINGS = {f"h{n}": n for n in range(1, 7)}
#: never content, wherever they are
_DROP = frozenset(
    "script style noscript template svg canvas iframe object embed form button select "
    "input textarea nav aside menu dialog head title meta link".split()
)
_DROP_ROLES = frozenset("navigation banner contentinfo complementary search menu menubar".split())
_BOILERPLATE = re.compile(
    r"(?:^|[\s_-])(?:nav(?:bar|igation|header|footer)?|menu|sidebar|breadcrumbs?|footer|cookies?|"
    r"masthead|skip-?link|share|social|pagination|related|advert|ads)(?:$|[\s_-])",
    re.I,
)
#: elements that start a new block of text (everything else runs inline)
_BLOCKS = frozenset(
    "address article blockquote body center dd details div dl dt fieldset figcaption figure "
    "footer header hgroup hr li main ol p pre section summary table tbody thead tfoot tr ul "
    "caption".split()
) | set(_HEADINGS)
_SCRIPT = re.compile(rb"<(script|style)\b.*?</\1\s*>", re.I | re.S)
_DECLARED = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)|<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)""",
    re.I,
)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_html(data: bytes) -> tuple[str, str | None]:
    """(text, note): the page decoded by its BOM, its declaration, UTF-8 or a guess."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data.decode(codec, errors="replace"), None
    declared = _DECLARED.search(data[:8192])
    if declared:
        name = (declared.group(1) or declared.group(2)).decode("ascii")
        try:
            return data.decode(name), None
        except (LookupError, UnicodeDecodeError):
            pass  # a wrong or unknown declaration: fall through to the evidence
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[:1_000_000]).best()
    codec = best.encoding if best is not None else "cp1252"
    return data.decode(
        codec, errors="replace"
    ), f"no usable declared encoding; read as {codec} (detected)"


def parse_html(data: bytes) -> Any:
    """The page as an lxml tree (scripts and styles cut out first; None when empty),
    and a note on how its encoding was found."""
    text, note = decode_html(_SCRIPT.sub(b"", data))
    return html_tree(text), note


def html_tree(text: str) -> Any:
    """An lxml tree of HTML already decoded (None when there is nothing in it)."""
    html = require("lxml.html", "reading HTML")
    text = _XML_DECLARATION.sub("", text, count=1)
    if not text.strip():
        return None
    return html.document_fromstring(text, parser=html.HTMLParser(remove_comments=True))


def _is_boilerplate(el: Any, inside_content: bool) -> bool:
    tag = el.tag
    if tag in _DROP:
        return True
    if (tag in ("header", "footer")) and not inside_content:
        return True
    if el.get("role", "").lower() in _DROP_ROLES:
        return True
    if el.get("hidden") is not None or el.get("aria-hidden", "").lower() == "true":
        return True
    if "display:none" in el.get("style", "").replace(" ", "").lower():
        return True
    marks = f"{el.get('class', '')} {el.get('id', '')}"
    return bool(marks.strip()) and bool(_BOILERPLATE.search(marks)) and tag not in _HEADINGS


def _content_root(tree: Any) -> Any:
    """The page's main content element, and whether it was marked as such."""
    for xpath in ("//main", "//*[@role='main']"):
        found = tree.xpath(xpath)
        if found:
            return found[0], True
    articles = tree.xpath("//article")
    if len(articles) == 1:
        return articles[0], True
    body = tree.find("body")
    return (body if body is not None else tree), False


def _link_heavy(el: Any) -> bool:
    """A block whose text is mostly link text: a menu or a list of links."""
    if el.tag not in ("div", "ul", "ol", "table", "section", "p"):
        return False
    text = len(" ".join(el.text_content().split()))
    if text == 0:
        return False
    linked = sum(len(" ".join(a.text_content().split())) for a in el.iter("a"))
    return linked > 0.6 * text


class _Writer:
    """Walks a content tree and writes its blocks, headings and tables into a builder."""

    def __init__(self, builder: TextBuilder, marked: bool) -> None:
        self.builder, self.marked = builder, marked
        self.buffer: list[str] = []

    def flush(self) -> None:
        text = "".join(self.buffer)
        self.buffer = []
        self.builder.block("\n".join(" ".join(line.split()) for line in text.split("\n")))

    def inline(self, text: str | None) -> None:
        if text:
            self.buffer.append(text.replace("\n", " "))

    def walk(self, el: Any) -> None:
        if not isinstance(el.tag, str) or _is_boilerplate(el, self.marked):
            return
        tag = el.tag
        if not self.marked and tag not in ("body", "html") and _link_heavy(el):
            return
        if tag in _HEADINGS:
            self.flush()
            # Sphinx and others end headings with a permalink mark: not part of the title
            self.builder.heading(_HEADINGS[tag], el.text_content().rstrip(" \t\n¶#§"))
        elif tag == "pre":
            self.flush()
            self.builder.block(el.text_content())
        elif tag == "table":
            self.flush()
            self.table(el)
        elif tag == "br":
            self.buffer.append("\n")
        elif tag in _BLOCKS:
            self.flush()
            self.inline(el.text)
            for child in el:
                self.walk(child)
                self.inline(child.tail)
            self.flush()
        else:  # inline: its text (links keep theirs), block children still break
            self.inline(el.text)
            for child in el:
                self.walk(child)
                self.inline(child.tail)

    def table(self, el: Any) -> None:
        """One line per row, cells joined by " | "."""
        rows = []
        for row in el.iter("tr"):
            cells = [" ".join(c.text_content().split()) for c in row if c.tag in ("td", "th")]
            if any(cells):
                rows.append(" | ".join(cells))
        self.builder.block("\n".join(rows))


def write_html(tree: Any, builder: TextBuilder, *, whole: bool = False) -> None:
    """Write a parsed page's content into ``builder``; ``whole`` skips the search for a
    main element (an e-book chapter or a mail body is all content)."""
    if whole:
        body = tree.find("body")
        root, marked = (body if body is not None else tree), True
    else:
        root, marked = _content_root(tree)
    writer = _Writer(builder, marked)
    writer.walk(root)
    writer.flush()


def html_metadata(tree: Any) -> dict[str, Any]:
    """Title, author, dates and language as the page declares them."""
    declared: dict[str, str] = {}
    for el in tree.iter("meta"):
        key = el.get("name") or el.get("property") or el.get("itemprop") or el.get("http-equiv")
        if key and (el.get("content") or "").strip():
            declared.setdefault(key.lower(), el.get("content").strip())

    def meta(*names: str) -> str | None:
        return next((declared[n] for n in names if n in declared), None)

    title = tree.findtext(".//title")
    return {
        "title": " ".join(title.split()) if title else meta("og:title", "dc.title"),
        "author": meta("author", "article:author", "dc.creator"),
        "created": meta("article:published_time", "dc.date", "date", "dcterms.created"),
        "modified": meta("article:modified_time", "last-modified", "dcterms.modified"),
        "language": tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang"),
    }


def load_html(source: Source, options: LoadOptions) -> LoadedFile:
    tree, note = parse_html(source.data)
    if tree is None:
        return LoadedFile(skipped=[f"{source.name}: empty file"])
    builder = TextBuilder()
    write_html(tree, builder)
    text, layout = builder.build()
    loaded = document(source, "html", text, layout, html_metadata(tree))
    if note:
        loaded.notes.append(f"{source.name}: {note}")
    return loaded
