"""One tool's workloads in one process: ``python -m benchmarks.peers.worker JOB.json``.

Run by the runner with the tool's own venv interpreter, so each process holds one tool
only and its memory high-water mark is that tool's. The job names the peer, its folder,
the data file and the kind: ``speed`` (from texts: ingest, reopen, latency, memory, disk),
``vectors`` (the same workloads fed pre-computed vectors) or ``quality`` (ranked ids for
SciFact's queries; the parent scores them). Writes the result
JSON to the job's ``out``. Standard library only (plus the tool's own packages).
"""

from __future__ import annotations

import importlib
import itertools
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.peers.protocol import (
    ModelFiles,
    NotSupported,
    Peer,
    VectorBatch,
    VectorPeer,
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


@dataclass
class Run:
    """What one speed run times, the same for the text and the pre-computed-vector runs:
    queries are texts or vectors, and each callable closes over the peer."""

    open: Callable[[], None]
    ingest: Callable[[], None]
    dense: Callable[[Any], list[str]]
    hybrid: Callable[[Any], list[str]] | None
    filtered: Callable[[Any], list[str]]
    #: the i-th write (an upsert of a held-out item with metadata field = -1)
    write: Callable[[int], None]
    queries: list[Any]
    items: int
    #: ids the filter keeps
    keep: set[str]
    #: a filtered search whose value changes every query (None: not measured); no tool's
    #: cache of a filter's matches can help it
    filtered_each: Callable[[Any], list[str]] | None = None


def measure(peer: Peer | VectorPeer, run: Run, job: dict[str, Any]) -> dict[str, Any]:
    """Ingest, disk, reopen, latencies, memory: the workloads every size reports. Also
    returns the ids each dense and filtered query got (the parent scores recall)."""
    folder = Path(job["folder"])
    runs, per_run, warm = job["runs"], job["queries_per_run"], job["warmup"]
    queries = run.queries
    if len(queries) < warm + runs * per_run:
        raise ValueError(f"{len(queries)} queries < warm-up {warm} + {runs} x {per_run}")
    warmup = queries[:warm]
    batches = [queries[warm + r * per_run : warm + (r + 1) * per_run] for r in range(runs)]
    result: dict[str, Any] = {"label": getattr(peer, "label", "?"), "items": run.items,
                              "rss_baseline_bytes": current_rss()}  # fmt: skip

    started = time.perf_counter()
    run.open()
    run.ingest()
    result["ingest_s"] = time.perf_counter() - started
    result["docs_per_s"] = run.items / result["ingest_s"]
    result["rss_ingest_bytes"] = peak_rss()
    peer.close()
    result["disk_bytes"] = folder_bytes(folder)

    reopens = []
    for attempt in range(REOPENS):
        started = time.perf_counter()
        run.open()
        run.dense(queries[attempt])
        reopens.append(time.perf_counter() - started)
        if attempt < REOPENS - 1:
            peer.close()
    result["reopen_s"] = {"median": statistics.median(reopens), "min": min(reopens),
                          "max": max(reopens)}  # fmt: skip
    result["rss_reset"] = reset_peak_rss()

    ranked: dict[str, list[list[str]]] = {"dense": [], "filtered": []}

    def recording(mode: str, search: Callable[[Any], list[str]]) -> Callable[[Any], None]:
        def timed(query: Any) -> None:
            ranked[mode].append(search(query))

        return timed

    result["dense"] = latency(recording("dense", run.dense), batches, warmup)
    hybrid = run.hybrid
    result["hybrid"] = (
        _optional(lambda: latency(hybrid, batches, warmup)) if hybrid is not None
        else {"na": "not measured with pre-computed vectors: the query is a vector, not text"}
    )  # fmt: skip
    result["filtered"] = _optional(
        lambda: latency(recording("filtered", run.filtered), batches, warmup)
    )
    if "na" not in result["filtered"]:
        hits = [h for row in ranked["filtered"] for h in row]
        keep = run.keep
        result["filtered"]["kept_share"] = len(keep) / run.items
        result["filtered"]["hits_matching"] = sum(h in keep for h in hits) / max(len(hits), 1)
        result["filtered"]["hits_per_query"] = len(hits) / max(len(ranked["filtered"]), 1)
    each = run.filtered_each
    if each is not None:
        result["filtered_each"] = _optional(lambda: latency(each, batches, warmup))
    # the ids of the timed queries only (warm-up excluded), in query order
    timed = warm + runs * per_run
    result["ranked"] = {mode: rows[-(timed - warm) :] for mode, rows in ranked.items() if rows}

    write_ms: list[float] = []

    def write(i: int) -> None:
        started = time.perf_counter()
        run.write(i)
        write_ms.append(1000 * (time.perf_counter() - started))

    result["dense_after_write"] = _optional(
        lambda: latency(run.dense, batches, warmup, before=write)
    )
    if write_ms:
        result["dense_after_write"]["write_p50_ms"] = statistics.median(write_ms)
    result["rss_query_bytes"] = peak_rss()
    peer.close()
    return result


def text_run(peer: Peer, job: dict[str, Any], model: ModelFiles) -> Run:
    """From texts: each tool embeds the documents and the queries with its own model."""
    data = json.loads(Path(job["data"]).read_text())
    folder, k, field = Path(job["folder"]), job["k"], job["filter_field"]
    texts, ids, metadata, writes = data["texts"], data["ids"], data["metadata"], data["write_texts"]
    return Run(
        open=lambda: peer.open(folder, model),
        ingest=lambda: peer.ingest(texts, ids, metadata),
        dense=lambda q: peer.search(q, k),
        hybrid=lambda q: peer.search_hybrid(q, k),
        filtered=lambda q: peer.search_filtered(q, k, field, job["filter_value"]),
        write=lambda i: peer.write(writes[i % len(writes)], f"write-{i}", {field: -1}),
        queries=data["queries"], items=len(texts),
        keep={i for i, m in zip(ids, metadata, strict=True) if m[field] == job["filter_value"]},
    )  # fmt: skip


def vector_batches(job: dict[str, Any], data: dict[str, Any]) -> Iterator[VectorBatch]:
    """The first ``job["items"]`` documents in batches, their vectors read from the .npy
    with plain file reads (not a memory map, whose resident pages would count in the
    tool's RSS) and released batch by batch."""
    import numpy as np

    items, dim, batch = job["items"], job["dim"], job["batch"]
    field = job["filter_field"]
    with open(job["doc_vectors"], "rb") as handle:
        major, _ = np.lib.format.read_magic(handle)
        header = (np.lib.format.read_array_header_1_0 if major == 1
                  else np.lib.format.read_array_header_2_0)  # fmt: skip
        header(handle)  # leaves the file at the first row
        for start in range(0, items, batch):
            end = min(items, start + batch)
            vectors = np.fromfile(handle, dtype=np.float32, count=(end - start) * dim)
            yield VectorBatch(data["ids"][start:end], data["texts"][start:end],
                              [{field: row % job["buckets"]} for row in range(start, end)],
                              vectors.reshape(end - start, dim))  # fmt: skip


def vector_run(peer: VectorPeer, job: dict[str, Any]) -> Run:
    """From pre-computed vectors (the same for every tool): queries and writes are
    vectors too, so nothing is embedded while timed."""
    import numpy as np

    data = json.loads(Path(job["data"]).read_text())
    folder, k, field, dim = Path(job["folder"]), job["k"], job["filter_field"], job["dim"]
    queries = np.load(job["query_vectors"])
    writes, write_vectors = data["write_texts"], np.load(job["write_vectors"])
    values = itertools.count()

    def filtered_each(vector: Any) -> list[str]:
        return peer.search_vector_filtered(vector, k, field, next(values) % job["buckets"])

    return Run(
        open=lambda: peer.open_vectors(folder, dim),
        ingest=lambda: peer.ingest_vectors(vector_batches(job, data)),
        dense=lambda q: peer.search_vector(q, k),
        hybrid=None,
        filtered=lambda q: peer.search_vector_filtered(q, k, field, job["filter_value"]),
        write=lambda i: peer.write_vector(writes[i % len(writes)], f"write-{i}", {field: -1},
                                          write_vectors[i % len(writes)]),
        queries=list(queries), items=job["items"],
        keep={data["ids"][row] for row in range(job["filter_value"], job["items"],
                                                job["buckets"])},
        filtered_each=filtered_each,
    )  # fmt: skip


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
    peer: Any = make_peer(job["peer"])
    if job["kind"] == "speed":
        result = measure(peer, text_run(peer, job, model), job)
    elif job["kind"] == "vectors":
        if not hasattr(peer, "open_vectors"):
            result = {"na": f"{job['peer']} takes no pre-computed vectors"}
        else:
            result = measure(peer, vector_run(peer, job), job)
    else:
        result = quality(peer, job, model)
    out = Path(job["out"])
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result))
    tmp.replace(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
