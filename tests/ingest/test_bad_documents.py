"""Bad documents: each refused or read with a clear message naming the file, nothing lost
from the space, and one bad file never stopping a folder."""

from __future__ import annotations

import os
import re
import time
import tracemalloc

import pytest
from helpers.documents import (
    email_bytes,
    encrypt_pdf,
    epub_bytes,
    pdf_bytes,
    write_docx,
    write_pdf,
    zip_bomb,
)

import embedspace as es
from embedspace.ingest.loaders import files as files_module
from embedspace.ingest.loaders import load_file

pytest.importorskip("pypdf", reason="the docs extra is not installed (make install adds it)")

TEXT = [["Quarterly figures", "Sales of umbrellas rose sharply in the rainy autumn."]]


def _encrypted(path):
    path.write_bytes(encrypt_pdf(pdf_bytes(TEXT), "secret"))


def _scanned(path):
    path.write_bytes(pdf_bytes([[], []]))


def _truncated(path):
    data = pdf_bytes(TEXT)
    path.write_bytes(data[: len(data) // 2])


def _docx_bomb(path):
    path.unlink()
    zip_bomb(path, "word/document.xml", {"[Content_Types].xml": "<Types/>"}, size=20_000_000)


def _epub_bomb(path):
    path.unlink()
    zip_bomb(path, "OEBPS/c1.xhtml", {"META-INF/container.xml": "<container/>"}, size=20_000_000)


def _not_mail(path):
    path.write_text("Just some words, no headers at all.\n")


BAD = {
    "encrypted": ("report.pdf", _encrypted, "password-protected"),
    "scanned": ("report.pdf", _scanned, "no text layer.*OCR is not included"),
    "truncated": ("report.pdf", _truncated, "damaged or truncated"),
    "docx zip bomb": ("guide.docx", _docx_bomb, "zip bomb"),
    "epub zip bomb": ("book.epub", _epub_bomb, "zip bomb"),
    "not an e-mail": ("mail.eml", _not_mail, "does not look like an e-mail"),
}


def _good_folder(folder):
    folder.mkdir()
    write_pdf(folder / "report.pdf", TEXT)
    write_docx(folder / "guide.docx", [("h1", "Setup"), ("p", "Plug the device in and wait.")])
    (folder / "book.epub").write_bytes(
        epub_bytes(["<h1>One</h1><p>A quiet village by the sea.</p>"], title="B", author="A")
    )
    (folder / "mail.eml").write_bytes(email_bytes("Lunch", "Shall we meet at noon?"))
    (folder / "notes.txt").write_text("Remember to water the plants.")


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_document_loses_nothing_and_stops_nothing(space, tmp_path, case):
    name, damage, message = BAD[case]
    folder = tmp_path / "docs"
    _good_folder(folder)
    first = space.sync(folder)
    assert first.added == 5 and not first.skipped, first.skipped
    before = space.get(name).text
    damage(folder / name)
    (folder / "notes.txt").write_text("Remember to water the plants twice a week.")
    report = space.sync(folder)
    assert report.deleted == 0 and report.updated == 1  # the other files still synced
    assert len(report.skipped) == 1
    assert name in report.skipped[0] and re.search(message, report.skipped[0]), report.skipped
    assert space.get(name).text == before  # its old item is kept
    with pytest.raises(es.UnsupportedFileError, match=message):
        space.add_files([folder / name])  # named alone: an error


def test_pdf_with_only_an_owner_password_is_read(tmp_path):
    path = tmp_path / "locked.pdf"
    path.write_bytes(encrypt_pdf(pdf_bytes(TEXT), ""))
    assert "umbrellas" in load_file(path).items[0].text


def test_pdf_with_broken_xref_is_repaired_and_says_so(tmp_path):
    data = pdf_bytes(TEXT + [["Second page about snow."]])
    shifted = re.sub(rb"(\d{10}) 00000 n", lambda m: b"%010d 00000 n" % (int(m[1]) + 5), data)
    path = tmp_path / "shifted.pdf"
    path.write_bytes(shifted)
    loaded = load_file(path)
    assert "snow" in loaded.items[0].text and loaded.items[0].metadata["pages"] == 2
    assert loaded.notes and all("shifted.pdf" in n for n in loaded.notes)


def test_pdf_with_some_pages_unscanned_notes_them(tmp_path):
    loaded = load_file(write_pdf(tmp_path / "mixed.pdf", [TEXT[0], [], TEXT[0]]))
    assert loaded.items[0].layout.pages[2] > 0
    assert any("mixed.pdf" in n and "p. 2" in n and "OCR" in n for n in loaded.notes)


def test_500_page_pdf_streams_in_bounded_memory(tmp_path):
    pages = [[f"Page {n}, line {i}: notes on topic {n}." for i in range(20)] for n in range(1, 501)]
    path = write_pdf(tmp_path / "long.pdf", pages)
    tracemalloc.start()
    try:
        item = load_file(path).items[0]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert item.metadata["pages"] == 500
    assert item.layout.page_at(item.text.index("Page 437, line 3")) == 437
    # the file is 0.8 MB and its text 0.6 MB: memory stays a small multiple of that
    assert peak < 40e6, f"peak {peak / 1e6:.0f} MB"


def test_email_with_malformed_header_is_read_and_noted(tmp_path):
    path = tmp_path / "odd.eml"
    path.write_bytes(
        b"From: Ada <ada@example.org>\nTo: bob@example.org\nSubject: Status update\n"
        b"Date: sometime around noon\nMessage-ID: <1@example.org>\n\nThe roof is fixed.\n"
    )
    loaded = load_file(path)
    item = loaded.items[0]
    assert "The roof is fixed." in item.text and item.metadata["subject"] == "Status update"
    assert item.metadata["date"] == "sometime around noon"
    assert any("odd.eml" in n and "malformed Date header" in n for n in loaded.notes)


def test_file_changing_while_read_is_refused_and_kept(space, tmp_path, monkeypatch):
    folder = tmp_path / "docs"
    folder.mkdir()
    target = folder / "live.txt"
    target.write_text("The first version of the log.")
    (folder / "other.txt").write_text("A file nobody touches.")
    space.sync(folder)

    real_open = open

    def growing(path, mode="r", *args, **kwargs):
        handle = real_open(path, mode, *args, **kwargs)
        if str(path).endswith("live.txt"):
            with real_open(path, "a") as writer:  # a writer appends while we read
                writer.write(" More lines arrive.")
            os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))
        return handle

    target.write_text("The second version of the log, half written")
    monkeypatch.setattr(files_module, "open", growing, raising=False)
    report = space.sync(folder)
    assert report.deleted == 0
    assert any("live.txt" in s and "changed while it was being read" in s for s in report.skipped)
    assert space.get("live.txt").text == "The first version of the log."


def test_symlink_loops_are_reported_not_followed(space, tmp_path):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.txt").write_text("A file in a sub folder.")
    (folder / "sub" / "up").symlink_to(folder, target_is_directory=True)  # a loop
    (folder / "one.md").symlink_to(folder / "two.md")  # a loop of two dangling links
    (folder / "two.md").symlink_to(folder / "one.md")
    (folder / "elsewhere").symlink_to(tmp_path / "gone", target_is_directory=True)
    report = space.sync(folder)
    assert space.ids() == ["sub/a.txt"]
    assert any("up" in s and "loop" in s for s in report.skipped)
    assert sum("leads to no file" in s for s in report.skipped) == 3


def test_linked_folder_is_read_once_and_synced(space, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "shared.txt").write_text("Shared notes kept in another folder.")
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "link").symlink_to(outside, target_is_directory=True)
    assert space.sync(folder).added == 1 and space.ids() == ["link/shared.txt"]
    (outside / "shared.txt").unlink()
    assert space.sync(folder).deleted == 1  # items found through a link are mirrored too


def test_mixed_folder_sync_embeds_only_what_changed(space, tmp_path, encoder, monkeypatch):
    folder = tmp_path / "docs"
    _good_folder(folder)
    (folder / "page.html").write_text("<html><body><h1>Hello</h1><p>A web page.</p></body></html>")
    assert space.sync(folder).added == 6
    write_pdf(folder / "report.pdf", [["Quarterly figures", "Umbrella sales fell in spring."]])
    embedded = []
    real = encoder.encode

    def counting(texts, *args, **kwargs):
        embedded.extend(texts)
        return real(texts, *args, **kwargs)

    monkeypatch.setattr(space.encoder, "encode", counting)
    report = space.sync(folder)
    assert (report.added, report.updated, report.unchanged, report.deleted) == (0, 1, 5, 0)
    assert embedded == ["Quarterly figures\nUmbrella sales fell in spring."]
