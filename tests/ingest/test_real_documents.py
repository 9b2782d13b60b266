"""Retrieval on real documents: manuals that Debian packages install (Valgrind's HTML,
GNU libtasn1's and shared-mime-info's PDFs), searched with hand-checked queries. Skipped
where those packages are not installed; benchmarks/documents.py measures the larger set."""

from __future__ import annotations

import pytest

import embedspace as es
from benchmarks.documents import DOC, QUERIES, build_folder, matches, top_hit

pytest.importorskip("pypdf", reason="the docs extra is not installed (make install adds it)")

FILES = (
    "valgrind/html/manual-core.html",
    "valgrind/html/mc-manual.html",
    "valgrind/html/cg-manual.html",
    "libtasn1-doc/libtasn1.pdf",
    "shared-mime-info/shared-mime-info-spec.pdf",
)


@pytest.fixture(scope="module")
def manuals(tmp_path_factory):
    present = [rel for rel in FILES if (DOC / rel).exists()]
    if not present:
        pytest.skip(f"none of {FILES} is installed under {DOC}")
    root = tmp_path_factory.mktemp("manuals")
    folder = build_folder(root, [(DOC / rel, rel) for rel in present])
    with es.Space(root / "manuals.space", progress=False) as space:
        report = space.sync(folder)
        assert report.added == len(present) and not report.skipped, report.skipped
        yield space, set(present)


@pytest.mark.parametrize("query", [q for q in QUERIES if q[1] in FILES], ids=lambda q: q[0][:40])
def test_hand_checked_query_finds_its_page_and_section(manuals, query):
    space, present = manuals
    text, *expected = query
    if expected[0] not in present:
        pytest.skip(f"{expected[0]} is not installed")
    found = top_hit(space, text)
    assert matches(found, tuple(expected)), f"{text!r}: got {found}, want {tuple(expected)}"
