"""End-to-end figures through the public Space API, next to the glue code users write today.

The peer is the seed's recipe: sentence-transformers ``encode`` (its default, fp32
torch) into a numpy matrix, then a matmul + argsort per query. It stores nothing and
neither chunks nor keeps metadata, so it is a lower bound on what a real pipeline costs.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def _percentiles(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    return statistics.median(ordered) * 1000, ordered[int(0.99 * (len(ordered) - 1))] * 1000


def space_end_to_end(texts: list[str], queries: list[str]) -> list[dict[str, Any]]:
    from ..encoders.registry import load_encoder
    from ..space import Space

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        with Space(Path(tmp) / "bench.space", progress=False) as space:
            space.add(texts, ids=[f"d{i}" for i in range(len(texts))])
            ingest = time.perf_counter() - started
            space.search(queries[0], k=10)  # warm the view
            for mode in ("dense", "hybrid"):
                space.search(queries[0], k=10, mode=mode)
                latencies = []
                for query in queries:
                    t0 = time.perf_counter()
                    space.search(query, k=10, mode=mode)
                    latencies.append(time.perf_counter() - t0)
                p50, p99 = _percentiles(latencies)
                rows.append(
                    {
                        "pipeline": f"embedspace Space ({mode})",
                        "docs_per_s": round(len(texts) / ingest, 1),
                        "p50_ms": round(p50, 2),
                        "p99_ms": round(p99, 2),
                    }
                )
    model = load_encoder("all-MiniLM-L6-v2-fp32")
    started = time.perf_counter()
    matrix = model.encode(texts)
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
    return rows
