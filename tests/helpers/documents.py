"""Documents made by the tests themselves: PDF, Word, EPUB, e-mail and HTML.

The PDF writer is a few dozen lines of the format itself (objects, a cross-reference
table, a trailer), so tests can also damage exactly the part they mean to (the xref,
the end of the file). Word files come from python-docx, encrypted PDFs from pypdf.
"""

from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage
from pathlib import Path


def _pdf_string(text: str) -> bytes:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + escaped.encode("cp1252") + b")"


def pdf_bytes(
    pages: list[list[str]],
    *,
    title: str | None = None,
    author: str | None = None,
    created: str | None = None,
    outline: list[tuple[str, int, int]] = (),
) -> bytes:
    """A PDF whose page i shows the lines ``pages[i]`` (an empty list: a page with a
    drawn rectangle and no text, like a scan). ``outline``: (title, 0-based page,
    level) bookmarks, level 1 = top."""
    objects: list[bytes] = []

    def add(body: bytes = b"") -> int:
        objects.append(body)
        return len(objects)

    catalog, pages_id = add(), add()
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    page_ids = []
    for lines in pages:
        if lines:
            shown = b" ".join(_pdf_string(line) + b" Tj T*" for line in lines)
            content = b"BT /F1 11 Tf 14 TL 72 740 Td " + shown + b" ET"
        else:
            content = b"0.5 g 72 72 468 648 re f"
        stream = add(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
        page_ids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] "
                b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>"
                % (pages_id, font, stream)
            )
        )
    kids = b" ".join(b"%d 0 R" % p for p in page_ids)
    objects[pages_id - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(page_ids))
    outline_ref = b""
    if outline:
        root = add()
        items = [add() for _ in outline]
        parents = []  # item index of each entry's parent (None: the root)
        stack: list[tuple[int, int]] = []  # (level, index)
        for i, (_, _, level) in enumerate(outline):
            while stack and stack[-1][0] >= level:
                stack.pop()
            parents.append(stack[-1][1] if stack else None)
            stack.append((level, i))
        for i, (text, page, _) in enumerate(outline):
            parent = items[parents[i]] if parents[i] is not None else root
            siblings = [j for j in range(len(outline)) if parents[j] == parents[i]]
            at = siblings.index(i)
            links = b""
            if at > 0:
                links += b" /Prev %d 0 R" % items[siblings[at - 1]]
            if at < len(siblings) - 1:
                links += b" /Next %d 0 R" % items[siblings[at + 1]]
            children = [j for j in range(len(outline)) if parents[j] == i]
            if children:
                links += b" /First %d 0 R /Last %d 0 R /Count %d" % (
                    items[children[0]],
                    items[children[-1]],
                    len(children),
                )
            objects[items[i] - 1] = (
                b"<< /Title %s /Parent %d 0 R /Dest [%d 0 R /XYZ 0 792 0]%s >>"
                % (_pdf_string(text), parent, page_ids[page], links)
            )
        top = [j for j in range(len(outline)) if parents[j] is None]
        objects[root - 1] = b"<< /Type /Outlines /First %d 0 R /Last %d 0 R /Count %d >>" % (
            items[top[0]],
            items[top[-1]],
            len(top),
        )
        outline_ref = b" /Outlines %d 0 R" % root
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R%s >>" % (pages_id, outline_ref)
    info = b""
    for key, value in (("Title", title), ("Author", author), ("CreationDate", created)):
        if value:
            info += b"/%s %s " % (key.encode(), _pdf_string(value))
    info_id = add(b"<< " + info + b">>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, catalog, info_id, xref)
    )
    return out.getvalue()


def write_pdf(path: Path, pages: list[list[str]], **options) -> Path:
    path.write_bytes(pdf_bytes(pages, **options))
    return path


def encrypt_pdf(data: bytes, user_password: str, owner_password: str = "owner") -> bytes:
    """The PDF encrypted with RC4-128 (pypdf needs no crypto library for it)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password, owner_password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def write_docx(path: Path, blocks: list[tuple[str, str]], **properties) -> Path:
    """``blocks``: ("h1".."h3", text), ("p", text) or ("table", "a|b;c|d")."""
    import docx

    doc = docx.Document()
    for kind, text in blocks:
        if kind.startswith("h"):
            doc.add_heading(text, level=int(kind[1:]))
        elif kind == "table":
            rows = [row.split("|") for row in text.split(";")]
            table = doc.add_table(rows=len(rows), cols=len(rows[0]))
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
        else:
            doc.add_paragraph(text)
    for key, value in properties.items():
        setattr(doc.core_properties, key, value)
    doc.save(path)
    return path


_CONTAINER = (
    '<?xml version="1.0"?><container version="1.0" '
    'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
    '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
    "</rootfiles></container>"
)


def epub_bytes(chapters: list[str], *, title: str, author: str, language: str = "en") -> bytes:
    """An EPUB 3 book: ``chapters`` are XHTML bodies, in reading order, plus a nav page."""
    manifest = [
        '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
    ]
    spine = ['<itemref idref="nav"/>']
    files = {
        "OEBPS/nav.xhtml": _xhtml("<nav><ol><li><a href='c1.xhtml'>Contents</a></li></ol></nav>")
    }
    for n, body in enumerate(chapters, start=1):
        manifest.append(f'<item id="c{n}" href="c{n}.xhtml" media-type="application/xhtml+xml"/>')
        spine.append(f'<itemref idref="c{n}"/>')
        files[f"OEBPS/c{n}.xhtml"] = _xhtml(body)
    files["OEBPS/content.opf"] = (
        '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
        '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:title>{title}</dc:title><dc:creator>{author}</dc:creator>"
        f"<dc:language>{language}</dc:language><dc:date>2021-05-04</dc:date></metadata>"
        f"<manifest>{''.join(manifest)}</manifest><spine>{''.join(spine)}</spine></package>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        book.writestr("META-INF/container.xml", _CONTAINER)
        for name, text in files.items():
            book.writestr(name, text)
    return out.getvalue()


def _xhtml(body: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml">'
        f"<head><title>t</title></head><body>{body}</body></html>"
    )


def zip_bomb(path: Path, member: str, extra: dict[str, str] = (), size: int = 40_000_000) -> Path:
    """A zip whose ``member`` unpacks to ``size`` zero bytes (about 1000x its packed size)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in dict(extra).items():
            archive.writestr(name, text)
        with archive.open(member, "w", force_zip64=True) as handle:
            block = b"\0" * 1_000_000
            for _ in range(size // len(block)):
                handle.write(block)
    return path


def email_bytes(
    subject: str,
    body: str,
    *,
    sender: str = "Ada Lovelace <ada@example.org>",
    to: str = "Charles Babbage <charles@example.org>",
    date: str = "Tue, 02 Jan 2024 10:30:00 +0000",
    attachments: list[tuple[str, str, bytes]] = (),
    html: str | None = None,
) -> bytes:
    """An e-mail; ``attachments``: (filename, MIME type, bytes)."""
    message = EmailMessage()
    message["Subject"], message["From"], message["To"], message["Date"] = subject, sender, to, date
    message["Message-ID"] = f"<{abs(hash(subject))}@example.org>"
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for filename, mime, data in attachments:
        maintype, subtype = mime.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()
