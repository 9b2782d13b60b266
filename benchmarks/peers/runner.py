"""Runs every peer's workloads, each tool in its own venv, and keeps the results.

``python -m benchmarks.peers.runner --sizes 10000,100000 --vectors 100000,1000000`` (also
``python -m benchmarks.run --only peers``). One worker process per (tool, size) runs the speed workloads, and one per
tool the SciFact quality run; each result is kept as JSON in ``benchmarks/peers/results``
(committed, so a later session's run of another size or tool is reported beside them; each
result records when and on what it was measured). nDCG is computed here, with the project's metrics, from the ids each tool
returned through its own search.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.peers import corpus
from benchmarks.peers.protocol import thread_env
from benchmarks.throughput import PEER_PYTHON, ST_EXPORT

ROOT = Path(__file__).resolve().parents[2]
#: measured results, one JSON file per (workload, size, tool): committed with the code
RESULTS = ROOT / "benchmarks" / "peers" / "results"
#: scratch space for the tools' collections (large, never committed)
SCRATCH = ROOT / ".cache" / "bench" / "peers"
#: every tool, ours first
PEERS = ("embedspace", "lancedb", "qdrant", "chroma", "txtai")
THREADS = 2
#: the sizes measured from texts by default, and fed pre-computed vectors
DEFAULT_SIZES = (10_000, 100_000)
VECTOR_SIZES = (100_000, 1_000_000)
RUNS, PER_RUN, WARMUP, K = 5, 30, 5, 10
#: an equality filter on ``bucket`` keeps 1% of the items (corpus.BUCKETS = 100)
FILTER_FIELD, FILTER_VALUE = "bucket", 7
#: one worker may take this long (100k texts embedded by torch on two busy cores)
#: (``EMBEDSPACE_PEERS_TIMEOUT_MIN`` shortens it; a run stopped by it is reported as such)
TIMEOUT_S = float(os.environ.get("EMBEDSPACE_PEERS_TIMEOUT_MIN", "180")) * 60
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


def run_worker(peer: str, job: dict[str, Any], work: Path,
               timeout_s: float = TIMEOUT_S) -> dict[str, Any]:  # fmt: skip
    """Run one job in ``peer``'s venv and return its result (or {"error": ...}, also when
    it outlasts ``timeout_s``: the worker is killed)."""
    from embedspace.encoders.packaged import minilm_reference_dir

    fed_vectors = job["kind"] == "vectors"  # no model is loaded: no export needed
    job = {"folder": str(work / peer), **job, "peer": peer, "threads": THREADS,
           "st_folder": "" if fed_vectors else str(minilm_reference_dir()),
           "onnx_folder": "" if fed_vectors else str(onnx_export()),
           "out": str(work / f"{peer}.json")}  # fmt: skip
    job_file = work / f"{peer}.job.json"
    job_file.write_text(json.dumps(job))
    paths = [str(ROOT / "src"), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, **thread_env(THREADS), "PYTHONPATH": os.pathsep.join(paths)}
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [str(python_for(peer)), "-m", "benchmarks.peers.worker", str(job_file)],
            cwd=ROOT, env=env, timeout=timeout_s, capture_output=True, text=True,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        print(f"  {peer} stopped after {timeout_s / 60:.0f} min", file=sys.stderr, flush=True)
        return {"error": f"did not finish within {timeout_s / 60:.0f} min (stopped)"}
    if done.returncode != 0:
        log = _scratch_dir() / f"{peer}-{job['kind']}-failed.log"
        log.write_text(done.stderr)
        print(f"  {peer} failed (exit {done.returncode}); its stderr is in {log}",
              file=sys.stderr, flush=True)  # fmt: skip
        return {"error": failure(done.stderr, done.returncode)}
    result: dict[str, Any] = json.loads(Path(job["out"]).read_text())
    result["wall_s"] = time.perf_counter() - started
    return result


def failure(stderr: str, returncode: int) -> str:
    """The exception line of a failed worker's stderr (not the warnings printed after it
    or beside it), else its exit status (a negative one is the signal that killed it)."""
    lines = [line.strip() for line in stderr.splitlines()]
    errors = [line for line in lines if re.match(r"^[\w.]+(Error|Exception|Exit)\b", line)]
    if errors:
        return errors[-1]
    if returncode < 0:
        return f"killed by signal {-returncode}"
    return f"exit {returncode}"


def stamp() -> dict[str, Any]:
    """When and on what a result was measured. The CPU's model and instruction sets go
    with every result because sessions (and users) run on different CPUs: the report
    compares only rows it can tell apart, and says when a table mixes CPU kinds."""
    from benchmarks.bench import cpu_name
    from embedspace.encoders.cpu import describe

    return {"measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "host_cpu": f"{cpu_name()}; {describe()}",
            "load_1min": os.getloadavg()[0]}  # fmt: skip


def speed(size: int, peers: Sequence[str], synsets: list[corpus.Synset]) -> None:
    """Every peer's speed workloads at one size, each kept as ``speed-<size>-<peer>.json``."""
    data = corpus.workload(synsets, size, WARMUP + RUNS * PER_RUN)
    with tempfile.TemporaryDirectory(dir=_scratch_dir()) as tmp:
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
            result.pop("ranked", None)  # no exact neighbours to score them against here
            _save(f"speed-{size}-{peer}.json", {"size": size, "peer": peer, **stamp(), **result})


def vector_speed(size: int, peers: Sequence[str], synsets: list[corpus.Synset]) -> None:
    """Every peer fed the same pre-computed vectors at one size (``vectors.py``), each kept
    as ``vectors-<size>-<peer>.json`` with recall@k against the exact neighbours."""
    from benchmarks.peers import vectors

    queries = WARMUP + RUNS * PER_RUN
    big = corpus.large_corpus(synsets, queries)
    if size > len(big.texts):
        raise ValueError(f"{size:,} > the {len(big.texts):,} texts of the large corpus")
    files = vectors.prepared(big, _scratch_dir())
    ids = big.ids
    timed = slice(WARMUP, queries)
    truth = {"dense": vectors.exact_top_k(files, size, K)[timed],
             "filtered": vectors.exact_top_k(files, size, K, rows=np.arange(
                 FILTER_VALUE, size, corpus.BUCKETS))[timed]}  # fmt: skip
    with tempfile.TemporaryDirectory(dir=_scratch_dir()) as tmp:
        work = Path(tmp)
        job = {"kind": "vectors", "data": str(files.data), "doc_vectors": str(files.docs),
               "query_vectors": str(files.queries), "write_vectors": str(files.writes),
               "items": size, "dim": vectors.DIM, "batch": 10_000, "buckets": corpus.BUCKETS,
               "k": K, "runs": RUNS, "queries_per_run": PER_RUN, "warmup": WARMUP,
               "filter_field": FILTER_FIELD, "filter_value": FILTER_VALUE}  # fmt: skip
        for peer in peers:
            print(f"peers: {peer} fed {size:,} pre-computed vectors", file=sys.stderr, flush=True)
            reason = missing(peer)
            result: dict[str, Any] = {"na": reason} if reason else run_worker(peer, job, work)
            ranked: dict[str, list[list[str]]] = result.pop("ranked", None) or {}
            for mode, rows in ranked.items():
                expected = [[ids[r] for r in row] for row in truth[mode]]
                result[mode]["recall_at_k"] = vectors.recall_at_k(rows, expected)
            _save(f"vectors-{size}-{peer}.json", {"size": size, "peer": peer, "fed": "vectors",
                                                  **stamp(), **result})  # fmt: skip


def quality(peers: Sequence[str], root: Path) -> None:
    """SciFact nDCG@10 through each tool's own dense and hybrid search, each kept as
    ``quality-<peer>.json``."""
    from embedspace.eval.datasets import load_retrieval_set
    from embedspace.eval.metrics import mean, ndcg_at_k

    data = load_retrieval_set(root / SCIFACT)
    qids = [q for q in data.queries if data.qrels.get(q)]
    with tempfile.TemporaryDirectory(dir=_scratch_dir()) as tmp:
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


def _scratch_dir() -> Path:
    SCRATCH.mkdir(parents=True, exist_ok=True)
    return SCRATCH


def _save(name: str, results: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=1))
    tmp.replace(path)


def cached() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every kept speed result (from texts, then from pre-computed vectors; by size, then
    tool) and quality result, for the report."""
    folder = RESULTS
    order = {p: i for i, p in enumerate(PEERS)}

    def load(pattern: str) -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in sorted(folder.glob(pattern))]

    speeds = sorted(load("speed-*-*.json") + load("vectors-*-*.json"),
                    key=lambda r: (r.get("fed", "texts"), r["size"], order[r["peer"]]))  # fmt: skip
    return speeds, sorted(load("quality-*.json"), key=lambda r: order[r["peer"]])


def run(sizes: Sequence[int], peers: Sequence[str] = PEERS, data_root: Path | None = None,
        with_quality: bool = True, vector_sizes: Sequence[int] = ()) -> bool:  # fmt: skip
    """Measure, keep and report; False (after saying why) when WordNet (or, for the
    vector runs, GCIDE and the word list) is absent."""
    try:
        synsets = corpus.load_synsets()
    except FileNotFoundError as absent:
        print(f"skipping peers: {absent}", file=sys.stderr)
        return False
    for size in sizes:
        speed(size, peers, synsets)
    for size in vector_sizes:
        try:
            vector_speed(size, peers, synsets)
        except FileNotFoundError as absent:
            print(f"skipping the vector runs: {absent}", file=sys.stderr)
            break
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
    parser.add_argument("--vectors", default="",
                        help="comma-separated sizes fed pre-computed vectors, e.g. "
                             "100000,1000000 (needs `make peers-corpus`)")  # fmt: skip
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated tools")
    parser.add_argument("--no-quality", action="store_true", help="skip the SciFact run")
    parser.add_argument("--report-only", action="store_true",
                        help="write the section from the kept results, measure nothing")  # fmt: skip
    args = parser.parse_args(argv)
    peers = [p for p in args.peers.split(",") if p]
    unknown = sorted(set(peers) - set(PEERS))
    if unknown:
        parser.error(f"unknown peers {unknown}; choose from {', '.join(PEERS)}")
    if not args.report_only:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s]
        vector_sizes = [int(s.replace("_", "")) for s in args.vectors.split(",") if s]
        if not run(sizes, peers, data_root(), with_quality=not args.no_quality,
                   vector_sizes=vector_sizes):  # fmt: skip
            return 0
    from benchmarks.peers import report  # after measuring: a report bug loses no figures

    try:
        report.write()
    except ModuleNotFoundError as exc:  # the plot needs the bench extra; results are kept
        print(f"peers: results kept in {RESULTS}, but the report needs {exc.name}: "
              "pip install -e '.[bench]', then run again with --report-only",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
