"""Ingest speed, memory and retrieval on real documents: the manuals Debian packages ship.

The folder is built from files on this machine (links in a temporary folder), never
copied into the repository: PDF manuals (gnuplot, GNU libtasn1, shared-mime-info, Octave)
and HTML manuals (Valgrind, gnuplot, shared-mime-info, the Python 3.11 library
reference, Node.js). Which package brings which: ``SOURCES``; a missing one is left out
and said so, and with none of them the section is skipped.

Two measurements, each in a child process so its peak memory is its own:

* reading: every file of the full folder through ``load_file`` (no model, no store):
  files, PDF pages and MB per second, per format;
* ingest: ``Space.sync`` of a smaller folder, timed first (read, chunk, embed, store),
  then again unchanged (every file read and hashed, nothing embedded), then after one
  file changed; with the hand-checked queries of ``QUERIES`` searched on it (the same
  ones tests/ingest/test_real_documents.py asserts).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

DOC = Path("/usr/share/doc")
#: (path under /usr/share/doc, Debian package, in the ingest folder too?)
SOURCES = (
    ("gnuplot/gnuplot.pdf", "gnuplot-doc", True),
    ("libtasn1-doc/libtasn1.pdf", "libtasn1-doc", True),
    ("shared-mime-info/shared-mime-info-spec.pdf", "shared-mime-info", True),
    ("shared-mime-info/shared-mime-info-spec.html", "shared-mime-info", True),
    ("valgrind/html", "valgrind", True),
    ("octave/octave.pdf", "octave-doc", False),
    ("octave/liboctave.pdf", "octave-doc", False),
    ("gnuplot/htmldocs", "gnuplot-doc", False),
    ("python3.11/html/library", "python3.11-doc", False),
    ("nodejs/api", "nodejs", False),
)
#: Hand-checked queries on the ingest folder: (query, expected id, page, section prefix).
#: Each expected passage was read and confirmed to answer its query; tests assert those
#: whose document is in their (smaller) folder.
QUERIES = (
    (
        "suppress errors from system libraries I cannot fix",
        "valgrind/html/manual-core.html",
        None,
        "2. Using and understanding the Valgrind core > 2.5. Suppressing errors",
    ),
    (
        "detect memory leaks at program exit",
        "valgrind/html/mc-manual.html",
        None,
        "4. Memcheck: a memory error detector > 4.2. Explanation of error messages from "
        "Memcheck > 4.2.8. Memory leak detection",
    ),
    (
        "profile cache misses of my program",
        "valgrind/html/cg-manual.html",
        None,
        "5. Cachegrind: a cache and branch-prediction profiler",
    ),
    (
        "draw a histogram of data with boxes",
        "gnuplot/gnuplot.pdf",
        72,
        "II Plotting styles > Histograms",
    ),
    (
        "glob patterns that match a file name to a MIME type",
        "shared-mime-info/shared-mime-info-spec.pdf",
        4,
        "2. Unified system > 2.2. The source XML files",
    ),
    (
        "where are the shared MIME database files installed",
        "shared-mime-info/shared-mime-info-spec.pdf",
        3,
        "2. Unified system > 2.1. Directory layout",
    ),
    (
        "decode a DER encoded ASN.1 structure",
        "libtasn1-doc/libtasn1.pdf",
        10,
        "3 Utilities > Invoking asn1Decoding",
    ),
)


def available(ingest_only: bool) -> tuple[list[tuple[Path, str]], list[str]]:
    """(path, name in the folder) of the sources present, and the packages missing."""
    found, missing = [], []
    for rel, package, in_ingest in SOURCES:
        if ingest_only and not in_ingest:
            continue
        path = DOC / rel
        (found.append((path, rel)) if path.exists() else missing.append(package))
    return found, sorted(set(missing))


def build_folder(root: Path, sources: list[tuple[Path, str]]) -> Path:
    """A folder of links to the sources' documents (HTML and PDF files only)."""
    folder = root / "docs"
    for path, rel in sources:
        files = (
            [path]
            if path.is_file()
            else sorted(p for p in path.rglob("*") if p.suffix in (".html", ".pdf") and p.is_file())
        )
        for file in files:
            link = folder / rel / file.relative_to(path) if path.is_dir() else folder / rel
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(file)
    return folder


def _child(function: str, *args: str) -> tuple[dict[str, Any], float]:
    """Run ``function(*args)`` of this module in a fresh process: (its JSON answer, its
    peak resident memory in MB)."""
    code = f"import json, benchmarks.documents as d; print(json.dumps(d.{function}(*{args!r})))"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None  # stdout=PIPE
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"benchmarks.documents.{function} failed ({proc.returncode})")
    return json.loads(out.strip().splitlines()[-1]), usage.ru_maxrss / 1024


def read_folder(folder: str) -> dict[str, Any]:
    """Every document read once, without a model: counts and seconds per format."""
    from embedspace.ingest.loaders import SUPPORTED_SUFFIXES, discover, load_file

    per: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for file, rel in discover([Path(folder)], SUPPORTED_SUFFIXES):
        started = time.perf_counter()
        loaded = load_file(file, rel)
        row = per[file.suffix.lstrip(".")]
        row["seconds"] += time.perf_counter() - started
        row["files"] += 1
        row["mb"] += file.stat().st_size / 1e6
        row["pages"] += sum(i.metadata.get("pages", 0) for i in loaded.items)
        row["chars"] += sum(len(i.text) for i in loaded.items)
    return {kind: dict(row) for kind, row in per.items()}


def ingest_folder(folder: str, space: str) -> dict[str, Any]:
    """Sync the folder into a new space (timed), again unchanged, again after one file
    changed; then the hand-checked queries."""
    from embedspace import Space

    out: dict[str, Any] = {}
    with Space(space, progress=False) as sp:
        for label in ("first", "unchanged"):
            started = time.perf_counter()
            report = sp.sync(folder)
            out[label] = {"seconds": time.perf_counter() - started, **report.to_dict()}
            out[label]["notes"] = len(out[label]["notes"])
        out["chunks"], out["items"] = sp.info()["chunks"], len(sp)
        changed = Path(folder) / "changed.html"
        changed.write_text("<html><body><h1>Changed</h1><p>One new page.</p></body></html>")
        started = time.perf_counter()
        report = sp.sync(folder)
        out["one changed"] = {"seconds": time.perf_counter() - started, "added": report.added}
        out["queries"] = [[q, *top_hit(sp, q)] for q, *_ in QUERIES]
    return out


def top_hit(space: Any, query: str) -> tuple[str, int | None, str | None]:
    """(id, page, section) of the query's best hybrid hit."""
    hit = space.search(query, k=1, mode="hybrid")[0]
    return hit.id, hit.page, hit.section


def matches(found: tuple[str, int | None, str | None], expected: tuple) -> bool:
    """Whether a top hit is the hand-checked answer (same document, page, section)."""
    (doc, page, section), (want_doc, want_page, want_section) = found, expected
    return (
        doc == want_doc
        and (want_page is None or page == want_page)
        and (section or "").startswith(want_section)
    )


def folder_size(folder: Path) -> tuple[int, float, int]:
    """(files, MB, PDF pages) of a folder of links (pages read from the PDFs)."""
    from pypdf import PdfReader

    files = [p for p in folder.rglob("*") if p.is_file()]
    pages = sum(len(PdfReader(p).pages) for p in files if p.suffix == ".pdf")
    return len(files), sum(p.stat().st_size for p in files) / 1e6, pages


def run() -> str | None:
    """The section's markdown, or None when no source document is on this machine."""
    everything, missing = available(ingest_only=False)
    subset, _ = available(ingest_only=True)
    if not everything:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        full = build_folder(Path(tmp) / "full", everything)
        read, read_rss = _child("read_folder", str(full))
        small = build_folder(Path(tmp) / "small", subset)
        files, mb, pages = folder_size(small)
        ingest, ingest_rss = _child("ingest_folder", str(small), str(Path(tmp) / "docs.space"))
        _, model_rss = _child("model_only")
    return markdown(read, read_rss, ingest, ingest_rss, model_rss, (files, mb, pages), missing)


def model_only() -> dict[str, Any]:
    """The baseline: a space with the model loaded and one text embedded."""
    from embedspace import Space

    with tempfile.TemporaryDirectory() as tmp, Space(Path(tmp) / "s.space", progress=False) as sp:
        sp.add(["one short text"])
    return {}


def markdown(
    read: dict[str, Any],
    read_rss: float,
    ingest: dict[str, Any],
    ingest_rss: float,
    model_rss: float,
    size: tuple[int, float, int],
    missing: list[str],
) -> str:
    from embedspace.encoders.cpu import describe

    lines = [
        "### Documents: ingest speed and memory (Debian's manuals)",
        "",
        f"CPU: {describe()}, {os.cpu_count()} cores, shared with other work. Command: "
        "`.venv/bin/python -m benchmarks.run --only documents` (needs the docs extra and "
        "`apt-get install gnuplot-doc octave-doc python3-doc libtasn1-doc valgrind`).",
        "",
        f"The full folder: {', '.join(rel for rel, _, _ in SOURCES)} (what is installed). "
        "Reading only (load_file: parse, clean, lay out; no model, no store), every file; "
        f"peak memory of the process {read_rss:,.0f} MB:",
        "",
        "| format | files | PDF pages | MB | text chars | s | files/s | pages/s | MB/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, row in sorted(read.items()):
        s = row["seconds"]
        pages = f"{row['pages']:,.0f}" if row["pages"] else "-"
        pages_s = f"{row['pages'] / s:.1f}" if row["pages"] else "-"
        lines.append(
            f"| {kind} | {row['files']:,.0f} | {pages} | {row['mb']:.1f} | {row['chars']:,.0f} | "
            f"{s:.1f} | {row['files'] / s:.2f} | {pages_s} | {row['mb'] / s:.2f} |"
        )
    files, mb, pdf_pages = size
    lines += [
        "",
        f"Ingest (`space.sync`: read, chunk, embed, store) of {files} files ({mb:.1f} MB, "
        f"{pdf_pages} PDF pages: {', '.join(rel for rel, _, sub in SOURCES if sub)}) into "
        f"{ingest['items']} items, "
        f"{ingest['chunks']:,} chunks; peak memory {ingest_rss:,.0f} MB, of which "
        f"{model_rss:,.0f} MB is a process with the model loaded and one text embedded:",
        "",
        "| sync | s | pages/s | MB/s | added | updated | unchanged |",
        "|---|---|---|---|---|---|---|",
    ]
    for label in ("first", "unchanged"):
        row = ingest[label]
        lines.append(
            f"| {label} | {row['seconds']:.1f} | {pdf_pages / row['seconds']:.1f} | "
            f"{mb / row['seconds']:.2f} | {row['added']} | {row['updated']} | {row['unchanged']} |"
        )
    lines.append(
        f"| one file added | {ingest['one changed']['seconds']:.1f} | | | "
        f"{ingest['one changed']['added']} | | |"
    )
    lines += [
        "",
        "pages/s and MB/s are the folder's PDF pages and bytes over the whole sync's time (HTML i"
        "ncluded). An unchanged sync still reads and parses every file (only its embedding is skipped), so it costs the reading time.",
    ]
    right = 0
    lines += [
        "",
        "Hand-checked queries on the ingest folder (hybrid, top hit; tests/ingest/test_real_documents.py "
        "asserts those whose document is in its smaller folder):",
        "",
        "| query | top hit | page | section | the checked answer? |",
        "|---|---|---|---|---|",
    ]
    for (query, hit, page, section), (_, *expected) in zip(ingest["queries"], QUERIES, strict=True):
        ok = matches((hit, page, section), tuple(expected))
        right += ok
        shown = page if page is not None else ""
        lines.append(f"| {query} | {hit} | {shown} | {section or ''} | {'yes' if ok else 'no'} |")
    lines += ["", f"{right} of {len(QUERIES)} top hits are the checked answer."]
    if missing:
        lines += ["", f"Not on this machine, so left out: {', '.join(missing)}."]
    return "\n".join(lines)
