"""Documents as people have them: PDF, HTML, Word, EPUB and e-mail, with their pages and
sections in every hit. Every document is made here (tests/helpers/documents.py)."""

from __future__ import annotations

import json

import pytest
from helpers.documents import (
    email_bytes,
    epub_bytes,
    pdf_bytes,
    write_docx,
    write_pdf,
)

import embedspace as es
from embedspace.ingest.loaders import load_file

pytest.importorskip("pypdf", reason="the docs extra is not installed (make install adds it)")

_PAD = {
    "Introduction": "Mountain communities depend on this ice for drinking water and power.",
    "Methods": "Each flight was repeated in late summer when the snow cover is thinnest.",
    "Results": "Smaller glaciers in the eastern valleys have almost disappeared.",
}
#: three pages long enough to be chunked (a short document is one chunk, its hit p. 1)
REPORT = [
    [
        "Introduction",
        "Glaciers in the Alps are retreating faster every decade, and this",
        "report measures how much ice was lost between 1990 and 2020.",
        *[_PAD["Introduction"]] * 12,
    ],
    [
        "Methods",
        "We compared aerial photographs with satellite altimetry; the exam-",
        "ination covered forty glaciers.",
        *[_PAD["Methods"]] * 12,
    ],
    [
        "Results",
        "The Rhone glacier lost a third of its volume.",
        "Meltwater feeds the lake below in summer.",
        *[_PAD["Results"]] * 12,
    ],
]
OUTLINE = [("Introduction", 0, 1), ("Methods", 1, 1), ("Results", 2, 1)]


def _report(folder):
    folder.mkdir(exist_ok=True)
    return write_pdf(
        folder / "report.pdf",
        REPORT,
        title="Alpine glaciers",
        author="A. Gletscher",
        created="D:20230405060708Z",
        outline=OUTLINE,
    )


def test_pdf_pages_metadata_outline_and_hyphens(tmp_path):
    item = load_file(_report(tmp_path)).items[0]
    assert item.metadata == {
        "path": "report.pdf",
        "format": "pdf",
        "title": "Alpine glaciers",
        "author": "A. Gletscher",
        "created": "2023-04-05T06:07:08+00:00",
        "pages": 3,
    }
    assert "examination covered" in item.text  # "exam-\nination" joined
    at = item.text.index("Rhone")
    assert item.layout.page_at(at) == 3 and item.layout.section_at(at) == "Results"
    assert item.layout.page_at(item.text.index("aerial")) == 2


def test_hits_carry_page_and_section(space, tmp_path):
    space.add_files([_report(tmp_path / "docs")])
    hit = space.search("how much of the Rhone glacier melted", k=1)[0]
    assert (hit.id, hit.page, hit.section) == ("report.pdf", 3, "Results")
    assert hit.metadata["title"] == "Alpine glaciers"  # the item's own metadata stays
    assert hit.to_dict()["page"] == 3 and hit.to_dict()["section"] == "Results"
    assert hit.locator == "p. 3 § Results"
    plain = space.add(["A plain text without pages"])[0]
    other = next(h for h in space.search("plain text", k=5) if h.id == plain)
    assert (other.page, other.section, other.to_dict()["page"]) == (None, None, None)


def test_long_pdf_chunks_know_their_pages(tmp_path):
    pages = [
        [f"Page {n} is about topic number {n}."] + ["filler words " * 12] * 8 for n in range(1, 41)
    ]
    pages[29] = ["The secret ingredient of the recipe is saffron."] + ["filler words " * 12] * 8
    with es.Space(tmp_path / "s.space", progress=False) as space:
        space.add_files([write_pdf(tmp_path / "long.pdf", pages)])
        assert space.info()["chunks"] > 10
        hit = space.search("what is the secret ingredient", k=1)[0]
        assert hit.page == 30 and "saffron" in hit.chunk_text
        reranked = space.search("what is the secret ingredient", k=1, mode="hybrid", rerank=True)[0]
        assert reranked.page == 30  # re-ranking moves the chunk; the page follows it
        ctx = space.context("what is the secret ingredient", max_tokens=200)
        assert ctx.citations[0].page == 30
        assert ctx.text.startswith("[1] (long.pdf p. 30)")


def test_html_main_content_sections_and_links(tmp_path):
    page = tmp_path / "install.html"
    page.write_text(
        "<!DOCTYPE html><html lang='en'><head><title>Install guide</title>"
        "<meta name='author' content='Docs team'><style>body{color:red}</style></head><body>"
        "<header><a href='/'>Home</a> <a href='/blog'>Blog</a></header>"
        "<nav class='menu'><ul><li><a href='/a'>Products</a></li></ul></nav>"
        "<main><h1>Install<a class='headerlink' href='#i'>¶</a></h1>"
        "<p>Install it with <a href='https://pypi.org'>pip from PyPI</a>.</p>"
        "<div class='sidebar'>Advertisement: buy now</div>"
        "<h2>From source</h2><p>Clone the repository, then run make.</p>"
        "<pre># a shell comment, not a heading\nmake install</pre>"
        "<h3>Windows</h3><p>Use WSL.</p></main>"
        "<footer>Copyright 2024 Example Corp</footer><script>var tracking = 1;</script>"
        "</body></html>"
    )
    item = load_file(page).items[0]
    for boilerplate in ("Home", "Products", "Advertisement", "Copyright", "tracking", "color"):
        assert boilerplate not in item.text
    assert "pip from PyPI" in item.text  # a link keeps its text
    at = item.text.index("WSL")
    assert item.layout.section_at(at) == "Install > From source > Windows"
    assert item.layout.section_at(item.text.index("make install")) == "Install > From source"
    assert item.metadata == {
        "path": "install.html",
        "format": "html",
        "title": "Install guide",
        "author": "Docs team",
        "language": "en",
    }


def test_html_encodings_declared_and_detected(tmp_path):
    declared = tmp_path / "sjis.html"
    declared.write_bytes(
        "<html><head><meta charset='shift_jis'></head><body><p>東京の天気は晴れです。</p>"
        "</body></html>".encode("shift_jis")
    )
    assert "東京の天気は晴れです" in load_file(declared).items[0].text
    guessed = tmp_path / "cyrillic.htm"
    words = "Привет, это страница на русском языке о погоде в Москве. " * 20
    guessed.write_bytes(f"<html><body><p>{words}</p></body></html>".encode("cp1251"))
    loaded = load_file(guessed)
    assert "погоде в Москве" in loaded.items[0].text
    assert any("cyrillic.htm" in n and "detected" in n for n in loaded.notes)


def test_html_with_megabytes_of_inline_script_is_cheap(tmp_path):
    import time

    page = tmp_path / "app.html"
    script = "<script>" + ("var x = '<p>not text</p>';\n" * 200_000) + "</script>"
    page.write_text(f"<html><body>{script}<p>The real content.</p>{script}</body></html>")
    started = time.perf_counter()
    item = load_file(page).items[0]
    assert item.text == "The real content."
    assert time.perf_counter() - started < 5  # ~11 MB of script: a scan, not a parse


def test_docx_headings_tables_metadata(tmp_path):
    path = write_docx(
        tmp_path / "guide.docx",
        [
            ("h1", "Install"),
            ("p", "Download the installer."),
            ("h2", "From source"),
            ("p", "Clone it and run make."),
            ("table", "OS|Command;Linux|make;Mac|make"),
        ],
        title="Setup guide",
        author="Grace Hopper",
    )
    item = load_file(path).items[0]
    assert item.metadata["title"] == "Setup guide" and item.metadata["author"] == "Grace Hopper"
    assert "Linux | make" in item.text
    assert item.layout.section_at(item.text.index("Clone")) == "Install > From source"


def test_epub_chapters_in_reading_order(tmp_path):
    book = tmp_path / "book.epub"
    book.write_bytes(
        epub_bytes(
            [
                "<h1>The Voyage</h1><p>The ship left Lisbon in spring.</p>",
                "<h1>The Storm</h1><h2>Night</h2><p>Waves broke over the deck.</p>",
            ],
            title="A Sea Story",
            author="M. Navigator",
        )
    )
    item = load_file(book).items[0]
    assert item.text.index("Lisbon") < item.text.index("Waves")
    assert "Contents" not in item.text  # the book's own table of contents is left out
    assert item.layout.section_at(item.text.index("Waves")) == "The Storm > Night"
    assert item.metadata["title"] == "A Sea Story" and item.metadata["language"] == "en"


def test_email_quotes_signature_and_attachments(space, tmp_path):
    mail = tmp_path / "mail.eml"
    mail.write_bytes(
        email_bytes(
            "Budget for the field trip",
            "Hi all,\nthe budget for the glacier field trip is approved.\n\n"
            "On Mon, 1 Jan 2024, Bob wrote:\n> Can we afford the helicopter?\n>> old quote\n"
            "\n-- \nAda Lovelace\nHead of Research",
            attachments=[
                ("costs.pdf", "application/pdf", pdf_bytes([["Helicopter hire costs 900 euros."]])),
                ("photo.jpg", "image/jpeg", b"\xff\xd8\xff"),
            ],
        )
    )
    loaded = load_file(mail)
    message, attachment = loaded.items
    assert (
        message.text
        == "Budget for the field trip\n\nHi all,\nthe budget for the glacier field trip is approved."
    )
    assert message.metadata["subject"] == "Budget for the field trip"
    assert message.metadata["from"] == "Ada Lovelace <ada@example.org>"
    assert message.metadata["date"] == "2024-01-02T10:30:00+00:00"
    assert attachment.id == "mail.eml#costs.pdf" and "900 euros" in attachment.text
    assert attachment.metadata["attachment_of"] == "mail.eml" and attachment.metadata["pages"] == 1
    assert any("photo.jpg" in n for n in loaded.notes)
    space.add_files([mail])
    assert space.search("how much is the helicopter", k=1)[0].id == "mail.eml#costs.pdf"


def test_mbox_holds_many_messages(tmp_path):
    box = tmp_path / "inbox.mbox"
    box.write_bytes(
        b"From ada@example.org Tue Jan  2 10:30:00 2024\n"
        + email_bytes("First", "One.\n>From the start.")
        + b"\nFrom bob@example.org Tue Jan  2 11:30:00 2024\n"
        + email_bytes("Second", "Two.")
    )
    items = load_file(box).items
    assert [i.metadata["subject"] for i in items] == ["First", "Second"]
    assert all(i.id.startswith("inbox.mbox#") for i in items)


def test_content_decides_over_extension(tmp_path):
    misnamed = tmp_path / "scan.txt"
    misnamed.write_bytes(pdf_bytes([["A PDF mailed as a text file."]]))
    loaded = load_file(misnamed)
    assert loaded.items[0].metadata["format"] == "pdf"
    assert any("scan.txt" in n and "read as pdf" in n for n in loaded.notes)
    fake = tmp_path / "fake.pdf"
    fake.write_text("<!DOCTYPE html><html><body><p>An error page saved as PDF.</p></body></html>")
    assert load_file(fake).items[0].metadata["format"] == "html"


def test_markdown_headings_are_sections(space, tmp_path):
    notes = tmp_path / "notes.md"
    shipping = "Parcels ship from Rotterdam every weekday by road and rail. " * 12
    returns = "Keep the receipt and the original box with its labels. " * 20
    notes.write_text(
        f"# Shipping\n\n{shipping}\n\n## Returns\n\n"
        "```python\n# not a heading\nprint('x')\n```\n\n"
        f"Return within 30 days for a refund of your money.\n\n{returns}\n"
    )
    space.add_files([notes])
    hit = space.search("can I send it back for my money", k=1)[0]
    assert hit.section == "Shipping > Returns" and hit.page is None
    assert space.get("notes.md").metadata == {"path": "notes.md", "title": "Shipping"}


def test_cli_prints_page_and_section(tmp_path):
    from typer.testing import CliRunner

    from embedspace.cli import app

    folder = tmp_path / "docs"
    _report(folder)
    runner = CliRunner()
    location = str(tmp_path / "cli.space")
    result = runner.invoke(app, ["sync", location, str(folder), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.splitlines()[-1])["added"] == 1
    found = runner.invoke(app, ["search", location, "Rhone glacier volume", "--k", "1"])
    assert "report.pdf p. 3 § Results" in " ".join(found.output.split())
    as_json = runner.invoke(app, ["search", location, "Rhone glacier volume", "--k", "1", "--json"])
    hit = json.loads(as_json.output.splitlines()[0])
    assert (hit["page"], hit["section"]) == (3, "Results")


def test_missing_extra_names_the_pip_command(tmp_path, monkeypatch):
    import importlib

    real = importlib.import_module

    def no_pypdf(name, *args):
        if name == "pypdf":
            raise ImportError("No module named 'pypdf'")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", no_pypdf)
    path = _report(tmp_path)
    with pytest.raises(es.MissingDependencyError, match=r"pip install 'embedspace\[docs\]'"):
        load_file(path)
    with es.Space(tmp_path / "s.space", progress=False) as space:
        (tmp_path / "ok.txt").write_text("A text file still loads.")
        report = space.add_files([tmp_path])  # in a folder: skipped with the reason
        assert report.added == 1 and any("embedspace[docs]" in s for s in report.skipped)


def test_http_api_returns_page_and_section(tmp_path):
    pytest.importorskip("fastapi", reason="the server extra is not installed")
    httpx = pytest.importorskip("httpx")
    from helpers.serving import running

    from embedspace.server import create_app

    location = tmp_path / "served.space"
    with es.Space(location, progress=False) as space:
        space.add_files([_report(tmp_path / "docs")])
    with running(create_app(location)) as url:
        found = httpx.post(f"{url}/search", json={"query": "Rhone glacier volume", "k": 1})
        hit = found.json()["hits"][0]
        assert (hit["id"], hit["page"], hit["section"]) == ("report.pdf", 3, "Results")
        ctx = httpx.post(
            f"{url}/context", json={"question": "Rhone glacier volume", "max_tokens": 120}
        ).json()
        assert (ctx["citations"][0]["page"], ctx["citations"][0]["section"]) == (3, "Results")
        assert ctx["text"].startswith("[1] (report.pdf p. 3 § Results)")
