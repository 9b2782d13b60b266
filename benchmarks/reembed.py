"""Re-embedding a space online, measured beside what it replaces.

Two questions, each answered side by side in one run (the machine may be shared, so only
the ratios travel):

1. What does ``reembed`` cost against building a new space with the new model by hand
   (today's alternative: a second space, every item added again)? Same items, same
   model, same batch size; each configuration timed in rounds, best round kept (noise
   only slows a run down).
2. What does a re-embed running in another process do to search latency? Dense searches
   on the space's current (old) model, idle and then while a child process re-embeds
   it, p50 and p95 of the same queries.

Run: ``python -m benchmarks.reembed [N]`` (default 2,000 items of the packaged demo
corpus). The corpus ships inside the package, so nothing is read from shared/.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import embedspace as es
from embedspace.encoders.cpu import describe
from embedspace.ingest.demo_corpus import demo_corpus

OLD, NEW = "glove", "default"
QUERIES = [
    "a haunted house",
    "a heist that goes wrong",
    "two friends on a road trip",
    "a war veteran comes home",
    "a funny family film",
    "a slow and boring plot",
]


def _old_space(folder: Path, texts: list[str], ids: list[str]) -> Path:
    path = folder / f"old-{time.monotonic_ns()}.space"
    with es.Space(path, model=OLD, progress=False) as space:
        space.add(texts, ids=ids)
    return path


def costs(texts: list[str], ids: list[str], rounds: int = 2) -> dict[str, float]:
    """Best-of-rounds seconds: reembed OLD -> NEW, and a new NEW space built by hand."""
    best = {"reembed": float("inf"), "new space by hand": float("inf")}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for _ in range(rounds):
            path = _old_space(folder, texts, ids)
            with es.Space(path, create=False, progress=False) as space:
                started = time.perf_counter()
                space.reembed(NEW)
                best["reembed"] = min(best["reembed"], time.perf_counter() - started)
            started = time.perf_counter()
            with es.Space(
                folder / f"new-{time.monotonic_ns()}.space", model=NEW, progress=False
            ) as fresh:
                fresh.add(texts, ids=ids)
            best["new space by hand"] = min(
                best["new space by hand"], time.perf_counter() - started
            )
    return best


def _latencies(space: es.Space, repeats: int) -> list[float]:
    took = []
    for _ in range(repeats):
        for query in QUERIES:
            started = time.perf_counter()
            space.search(query, k=10)
            took.append((time.perf_counter() - started) * 1000)
    return took


def latency_during(texts: list[str], ids: list[str], repeats: int = 20) -> dict[str, list[float]]:
    """Search latency (ms) idle, then while another process re-embeds the same space."""
    with tempfile.TemporaryDirectory() as tmp:
        path = _old_space(Path(tmp), texts, ids)
        with es.Space(path, create=False, progress=False) as space:
            _latencies(space, 2)  # warm: view loaded, model loaded
            idle = _latencies(space, repeats)
            child = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "import sys, embedspace as es; "
                    "es.Space(sys.argv[1], create=False, progress=False).reembed(sys.argv[2])",
                    str(path),
                    NEW,
                ]
            )
            busy: list[float] = []
            while child.poll() is None and (space.info()["reembed"] or {}).get("done", 0) < len(
                texts
            ):
                busy += _latencies(space, 1)
            child.wait()
            if child.returncode != 0:
                raise RuntimeError("the re-embedding process failed")
    return {"idle": idle, "during a re-embed": busy}


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main(n: int = 2000) -> None:
    docs = demo_corpus(n)
    texts, ids = [d.text for d in docs], [d.id for d in docs]
    print(f"# re-embed {OLD} -> {NEW}, {len(texts)} demo items; {describe()}")
    print("# (shared 2-core machine: compare ratios within this run, not across runs)")
    cost = costs(texts, ids)
    ratio = cost["reembed"] / cost["new space by hand"]
    for name, seconds in cost.items():
        print(f"{name:>20}: {seconds:6.2f} s  ({len(texts) / seconds:6.0f} items/s)")
    print(f"{'reembed / by hand':>20}: {ratio:.2f}")
    taken = latency_during(texts, ids)
    for name, ms in taken.items():
        print(
            f"{'search ' + name:>28}: p50 {_pct(ms, 50):6.2f} ms  p95 {_pct(ms, 95):6.2f} ms"
            f"  ({len(ms)} searches)"
        )
    p50 = _pct(taken["during a re-embed"], 50) / _pct(taken["idle"], 50)
    print(f"{'p50 during / idle':>28}: {p50:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
