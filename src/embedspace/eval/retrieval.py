"""Retrieval quality (nDCG@10, Recall@100) of every search mode on one dataset.

The corpus goes through the public ``Space`` API exactly as a user's would, into a cached
space (re-runs skip unchanged documents), so the figures measure the product, not a
side path.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..progress import progress_bar
from .datasets import load_retrieval_set
from .metrics import mean, ndcg_at_k, recall_at_k

if TYPE_CHECKING:
    from ..space import Space

#: (label, search kwargs) of each configuration reported side by side.
CONFIGS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("dense", {"mode": "dense"}),
    ("sparse (BM25)", {"mode": "sparse"}),
    ("hybrid rrf", {"mode": "hybrid", "fusion": "rrf"}),
    ("hybrid convex a=0.5", {"mode": "hybrid", "fusion": "convex", "alpha": 0.5}),
    ("hybrid convex a=0.7", {"mode": "hybrid", "fusion": "convex", "alpha": 0.7}),
)


def default_cache_dir() -> Path:
    return Path(".cache") / "eval"


def cached_space_path(dataset: str, model: str, cache_dir: Path | None = None) -> Path:
    """Where a dataset's corpus space is cached: keyed by model id, so a new model (or
    recipe) gets a fresh cache. Shared with eval/compression.py, which reads its vectors."""
    from ..encoders.registry import load_encoder

    model_id = load_encoder(model).model_id
    safe_id = "".join(c if c.isalnum() or c in "-_." else "_" for c in model_id)
    return (cache_dir or default_cache_dir()) / f"{dataset}-{safe_id}.space"


def evaluate_retrieval(
    dataset: Path,
    *,
    model: str = "default",
    limit_queries: int | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
    configs: tuple[tuple[str, dict[str, Any]], ...] = CONFIGS,
) -> dict[str, Any]:
    from ..space import Space

    data = load_retrieval_set(dataset)
    query_ids = [q for q in data.queries if data.qrels.get(q)][:limit_queries]
    cache = cached_space_path(data.name, model, cache_dir)
    with Space(cache, model=model, progress=progress) as space:
        ingest_s = _ingest_seconds(space, data.corpus, cache.with_suffix(".ingest.json"))
        rows = []
        for label, kwargs in configs:
            ndcg, recall = [], []
            started = time.perf_counter()
            with progress_bar(len(query_ids), f"{data.name}: {label}", progress) as bar:
                for qid in query_ids:
                    ranked = [h.id for h in space.search(data.queries[qid], k=100, **kwargs)]
                    ndcg.append(ndcg_at_k(ranked, data.qrels[qid], 10))
                    recall.append(recall_at_k(ranked, data.qrels[qid], 100))
                    bar.advance()
            per_query_ms = 1000 * (time.perf_counter() - started) / max(len(query_ids), 1)
            rows.append(
                {
                    "config": label,
                    "ndcg@10": round(mean(ndcg), 4),
                    "recall@100": round(mean(recall), 4),
                    "ms_per_query": round(per_query_ms, 1),
                }
            )
        info = space.info()
    return {
        "dataset": data.name,
        "documents": len(data.corpus),
        "queries": len(query_ids),
        "chunks": info["chunks"],
        "model": info["model_id"],
        "ingest_seconds": round(ingest_s, 1),
        "rows": rows,
    }


def _ingest_seconds(space: Space, corpus: dict[str, str], record: Path) -> float:
    """Add the corpus (a no-op when cached) and return how long embedding it took on
    the run that actually did it, so cached re-runs still report the real ingest time."""
    ids = list(corpus)
    cached = len(space) == len(ids)
    started = time.perf_counter()
    space.add([corpus[i] for i in ids], ids=ids)
    elapsed = time.perf_counter() - started
    previous = json.loads(record.read_text()) if record.exists() else None
    if cached and previous and previous["items"] == len(ids):
        return previous["seconds"]
    record.write_text(json.dumps({"items": len(ids), "seconds": round(elapsed, 1)}))
    return round(elapsed, 1)


def results_markdown(results: dict[str, Any]) -> str:
    lines = [
        f"### Retrieval: {results['dataset']} ({results['documents']:,} documents, "
        f"{results['queries']:,} queries, {results['chunks']:,} chunks, model `{results['model']}`)",
        "",
        "| search | nDCG@10 | Recall@100 | ms / query |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {r['config']} | {r['ndcg@10']:.3f} | {r['recall@100']:.3f} | {r['ms_per_query']} |"
        for r in results["rows"]
    ]
    lines += [
        "",
        f"Ingest through `Space.add` (chunking + encoding + storing): {results['ingest_seconds']} s "
        f"({results['documents'] / max(results['ingest_seconds'], 0.1):.0f} documents/s).",
        f"Command: `embedspace eval retrieval <{results['dataset']} data> --write docs/benchmarks.md`",
    ]
    return "\n".join(lines)
