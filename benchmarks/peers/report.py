"""The ``peers`` section of docs/benchmarks.md and docs/img/peers.png, from the kept
results (``runner.cached``): one table per size, the ratios ours / best peer, SciFact
quality, the reasons for every "n/a", and how and where it was measured."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.peers import runner

REPORT = Path("docs/benchmarks.md")
PLOT = Path("docs/img/peers.png")
MB = 1e6

#: (column, how to read it from a result, True when higher is better)
Metric = tuple[str, Callable[[dict[str, Any]], Any], bool]


def _latency(workload: str, stat: str) -> Callable[[dict[str, Any]], Any]:
    def read(result: dict[str, Any]) -> Any:
        got = result.get(workload)
        if not isinstance(got, dict):
            return None
        return {"na": got["na"]} if "na" in got else got[stat]

    return read


METRICS: tuple[Metric, ...] = (
    ("ingest docs/s", lambda r: r.get("docs_per_s"), True),
    ("dense p50 ms", _latency("dense", "p50_ms"), False),
    ("dense p99 ms", _latency("dense", "p99_ms"), False),
    ("hybrid p50 ms", _latency("hybrid", "p50_ms"), False),
    ("hybrid p99 ms", _latency("hybrid", "p99_ms"), False),
    ("filtered (1%) p50 ms", _latency("filtered", "p50_ms"), False),
    ("dense p50 ms, a write before each query", _latency("dense_after_write", "p50_ms"), False),
    ("write p50 ms", _latency("dense_after_write", "write_p50_ms"), False),
    ("peak RSS ingest MB", lambda r: r.get("rss_ingest_bytes", 0) / MB or None, False),
    ("peak RSS query MB", lambda r: r.get("rss_query_bytes", 0) / MB or None, False),
    ("disk MB", lambda r: r.get("disk_bytes", 0) / MB or None, False),
    ("reopen + first query s", lambda r: (r.get("reopen_s") or {}).get("median"), False),
)
#: the runs fed pre-computed vectors: no hybrid (the query is a vector), ingest counts
#: vectors, and recall@10 against the exact neighbours says what the speed bought
VECTOR_METRICS: tuple[Metric, ...] = (
    ("ingest vectors/s", lambda r: r.get("docs_per_s"), True),
    *(m for m in METRICS if m[0] in ("dense p50 ms", "dense p99 ms", "filtered (1%) p50 ms")),
    ("filtered (1%, a new value each query) p50 ms", _latency("filtered_each", "p50_ms"), False),
    *(m for m in METRICS if m[0].startswith(("dense p50 ms,", "write"))),
    ("dense recall@10", _latency("dense", "recall_at_k"), True),
    ("filtered recall@10", _latency("filtered", "recall_at_k"), True),
    *(m for m in METRICS if m[0].startswith(("peak", "disk", "reopen"))),
)


def metrics_for(fed: str) -> tuple[Metric, ...]:
    return VECTOR_METRICS if fed == "vectors" else METRICS


def _fed(result: dict[str, Any]) -> str:
    return str(result.get("fed", "texts"))


def cpu_kinds(results: list[dict[str, Any]]) -> dict[str, str]:
    """A letter per CPU the kept results were measured on (``runner.stamp``), in order of
    first measurement: sessions run on different CPUs, and a ratio between rows of two
    kinds is a rough one, so the tables name each row's kind when there is more than one."""
    ordered = sorted(results, key=lambda r: r.get("measured", ""))
    cpus = list(dict.fromkeys(str(r.get("host_cpu", "unknown")) for r in ordered))
    return {cpu: chr(ord("A") + i) for i, cpu in enumerate(cpus)}


def _number(value: float) -> str:
    if 0 < value < 1:
        return f"{value:.3f}"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _cell(result: dict[str, Any], metric: Metric, reasons: list[str]) -> str:
    value = metric[1](result)
    if isinstance(value, dict):
        if value["na"] not in reasons:
            reasons.append(value["na"])
        return f"n/a [{reasons.index(value['na']) + 1}]"
    if value is None:
        return "n/a"
    text = _number(value)
    if metric[0] in ("dense p50 ms", "hybrid p50 ms", "filtered (1%) p50 ms"):
        name = metric[0].split(" p50")[0].split(" (")[0]
        got = result[{"filtered": "filtered"}.get(name, name)]
        text += f" ({_number(got['p50_min'])}–{_number(got['p50_max'])})"
    return text


#: what each tool is when fed pre-computed vectors (no model is loaded; the adapters'
#: docstrings say why each index)
VECTOR_SETUPS = {
    "embedspace": "Space(model=None), default index (HNSW above 50k)",
    "lancedb": "table + IVF_HNSW_SQ index from 200k rows, flat below",
    "qdrant": "local mode, brute force",
    "chroma": "PersistentClient, its HNSW",
    "txtai": "external vectors, content=True, its Faiss default (IVF above 5k)",
}


def _short(result: dict[str, Any], peer: str) -> str:
    label = str(result.get("label", peer))
    if _fed(result) == "vectors" and peer in VECTOR_SETUPS and "label" in result:
        return f"{label.split(' (')[0]} ({VECTOR_SETUPS[peer]})"
    return label


#: the size tables' two halves: the speed columns, then the resource columns
SPLIT = {"texts": 8, "vectors": 9}


def size_table(fed: str, size: int, rows: list[dict[str, Any]], reasons: list[str],
               kinds: dict[str, str]) -> list[str]:  # fmt: skip
    """Two tables for one size (speed, then memory / disk / reopen), a row per tool; a
    tool with no result at this size says so instead of leaving a gap."""
    measured = {r["peer"] for r in rows}
    flag = "--vectors" if fed == "vectors" else "--sizes"
    missing = f"not measured at {size:,} yet (`python -m benchmarks.peers.runner {flag} {size} --peers TOOL`)"
    rows = rows + [{"peer": p, "na": missing} for p in runner.PEERS if p not in measured]
    title = (f"{size:,} WordNet glosses, from texts" if fed == "texts" else
             f"{size:,} texts (WordNet, GCIDE, word list), pre-computed vectors")  # fmt: skip
    lines = [f"#### {title}", ""]
    metrics, split = metrics_for(fed), SPLIT[fed]
    for part, last in ((metrics[:split], False), (metrics[split:], True)):
        extra = [("finished (UTC), load" + (", CPU" if len(kinds) > 1 else ""))] if last else []
        lines += ["| tool | " + " | ".join([m[0] for m in part] + extra) + " |",
                  "|---|" + "---|" * (len(part) + len(extra))]  # fmt: skip
        for row in rows:
            if "na" in row or "error" in row:
                reason = row.get("na") or f"failed: {row['error']}"
                if reason not in reasons:
                    reasons.append(reason)
                cells = [f"n/a [{reasons.index(reason) + 1}]"] * len(part)
            else:
                cells = [_cell(row, m, reasons) for m in part]
            if last:
                cells.append(_when(row, kinds))
            lines.append(f"| {_short(row, row['peer'])} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def _when(row: dict[str, Any], kinds: dict[str, str]) -> str:
    """When a row finished, the load then, and (when results span CPUs) its CPU's letter."""
    if "measured" not in row:
        return ""
    cpu = f", {kinds[str(row.get('host_cpu', 'unknown'))]}" if len(kinds) > 1 else ""
    return f"{row['measured'][11:16]}, {row['load_1min']:.1f}{cpu}"


def ratio_rows(fed: str, size: int, rows: list[dict[str, Any]],
               kinds: dict[str, str]) -> list[str]:  # fmt: skip
    """ours / best peer per workload, with the direction that counts as ahead; a ratio
    across two CPU kinds is marked, since it measures the CPUs as well as the tools."""
    ours = next((r for r in rows if r["peer"] == "embedspace" and "docs_per_s" in r), None)
    lines: list[str] = []
    if ours is None:
        return lines
    for name, read, higher in metrics_for(fed):
        mine = read(ours)
        recall = _recall_of(name)
        peers, left_out = [], []
        for row in rows:
            value = read(row)
            if row["peer"] == "embedspace" or not isinstance(value, int | float):
                continue
            if recall and _recall(row, recall) < _recall(ours, recall) - RECALL_SLACK:
                left_out.append(f"{row['peer']} {_number(value)} at recall "
                                f"{_recall(row, recall):.3f}")  # fmt: skip
            else:
                peers.append((value, row["peer"]))
        if not isinstance(mine, int | float) or not peers:
            continue
        best, who = max(peers) if higher else min(peers)
        ratio = mine / best
        ahead = ratio > 1 if higher else ratio < 1
        verdict = "equal" if round(ratio, 2) == 1 else "yes" if ahead else "**no**"
        theirs = next(r for r in rows if r["peer"] == who)
        mixed = ours.get("host_cpu") != theirs.get("host_cpu")
        cpu = [kinds.get(str(r.get("host_cpu", "unknown")), "?") for r in (ours, theirs)]
        across = f" (CPU {cpu[0]} vs {cpu[1]})" if mixed else ""
        besides = f"; left out, lower recall: {', '.join(left_out)}" if left_out else ""
        lines.append(f"| {size:,} {fed} | {name} | {_number(mine)} | {_number(best)} ({who}"
                     f"{besides}) | {ratio:.2f}{across} | {verdict} |")  # fmt: skip
    return lines


#: A latency is compared with peers whose recall@10 is at most this much below ours: the
#: issue's target is "ahead at equal or better quality", and a filter applied after the
#: ANN search (txtai's) is fast because it returns a tenth of the matches.
RECALL_SLACK = 0.02


def _recall_of(metric: str) -> str | None:
    """Which recall a latency column is bought with (None: no recall measured for it)."""
    if metric.startswith("filtered ("):
        return "filtered"  # a new value each query runs the same filtered search
    if metric.startswith("dense p"):
        return "dense"
    return None


def _recall(result: dict[str, Any], mode: str) -> float:
    got = result.get(mode)
    return float(got.get("recall_at_k", 1.0)) if isinstance(got, dict) else 1.0


def quality_table(qualities: list[dict[str, Any]], reasons: list[str],
                  kinds: dict[str, str]) -> list[str]:  # fmt: skip
    if not qualities:
        return ["SciFact: not measured yet (the datasets folder has no retrieval/scifact, or "
                "the run has not reached it)."]  # fmt: skip
    first = qualities[0]
    lines = [f"#### Quality: SciFact nDCG@10 through each tool's own search "
             f"({first['documents']:,} abstracts, {first['queries']} claims)", "",
             "| tool | dense | hybrid | SciFact ingest s | finished (UTC), load"
             + (", CPU" if len(kinds) > 1 else "") + " |", "|---|---|---|---|---|"]  # fmt: skip
    for row in qualities:
        cells = []
        for mode in ("dense", "hybrid"):
            value = row.get(mode)
            if isinstance(value, float):
                cells.append(f"{value:.3f}")
            else:
                reason = (value or {}).get("na") or row.get("na") or f"failed: {row.get('error')}"
                if reason not in reasons:
                    reasons.append(reason)
                cells.append(f"n/a [{reasons.index(reason) + 1}]")
        ingest = row.get("ingest_s")
        cells.append(_number(ingest) if ingest else "n/a")
        cells.append(_when(row, kinds))
        lines.append(f"| {_short(row, row['peer'])} | " + " | ".join(cells) + " |")
    return lines


def markdown(speeds: list[dict[str, Any]], qualities: list[dict[str, Any]]) -> str:
    reasons: list[str] = []
    groups = sorted({(_fed(r), r["size"]) for r in speeds})
    stamps = sorted({r["measured"] for r in speeds + qualities if "measured" in r})
    loads = [r["load_1min"] for r in speeds + qualities if "load_1min" in r]
    kinds = cpu_kinds([r for r in speeds + qualities if "measured" in r])
    lines = [
        "### Whole tools side by side: Chroma, LanceDB, Qdrant local + fastembed, txtai",
        "",
        f"{_machines(kinds)} Every tool runs in "
        "its own venv (`make peers`) as a separate process with 2 threads "
        "(`OMP_NUM_THREADS=2`, ONNX Runtime / torch / Rayon capped at 2, "
        "`TOKENIZERS_PARALLELISM=false`), the same all-MiniLM-L6-v2 from local files "
        "(`HF_HUB_OFFLINE=1`, nothing downloaded) and its embedded/local mode. Measured "
        f"{stamps[0] if stamps else '?'} to {stamps[-1] if stamps else '?'} on a 2-core "
        "machine, the speed runs one tool at a time (each row gives when it finished and "
        f"the 1-minute load average then: {min(loads, default=0):.1f}–"
        f"{max(loads, default=0):.1f} over all rows; a load near 2 is the tool's own two "
        "threads). Absolute times are this machine's; the ratios are the figures to compare. "
        "SciFact's nDCG does not depend on the load (its ingest seconds do).",
        "",
    ]

    def rows_of(fed: str, size: int) -> list[dict[str, Any]]:
        return [r for r in speeds if _fed(r) == fed and r["size"] == size]

    for fed, size in groups:
        lines += size_table(fed, size, rows_of(fed, size), reasons, kinds) + [""]
    ratios = [line for fed, size in groups
              for line in ratio_rows(fed, size, rows_of(fed, size), kinds)]  # fmt: skip
    if ratios:
        lines += ["#### embedspace / best peer (below 1 is ahead, except docs/s)", "",
                  "At equal quality: a latency fed pre-computed vectors is compared with "
                  f"the peers whose recall@10 is at most {RECALL_SLACK} below embedspace's "
                  "in that mode; the faster ones with lower recall are named beside the best.",
                  "",
                  "| items | workload | embedspace | best peer | ours / best | ahead |",
                  "|---|---|---|---|---|---|", *ratios, ""]  # fmt: skip
    lines += quality_table(qualities, reasons, kinds) + [""]
    if reasons:
        lines += ["n/a reasons:", ""]
        lines += [f"{i}. {reason}" for i, reason in enumerate(reasons, 1)] + [""]
    lines += [NOTES.format(runs=runner.RUNS, per_run=runner.PER_RUN, warmup=runner.WARMUP)]
    if speeds:
        lines += ["", "![peers](img/peers.png)"]
    return "\n".join(lines)


def _machines(kinds: dict[str, str]) -> str:
    """The machine line: one CPU, or each CPU kind's letter when results span sessions."""
    cores = f"{os.cpu_count()} cores"
    if len(kinds) <= 1:
        return f"Machine: {cores}; {next(iter(kinds), 'unknown CPU')}."
    named = "; ".join(f"**{letter}** = {cpu}" for cpu, letter in kinds.items())
    return (f"Machines: {cores} each, CPUs {named}. The CPU changes between sessions; every "
            "row names its CPU, and a ratio between rows of two CPUs is marked (it measures "
            "the CPUs as well as the tools).")  # fmt: skip


NOTES = """How it is measured (`benchmarks/peers/`): documents are WordNet 3.0 synsets from
Debian's `wordnet-base` (`make wordnet`), "words: gloss", ~97 characters; queries are the
words of held-out synsets (never in the corpus). Every document has `bucket = row % 100`;
the filtered search asks `bucket == 7` (1% of the items). Latency: {runs} runs of
{per_run} distinct single queries (k = 10) after {warmup} warm-up queries that are not
timed; each cell is the median over runs of the per-run p50 (min–max across runs in
brackets) or p99 (with {per_run} queries a run's p99 is its slowest query). Query latency
includes encoding the query text. "A write before each query": one upsert (untimed, its
median beside it) before each timed dense query. Ingest = from texts to searchable and
persisted (txtai's explicit `save` included; LanceDB's FTS and scalar index builds
included). Peak RSS is the worker's high-water mark (VmHWM; reset after ingest, so the
query peak is the query phase's own); it includes the worker's own ~20 MB and the corpus
it was handed. Disk = bytes under the collection's folder after a clean close. Reopen =
open the persisted collection and answer one query (model load included). embedspace's
query cache is off for these runs (`EMBEDSPACE_QUERY_CACHE_MB=0`), so every query is
encoded. SciFact: each tool ingests the 5,183 abstracts its own way (the fp32 tools
truncate at 256 tokens; embedspace chunks long texts) and answers the 300 test claims;
nDCG@10 is computed by `embedspace.eval.metrics` from the ids it returned. Re-run:
`make peers wordnet` then `.venv/bin/python -m benchmarks.run --only peers`
(`python -m benchmarks.peers.runner --sizes 10000,100000`; `--report-only` rewrites
this section from the results kept in `benchmarks/peers/results`)."""


def plot(speeds: list[dict[str, Any]], path: Path = PLOT) -> None:
    """Dense p50 latency, peak query RSS and ingest rate vs size, one colour per tool:
    solid from texts (query encoding included), dashed fed pre-computed vectors."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (("dense p50 ms", "dense query p50 (ms)"), ("peak RSS query MB", "peak RSS, queries (MB)"),
              ("ingest", "ingest (texts or vectors / s)"))  # fmt: skip
    fig, axes = plt.subplots(1, len(panels), figsize=(13, 4.2))
    colours = dict(zip(runner.PEERS, plt.rcParams["axes.prop_cycle"].by_key()["color"],
                       strict=False))  # fmt: skip
    for peer in runner.PEERS:
        for fed, style in (("texts", "-"), ("vectors", "--")):
            rows = [r for r in speeds if r["peer"] == peer and _fed(r) == fed and "docs_per_s" in r]
            metrics = {m[0].split(" docs")[0].split(" vectors")[0]: m for m in metrics_for(fed)}
            for axis, (name, _) in zip(axes, panels, strict=True):
                points = [(r["size"], metrics[name][1](r)) for r in rows]
                points = [(n, v) for n, v in points if isinstance(v, int | float)]
                if points:
                    axis.plot(*zip(*sorted(points), strict=True), style, marker="o",
                              color=colours[peer], label=f"{peer} ({fed})")  # fmt: skip
    for axis, (_, label) in zip(axes, panels, strict=True):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("items")
        axis.set_ylabel(label)
        axis.grid(True, which="both", alpha=0.3)
    axes[-1].legend(fontsize=7, loc="best")
    fig.suptitle("Whole tools, same model, 2 threads, k=10: solid = from texts (WordNet), "
                 "dashed = the same pre-computed vectors fed to each", fontsize=10)  # fmt: skip
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(report: Path = REPORT, plot_path: Path = PLOT) -> str:
    """Rewrite the ``peers`` section (and the plot) from every kept result."""
    from embedspace.eval.report import update_section

    speeds, qualities = runner.cached()
    body = markdown(speeds, qualities)
    if speeds:
        plot(speeds, plot_path)
    update_section(report, "peers", body)
    return body
