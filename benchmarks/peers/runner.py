"""Runs every peer's workloads, each tool in its own venv, and keeps the results.

``python -m benchmarks.peers.runner --sizes 10000,100000`` (also ``python -m benchmarks.run
--only peers``). One worker process per (tool, size) runs the speed workloads, and one per
tool the SciFact quality run; results are cached as JSON under ``.cache/bench/peers`` so a
later run of another size is reported beside them (each result records when and where it
was measured). nDCG is computed here, with the project's metrics, from the ids each tool
returned through its own search.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.peers import corpus
from benchmarks.peers.protocol import thread_env
from benchmarks.throughput import PEER_PYTHON, ST_EXPORT

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(".cache/bench/peers")
#: every tool, ours first
PEERS = ("embedspace", "lancedb", "qdrant", "chroma", "txtai")
THREADS = 2
#: the sizes measured by default (1M would need pre-computed vectors: not done yet)
DEFAULT_SIZES = (10_000, 100_000)
RUNS, PER_RUN, WARMUP, K = 5, 30, 5, 10
#: an equality filter on ``bucket`` keeps 1% of the items (corpus.BUCKETS = 100)
FILTER_FIELD, FILTER_VALUE = "bucket", 7
#: one worker may take this long (100k texts embedded by torch on two busy cores)
TIMEOUT_S = 3 * 3600
SCIFACT = "retrieval/scifact/scifact.zip"


def python_for(peer: str) -> Path:
    """The interpreter of ``peer``'s venv (``make peers``); ours is this one."""
    if peer == "embedspace":
        return Path(sys.executable)
    return ROOT / f".venv-{peer}" / "bin" / "python"


def missing(peer: str) -> str | None:
    """Why ``peer`` cannot run here, or None."""
    if not python_for(peer).is_file():
        return f"{python_for(peer).parent.parent.name} not found: run `make peers`"
    return None


def onnx_export() -> Path:
    """The fp32 ONNX export of the packaged MiniLM that fastembed and Chroma load: made
    once by sentence-transformers' exporter in ``.venv-peer`` (benchmarks/st_onnx_peer.py),
    the folder the encoding benchmark's fastembed peer reads too."""
    if (ST_EXPORT / "onnx" / "model.onnx").is_file():
        return ST_EXPORT
    from embedspace.encoders.packaged import minilm_reference_dir

    if not PEER_PYTHON.is_file():
        raise FileNotFoundError(f"{PEER_PYTHON} not found: `make .venv-peer/.installed`")
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
        "from st_onnx_peer import exported; exported(Path(sys.argv[2]), Path(sys.argv[3]))"
    )
    subprocess.run(
        [str(PEER_PYTHON), "-c", code, str(ROOT / "benchmarks"), str(minilm_reference_dir()),
         str(ST_EXPORT)],
        check=True,
    )  # fmt: skip
    return ST_EXPORT


def run_worker(peer: str, job: dict[str, Any], work: Path) -> dict[str, Any]:
    """Run one job in ``peer``'s venv and return its result (or {"error": ...})."""
    from embedspace.encoders.packaged import minilm_reference_dir

    job = {**job, "peer": peer, "threads": THREADS, "st_folder": str(minilm_reference_dir()),
           "onnx_folder": str(onnx_export()), "out": str(work / f"{peer}.json"),
           "folder": str(work / peer)}  # fmt: skip
    job_file = work / f"{peer}.job.json"
    job_file.write_text(json.dumps(job))
    paths = [str(ROOT / "src"), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, **thread_env(THREADS), "PYTHONPATH": os.pathsep.join(paths)}
    started = time.perf_counter()
    done = subprocess.run(
        [str(python_for(peer)), "-m", "benchmarks.peers.worker", str(job_file)],
        cwd=ROOT, env=env, timeout=TIMEOUT_S, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-3:]
        print(f"  {peer} failed: {' | '.join(tail)}", file=sys.stderr, flush=True)
        return {"error": tail[-1] if tail else f"exit {done.returncode}"}
    result: dict[str, Any] = json.loads(Path(job["out"]).read_text())
    result["wall_s"] = time.perf_counter() - started
    return result


def stamp() -> dict[str, Any]:
    """When and on what a result was measured (the report prints it)."""
    return {"measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "host_cpu": platform.processor() or platform.machine(),
            "load_1min": os.getloadavg()[0]}  # fmt: skip


def speed(size: int, peers: Sequence[str], synsets: list[corpus.Synset]) -> None:
    """Every peer's speed workloads at one size, each cached as ``speed-<size>-<peer>.json``."""
    data = corpus.workload(synsets, size, WARMUP + RUNS * PER_RUN)
    with tempfile.TemporaryDirectory(dir=_cache_dir()) as tmp:
        work = Path(tmp)
        (work / "data.json").write_text(json.dumps({
            "texts": data.texts, "ids": data.ids, "metadata": data.metadata,
            "queries": data.queries, "write_texts": data.held_texts}))  # fmt: skip
        job = {"kind": "speed", "data": str(work / "data.json"), "k": K, "runs": RUNS,
               "queries_per_run": PER_RUN, "warmup": WARMUP, "filter_field": FILTER_FIELD,
               "filter_value": FILTER_VALUE}  # fmt: skip
        for peer in peers:
            print(f"peers: {peer} at {size:,} items", file=sys.stderr, flush=True)
            reason = missing(peer)
            result = {"na": reason} if reason else run_worker(peer, job, work)
            _save(f"speed-{size}-{peer}.json", {"size": size, "peer": peer, **stamp(), **result})


def quality(peers: Sequence[str], root: Path) -> None:
    """SciFact nDCG@10 through each tool's own dense and hybrid search, each cached as
    ``quality-<peer>.json``."""
    from embedspace.eval.datasets import load_retrieval_set
    from embedspace.eval.metrics import mean, ndcg_at_k

    data = load_retrieval_set(root / SCIFACT)
    qids = [q for q in data.queries if data.qrels.get(q)]
    with tempfile.TemporaryDirectory(dir=_cache_dir()) as tmp:
        work = Path(tmp)
        (work / "data.json").write_text(json.dumps({
            "texts": list(data.corpus.values()), "ids": list(data.corpus),
            "queries": [data.queries[q] for q in qids]}))  # fmt: skip
        job = {"kind": "quality", "data": str(work / "data.json"), "k": K}
        for peer in peers:
            print(f"peers: {peer} on SciFact", file=sys.stderr, flush=True)
            reason = missing(peer)
            ranked = {"na": reason} if reason else run_worker(peer, job, work)
            row: dict[str, Any] = {k: v for k, v in ranked.items() if k not in ("dense", "hybrid")}
            for mode in ("dense", "hybrid"):
                got = ranked.get(mode)
                if isinstance(got, list):
                    scores = [
                        ndcg_at_k(r, data.qrels[q], K) for r, q in zip(got, qids, strict=True)
                    ]
                    row[mode] = mean(scores)
                elif isinstance(got, dict):
                    row[mode] = got
            _save(f"quality-{peer}.json", {"peer": peer, "documents": len(data.corpus),
                                           "queries": len(qids), **stamp(), **row})  # fmt: skip


def _cache_dir() -> Path:
    (ROOT / CACHE).mkdir(parents=True, exist_ok=True)
    return ROOT / CACHE


def _save(name: str, results: dict[str, Any]) -> None:
    path = _cache_dir() / name
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=1))
    tmp.replace(path)


def cached() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every cached speed result (by size, then tool) and quality result, for the report."""
    folder = _cache_dir()
    order = {p: i for i, p in enumerate(PEERS)}

    def load(pattern: str) -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in folder.glob(pattern)]

    speeds = sorted(load("speed-*-*.json"), key=lambda r: (r["size"], order[r["peer"]]))
    return speeds, sorted(load("quality-*.json"), key=lambda r: order[r["peer"]])


def run(sizes: Sequence[int], peers: Sequence[str] = PEERS, data_root: Path | None = None,
        with_quality: bool = True) -> bool:  # fmt: skip
    """Measure, cache and report; False (after saying why) when WordNet is absent."""
    try:
        synsets = corpus.load_synsets()
    except FileNotFoundError as absent:
        print(f"skipping peers: {absent}", file=sys.stderr)
        return False
    for size in sizes:
        speed(size, peers, synsets)
    if with_quality:
        if data_root is None or not (data_root / SCIFACT).is_file():
            print(f"peers: SciFact skipped, {SCIFACT} not found (set EMBEDSPACE_DATA)",
                  file=sys.stderr)  # fmt: skip
        else:
            quality(peers, data_root)
    return True


def main(argv: list[str] | None = None) -> int:
    from embedspace.eval.datasets import data_root

    parser = argparse.ArgumentParser(prog="python -m benchmarks.peers.runner",
                                     description=__doc__.splitlines()[0])  # fmt: skip
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)),
                        help="comma-separated corpus sizes (default 10000,100000)")  # fmt: skip
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated tools")
    parser.add_argument("--no-quality", action="store_true", help="skip the SciFact run")
    parser.add_argument("--report-only", action="store_true",
                        help="write the section from cached results, measure nothing")  # fmt: skip
    args = parser.parse_args(argv)
    peers = [p for p in args.peers.split(",") if p]
    unknown = sorted(set(peers) - set(PEERS))
    if unknown:
        parser.error(f"unknown peers {unknown}; choose from {', '.join(PEERS)}")
    if not args.report_only:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s]
        if not run(sizes, peers, data_root(), with_quality=not args.no_quality):
            return 0
    from benchmarks.peers import report  # after measuring: a report bug loses no figures

    report.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
