"""End-to-end figures through the public Space API, next to the glue code users write today.

Ingest starts from files on disk (one ``.txt`` per document, written first and not timed)
and ends with a searchable space: reading, hashing, chunking, encoding, storing and the
index. The peer is the seed's recipe on the same files: read them, sentence-transformers
``encode`` (its default, fp32 torch) into a numpy matrix, then a matmul + argsort per
query. It stores nothing and neither chunks nor keeps metadata, so it is a lower bound on
what a real pipeline costs. A last row times hybrid queries that each follow a one-item
write: what a live service pays for keeping its view and keyword index current.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

#: Queries timed right after a write (each write makes the view and keyword index catch up).
WRITE_QUERIES = 50


def _percentiles(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    return statistics.median(ordered) * 1000, ordered[int(0.99 * (len(ordered) - 1))] * 1000


def space_end_to_end(texts: list[str], queries: list[str]) -> list[dict[str, Any]]:
    from embedspace.encoders.registry import load_encoder
    from embedspace.space import Space

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        for i, text in enumerate(texts):
            (folder / f"d{i:05d}.txt").write_text(text, encoding="utf-8")
        started = time.perf_counter()
        with Space(Path(tmp) / "bench.space", progress=False) as space:
            report = space.add_files([folder])
            ingest = time.perf_counter() - started
            if report.added != len(texts):
                raise RuntimeError(f"end-to-end ingest added {report.added} of {len(texts)} files")
            space.search(queries[0], k=10)  # warm the view
            for mode, writes in (("dense", False), ("hybrid", False), ("hybrid", True)):
                space.search(queries[0], k=10, mode=mode)
                latencies = []
                for i, query in enumerate(queries[:WRITE_QUERIES] if writes else queries):
                    if writes:  # untimed; the query then pays for catching up with it
                        space.add([f"{query} (note {i})"], ids=[f"note-{i}"])
                    t0 = time.perf_counter()
                    space.search(query, k=10, mode=mode)
                    latencies.append(time.perf_counter() - t0)
                p50, p99 = _percentiles(latencies)
                label = f"{mode}, a one-item write before each query" if writes else mode
                rows.append(
                    {
                        "pipeline": f"embedspace Space ({label})",
                        "docs_per_s": round(len(texts) / ingest, 1),
                        "p50_ms": round(p50, 2),
                        "p99_ms": round(p99, 2),
                    }
                )
        model = load_encoder("all-MiniLM-L6-v2-fp32")
        started = time.perf_counter()
        read = [path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.txt"))]
        matrix = model.encode(read)
        ingest = time.perf_counter() - started
    latencies = []
    for query in queries:
        t0 = time.perf_counter()
        q = model.encode([query])[0]
        np.argsort(-(matrix @ q))[:10]
        latencies.append(time.perf_counter() - t0)
    p50, p99 = _percentiles(latencies)
    rows.append(
        {
            "pipeline": "sentence-transformers encode + numpy (in memory only)",
            "docs_per_s": round(len(texts) / ingest, 1),
            "p50_ms": round(p50, 2),
            "p99_ms": round(p99, 2),
        }
    )
    peer = rows[-1]
    for row in rows:
        row["ingest_vs_peer"] = f"{row['docs_per_s'] / peer['docs_per_s']:.2f}x"
        row["p50_vs_peer"] = f"{row['p50_ms'] / peer['p50_ms']:.2f}x"
    return rows
