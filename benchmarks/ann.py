"""ANN benchmark: recall@10 vs queries/s for our indexes and the raw libraries.

The ann-benchmarks protocol: held-out queries, ground truth by exact search, recall@10,
single-query QPS (one query per call, the latency users see) and batched QPS. Our HNSW
wrapper is timed against raw FAISS *on the same graph with the same search parameters*
(so the difference is exactly the wrapper's cost), against raw FAISS on that graph in
insertion order with FAISS's default search parameters (what FAISS gives by itself: the
difference is our locality re-numbering and unbounded candidate queue) and against raw
hnswlib built with the same M / efConstruction.

Timing: this machine's speed flips between two levels from one second to the next, so
the libraries compared at one setting are timed in rounds (each once per round) and each
keeps its best round: noise only ever slows a pass down.
"""

from __future__ import annotations

import gc
import resource
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from embedspace.errors import InvalidInputError
from embedspace.index.base import as_metric
from embedspace.index.exact import ExactIndex
from embedspace.index.factory import make_index
from embedspace.index.hnsw import HnswIndex
from embedspace.index.ivf import IvfIndex

HNSW_M, HNSW_EF_CONSTRUCTION = 32, 200
EF_SWEEP = (16, 32, 64, 128, 256)
NPROBE_SWEEP = (4, 8, 16, 32, 64, 128)
#: Timed passes over the queries per library and setting (best kept, see module doc).
ROUNDS = 3
#: The recall at which libraries' speeds are compared (the issue's bar).
TARGET_RECALL = 0.95


def _rss_mb() -> float:
    """Current resident set size (not the peak: builds are measured as differences)."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20


def recall_at_10(found: np.ndarray, truth: np.ndarray) -> float:
    hits = [len(np.intersect1d(f[f >= 0], t)) for f, t in zip(found, truth, strict=True)]
    return float(np.mean(hits) / truth.shape[1])


def _qps(
    search: Callable[[np.ndarray], np.ndarray], queries: np.ndarray, batched: bool
) -> tuple[float, np.ndarray]:
    if batched:
        started = time.perf_counter()
        labels = search(queries)
        return len(queries) / (time.perf_counter() - started), labels
    started = time.perf_counter()
    labels = np.vstack([search(q[None, :]) for q in queries])
    return len(queries) / (time.perf_counter() - started), labels


def _best_qps(
    searches: dict[str, Callable[[np.ndarray], np.ndarray]], queries: np.ndarray
) -> dict[str, tuple[float, float, np.ndarray]]:
    """(best single-query QPS, best batched QPS, labels found) of each search, timed in
    interleaved rounds."""
    single: dict[str, list[float]] = {name: [] for name in searches}
    batched: dict[str, list[float]] = {name: [] for name in searches}
    found: dict[str, np.ndarray] = {}
    for _ in range(ROUNDS):
        for name, search in searches.items():
            qps, found[name] = _qps(search, queries, batched=False)
            single[name].append(qps)
            batched[name].append(_qps(search, queries, batched=True)[0])
    return {name: (max(single[name]), max(batched[name]), found[name]) for name in searches}


def ground_truth(base: np.ndarray, queries: np.ndarray, metric: str = "cosine") -> np.ndarray:
    exact = ExactIndex(base.shape[1], as_metric(metric))
    exact.add(np.arange(len(base)), base)
    return np.vstack(
        [exact.search(queries[i : i + 512], 10)[0] for i in range(0, len(queries), 512)]
    )


def hnsw_curves(
    base: np.ndarray, queries: np.ndarray, truth: np.ndarray, dataset: str
) -> list[dict[str, Any]]:
    """Our HnswIndex, raw FAISS on the same graph, and raw hnswlib, over an ef sweep."""
    import hnswlib

    rows: list[dict[str, Any]] = []
    labels = np.arange(len(base))
    gc.collect()
    rss0, started = _rss_mb(), time.perf_counter()
    ours = HnswIndex(base.shape[1], "cosine", M=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION)
    ours.add(labels, base)
    ours_build, ours_rss = time.perf_counter() - started, _rss_mb() - rss0
    raw_faiss = ours._index  # IndexIDMap2(IndexHNSWFlat): the same graph, no wrapper
    unit = ours.faiss  # the faiss module
    as_built = _insertion_order_copy(raw_faiss, unit)
    normalised = base / np.linalg.norm(base, axis=1, keepdims=True)
    rss0, started = _rss_mb(), time.perf_counter()
    hnsw = hnswlib.Index(space="cosine", dim=base.shape[1])
    hnsw.init_index(max_elements=len(base), M=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION)
    hnsw.add_items(normalised, labels)
    hnswlib_build, hnswlib_rss = time.perf_counter() - started, _rss_mb() - rss0
    q_unit = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
    for ef in EF_SWEEP:
        ours.set_ef_search(ef)
        hnsw.set_ef(max(ef, 10))
        params = ours._search_params(None)  # exactly our (unfiltered) search parameters
        defaults = unit.SearchParametersHNSW(efSearch=ef)  # what a raw FAISS user passes
        libraries: dict[str, tuple[Callable[[np.ndarray], np.ndarray], float, float]] = {
            "embedspace HnswIndex": (lambda q: ours.search(q, 10)[0], ours_build, ours_rss),
            "raw faiss (same graph)": (
                partial(_faiss_top10, raw_faiss, params),
                ours_build,
                ours_rss,
            ),
            "raw faiss (insertion order)": (
                partial(_faiss_top10, as_built, defaults),
                ours_build,
                ours_rss,
            ),
            "raw hnswlib": (
                lambda q: hnsw.knn_query(q, k=10)[0].astype(np.int64),
                hnswlib_build,
                hnswlib_rss,
            ),
        }
        timed = _best_qps({name: lib[0] for name, lib in libraries.items()}, q_unit)
        for library, (_, build_s, rss) in libraries.items():
            single_qps, batched_qps, found = timed[library]
            rows.append(
                {
                    "dataset": dataset,
                    "library": library,
                    "param": f"ef={ef}",
                    "recall@10": round(recall_at_10(found, truth), 4),
                    "qps_single": round(single_qps),
                    "qps_batched": round(batched_qps),
                    "build_s": round(build_s, 1),
                    "rss_mb": round(rss),
                }
            )
    return rows


def _insertion_order_copy(ours: Any, faiss: Any) -> Any:
    """Our graph with its nodes back in insertion order: what raw FAISS itself builds.

    Our HnswIndex renumbers nodes for memory locality after a bulk add (index/hnsw.py);
    with labels 0..n-1 added in order, the id map says where each node came from.
    """
    graph = faiss.clone_index(faiss.downcast_index(ours.index))
    graph.permute_entries(np.argsort(faiss.vector_to_array(ours.id_map)))
    return graph


def _faiss_top10(index: Any, params: Any, queries: np.ndarray) -> np.ndarray:
    """Labels of a raw FAISS index's top 10 for ``queries``, searched with ``params``."""
    return index.search(queries, 10, params=params)[1]


def ivf_curves(
    base: np.ndarray,
    queries: np.ndarray,
    truth: np.ndarray,
    dataset: str,
    kinds: tuple[str, ...] = ("ivf", "ivfpq"),
) -> list[dict[str, Any]]:
    """Our IVF-Flat and IVF-PQ over an nprobe sweep (PQ candidates re-scored exactly)."""
    rows: list[dict[str, Any]] = []
    labels = np.arange(len(base))
    unit = (base / np.linalg.norm(base, axis=1, keepdims=True)).astype(np.float32)
    for kind in kinds:
        started = time.perf_counter()
        index = make_index(kind, base.shape[1], "cosine")
        if not isinstance(index, IvfIndex):
            raise InvalidInputError(f"ivf_curves sweeps nprobe: {kind!r} is not an IVF kind")
        index.add(labels, base)
        build_s = time.perf_counter() - started
        approximate = getattr(index, "approximate_scores", False)
        for nprobe in NPROBE_SWEEP:
            index.set_nprobe(nprobe)

            def search(
                q: np.ndarray, index: IvfIndex = index, approximate: bool = approximate
            ) -> np.ndarray:
                if not approximate:
                    return index.search(q, 10)[0]
                cand = index.search(q, 100)[0]  # the Space's refine step: exact re-score of 10x
                qn = q / np.linalg.norm(q, axis=1, keepdims=True)
                scores = np.einsum("qd,qkd->qk", qn, unit[np.maximum(cand, 0)])
                scores[cand < 0] = -np.inf
                return np.take_along_axis(cand, np.argsort(-scores, axis=1)[:, :10], axis=1)

            single_qps, batched_qps, found = _best_qps({kind: search}, queries)[kind]
            rows.append(
                {
                    "dataset": dataset,
                    "library": f"embedspace {kind}" + (" + exact re-score" if approximate else ""),
                    "param": f"nprobe={nprobe}",
                    "recall@10": round(recall_at_10(found, truth), 4),
                    "qps_single": round(single_qps),
                    "qps_batched": round(batched_qps),
                    "build_s": round(build_s, 1),
                    "rss_mb": None,
                }
            )
    return rows


def qps_at_recall(rows: list[dict[str, Any]], target: float = TARGET_RECALL) -> float | None:
    """Single-query QPS of one library's sweep at exactly ``target`` recall, interpolated
    (log QPS linear in recall) between the two settings around it, as ann-benchmarks'
    curves are read. Why: comparing "the first setting >= 0.95" penalises a library whose
    sweep point lands at 0.9499 against one at 0.952. None if the sweep never gets there."""
    points = sorted((r["recall@10"], r["qps_single"]) for r in rows)
    for (r0, q0), (r1, q1) in zip(points, points[1:], strict=False):
        if r0 < target <= r1:
            share = (target - r0) / (r1 - r0)
            return float(np.exp(np.log(q0) + share * (np.log(q1) - np.log(q0))))
    return float(points[0][1]) if points and points[0][0] >= target else None


def wrapper_overhead(rows: list[dict[str, Any]]) -> list[str]:
    """For each dataset: our single-query QPS at recall@10 = 0.95 vs each raw library's."""
    lines = []
    for dataset in sorted({r["dataset"] for r in rows}):
        by_library: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            if r["dataset"] == dataset:
                by_library.setdefault(r["library"], []).append(r)
        at = {name: qps_at_recall(sweep) for name, sweep in by_library.items()}
        ours = at.pop("embedspace HnswIndex", None)
        if ours is None or not any(at.values()):
            lines.append(f"- {dataset}: no sweep reached recall@10 {TARGET_RECALL}")
            continue
        versus = ", ".join(
            f"{name} {qps:,.0f} (ratio {ours / qps:.2f})" for name, qps in at.items() if qps
        )
        lines.append(
            f"- {dataset}: single-query QPS at recall@10 = {TARGET_RECALL} (interpolated): "
            f"ours {ours:,.0f}; {versus}."
        )
    return lines


#: How to read the summary lines (true by construction, so it holds for any run).
OVERHEAD_READING = (
    "The ratio to raw FAISS on the same graph (same search parameters) is our wrapper's own "
    "cost; the ratio to raw FAISS in insertion order with its default search parameters "
    "adds what our locality re-numbering and unbounded candidate queue gain; a remaining "
    "gap to hnswlib (same M and efConstruction) lies in FAISS's HNSW search, the library "
    "we wrap."
)


def curves_markdown(rows: list[dict[str, Any]], title: str) -> str:
    lines = [
        f"### {title}",
        "",
        "| dataset | library | param | recall@10 | QPS single | QPS batched | build s | build RSS MB |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['dataset']} | {r['library']} | {r['param']} | {r['recall@10']:.3f} | {r['qps_single']:,} | "
        f"{r['qps_batched']:,} | {r['build_s']} | {r['rss_mb'] if r['rss_mb'] is not None else '-'} |"
        for r in rows
    ]
    return "\n".join(lines)
