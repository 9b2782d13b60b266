"""One tool's workloads in one process: ``python -m benchmarks.peers.worker JOB.json``.

Run by the runner with the tool's own venv interpreter, so each process holds one tool
only and its memory high-water mark is that tool's. The job names the peer, its folder,
the data file and the kind: ``speed`` (ingest, reopen, latency, memory, disk) or
``quality`` (ranked ids for SciFact's queries; the parent scores them). Writes the result
JSON to the job's ``out``. Standard library only (plus the tool's own packages).
"""

from __future__ import annotations

import importlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.peers.protocol import (
    ModelFiles,
    NotSupported,
    Peer,
    apply_thread_env,
    current_rss,
    folder_bytes,
    peak_rss,
    reset_peak_rss,
)

#: peer name -> adapter module (each defines ``make_peer() -> Peer``)
ADAPTERS = {
    "embedspace": "embedspace_peer",
    "chroma": "chroma",
    "lancedb": "lancedb_peer",
    "qdrant": "qdrant_peer",
    "txtai": "txtai_peer",
}
#: reopen + first query is timed this many times (median, min, max)
REOPENS = 3


def make_peer(name: str) -> Peer:
    module = importlib.import_module(f"benchmarks.peers.{ADAPTERS[name]}")
    peer: Peer = module.make_peer()
    return peer


def latency(search: Callable[[str], object], batches: list[list[str]], warmup: list[str],
            before: Callable[[int], None] | None = None) -> dict[str, Any]:  # fmt: skip
    """p50/p99 in ms of each run (one batch of distinct queries per run, so no run repeats
    another's queries), then the median, min and max across runs. ``before(i)`` runs
    untimed ahead of the i-th query (the write-between-queries workload)."""
    for query in warmup:
        search(query)
    p50s, p99s, count = [], [], 0
    for batch in batches:
        times = []
        for query in batch:
            if before is not None:
                before(count)
            count += 1
            started = time.perf_counter()
            search(query)
            times.append(1000 * (time.perf_counter() - started))
        times.sort()
        p50s.append(statistics.median(times))
        p99s.append(times[min(len(times) - 1, round(0.99 * (len(times) - 1)))])
    return {
        "p50_ms": statistics.median(p50s), "p50_min": min(p50s), "p50_max": max(p50s),
        "p99_ms": statistics.median(p99s), "p99_min": min(p99s), "p99_max": max(p99s),
        "runs": len(batches), "queries_per_run": len(batches[0]), "warmup": len(warmup),
    }  # fmt: skip


def _optional(run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return run()
    except NotSupported as reason:
        return {"na": str(reason)}


def speed(peer: Peer, job: dict[str, Any], model: ModelFiles) -> dict[str, Any]:
    data = json.loads(Path(job["data"]).read_text())
    folder, k = Path(job["folder"]), job["k"]
    texts, ids, metadata = data["texts"], data["ids"], data["metadata"]
    runs, per_run, warm = job["runs"], job["queries_per_run"], job["warmup"]
    queries = data["queries"]
    if len(queries) < warm + runs * per_run:
        raise ValueError(f"{len(queries)} queries < warm-up {warm} + {runs} x {per_run}")
    warmup = queries[:warm]
    batches = [queries[warm + r * per_run : warm + (r + 1) * per_run] for r in range(runs)]
    result: dict[str, Any] = {
        "label": peer.label,
        "items": len(texts),
        "rss_baseline_bytes": current_rss(),
    }

    started = time.perf_counter()
    peer.open(folder, model)
    peer.ingest(texts, ids, metadata)
    result["ingest_s"] = time.perf_counter() - started
    result["docs_per_s"] = len(texts) / result["ingest_s"]
    result["rss_ingest_bytes"] = peak_rss()
    peer.close()
    result["disk_bytes"] = folder_bytes(folder)

    reopens = []
    for attempt in range(REOPENS):
        started = time.perf_counter()
        peer.open(folder, model)
        peer.search(queries[attempt], k)
        reopens.append(time.perf_counter() - started)
        if attempt < REOPENS - 1:
            peer.close()
    result["reopen_s"] = {"median": statistics.median(reopens), "min": min(reopens),
                          "max": max(reopens)}  # fmt: skip
    result["rss_reset"] = reset_peak_rss()

    result["dense"] = latency(lambda q: peer.search(q, k), batches, warmup)
    result["hybrid"] = _optional(
        lambda: latency(lambda q: peer.search_hybrid(q, k), batches, warmup)
    )
    field, value = job["filter_field"], job["filter_value"]
    keep = {i for i, m in zip(ids, metadata, strict=True) if m[field] == value}
    found: list[list[str]] = []

    def filtered(query: str) -> None:
        found.append(peer.search_filtered(query, k, field, value))

    result["filtered"] = _optional(lambda: latency(filtered, batches, warmup))
    if "na" not in result["filtered"]:
        hits = [h for row in found for h in row]
        result["filtered"]["kept_share"] = len(keep) / len(ids)
        result["filtered"]["hits_matching"] = sum(h in keep for h in hits) / max(len(hits), 1)
        result["filtered"]["hits_per_query"] = len(hits) / max(len(found), 1)

    writes, write_ms = data["write_texts"], []

    def write(i: int) -> None:
        started = time.perf_counter()
        peer.write(writes[i % len(writes)], f"write-{i}", {field: -1})
        write_ms.append(1000 * (time.perf_counter() - started))

    result["dense_after_write"] = _optional(
        lambda: latency(lambda q: peer.search(q, k), batches, warmup, before=write)
    )
    if write_ms:
        result["dense_after_write"]["write_p50_ms"] = statistics.median(write_ms)
    result["rss_query_bytes"] = peak_rss()
    peer.close()
    return result


def quality(peer: Peer, job: dict[str, Any], model: ModelFiles) -> dict[str, Any]:
    """Ranked ids of every query, dense and hybrid (the parent computes nDCG@10)."""
    data = json.loads(Path(job["data"]).read_text())
    peer.open(Path(job["folder"]), model)
    started = time.perf_counter()
    peer.ingest(data["texts"], data["ids"], [{"bucket": 0} for _ in data["ids"]])
    result: dict[str, Any] = {"label": peer.label, "ingest_s": time.perf_counter() - started}
    k = job["k"]
    result["dense"] = [peer.search(q, k) for q in data["queries"]]
    try:
        result["hybrid"] = [peer.search_hybrid(q, k) for q in data["queries"]]
    except NotSupported as reason:
        result["hybrid"] = {"na": str(reason)}
    peer.close()
    return result


def main(argv: list[str]) -> int:
    job = json.loads(Path(argv[0]).read_text())
    model = ModelFiles(Path(job["st_folder"]), Path(job["onnx_folder"]), job["threads"])
    apply_thread_env(model.threads)
    peer = make_peer(job["peer"])
    run = speed if job["kind"] == "speed" else quality
    result = run(peer, job, model)
    out = Path(job["out"])
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result))
    tmp.replace(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
