"""Choosing the re-ranker's shipped settings on the suite, and judging them on other queries.

A weight tuned on the same queries it is reported on flatters itself, and one tuned on a
single collection (the first re-ranker's SciFact claims) does not carry to others. Here
each suite task's queries are split by position: even positions are the *dev* half, on
which the depth and mixing weight are chosen; odd positions are the *held-out* half,
which only reports the choice. The rule that picks (depth, weight) is written down in
:func:`choose`: the best dev mean over tasks among settings that lower no task on dev.

One hybrid search of :data:`MAX_DEPTH` hits per query serves every depth (its prefixes,
which is what ``search(..., rerank_depth=d)`` re-scores), every weight and every
confidence gate (the mix applies only to queries whose best cross-encoder score reaches
it); the cross-encoder sits behind a memo, so each (query, passage) pair is scored once.
The product's own :func:`~embedspace.search.rerank.rerank_hits` does the mixing.

Also measured: the window (``max_length``) on the tasks with long documents, and the
batch shape, as milliseconds per query at the shipped depth.

    python -m benchmarks.rerank_study --data ../shared/datasets --write docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.suite_spaces import open_task_space
from benchmarks.suite_tasks import SuiteTask, suite_tasks
from embedspace.atomic import write_bytes_atomic
from embedspace.encoders.cpu import describe
from embedspace.encoders.reranker import (
    DEFAULT_RERANKER_DIR,
    CrossEncoder,
    OnnxCrossEncoder,
    load_folder,
)
from embedspace.encoders.reranker import reranker as load_reranker
from embedspace.errors import NotSupportedError
from embedspace.eval.datasets import data_root
from embedspace.eval.metrics import mean, ndcg_at_k
from embedspace.eval.report import update_section
from embedspace.eval.rerank import MemoCrossEncoder
from embedspace.progress import progress_bar
from embedspace.search.rerank import rerank_hits
from embedspace.train.ship import write_reranker_manifest

if TYPE_CHECKING:
    from embedspace.space import Space

DEPTHS = (10, 20, 30)
MAX_DEPTH = max(DEPTHS)
WEIGHTS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0)
#: Confidence gates (0 = mix every query). The packaged model's best score per query sits
#: around 0.85 on paraphrase and claim tasks and below 0.75 on FAQ and topic tasks, and
#: it never passes ~0.94: gates beyond 0.9 would switch re-ranking off altogether.
GATES = (0.0, 0.8, 0.85, 0.88, 0.9)
#: Queries per task (half dev, half held-out); the cross-encoder's cost bounds it.
QUERIES_PER_TASK = 200
#: Windows compared on the long-document tasks (the packaged model was trained at 256).
WINDOWS = (192, 256, 320)
LONG_TASKS = ("scifact", "newsgroups-topics")
BATCH_SIZES = (8, 16, 32)
TIMING_QUERIES = 20


def _halves(qids: Sequence[str]) -> tuple[list[str], list[str]]:
    return list(qids[0::2]), list(qids[1::2])


def task_scores(
    space: Space, task: SuiteTask, qids: list[str], memo: MemoCrossEncoder, progress: bool
) -> dict[str, dict[str, float]]:
    """{query id: {"hybrid": nDCG@10, "d=<depth> w=<weight>[ g=<gate>]": nDCG@10, ...}}."""
    data, out = task.data, {}
    with progress_bar(len(qids), f"{data.name}: re-rank grid", progress) as bar:
        for qid in qids:
            query, qrels = data.queries[qid], data.qrels[qid]
            hits = space.search(query, k=MAX_DEPTH, mode="hybrid")
            row = {"hybrid": ndcg_at_k([h.id for h in hits[:10]], qrels, 10)}
            for depth, weight, gate in SETTINGS:
                top = rerank_hits(memo, query, hits[:depth], k=10, weight=weight, gate=gate)
                row[_key(depth, weight, gate)] = ndcg_at_k([h.id for h in top], qrels, 10)
            out[qid] = row
            bar.advance()
    return out


def _key(depth: int, weight: float, gate: float = 0.0) -> str:
    return f"d={depth} w={weight}" + (f" g={gate}" if gate else "")


#: Every (depth, weight, gate) the grid scores, cheapest first: ties in :func:`choose` go
#: to the earlier one.
SETTINGS = [(d, w, g) for d in DEPTHS for g in reversed(GATES) for w in WEIGHTS]


def summarise(per_query: dict[str, dict[str, float]], qids: list[str]) -> dict[str, float]:
    keys = next(iter(per_query.values())).keys()
    return {k: round(mean([per_query[q][k] for q in qids]), 4) for k in keys}


def choose(dev: dict[str, dict[str, float]]) -> dict[str, Any]:
    """The shipped rule: among (depth, weight, gate) settings that lower *no* task on its dev
    half, the one with the best dev mean over tasks (ties: the shallower, then lighter
    setting, which is cheaper and riskier to nothing). None when every setting lowers
    some task: then re-ranking has no safe default and the docs must say so.

    ``least_harm`` is always filled in: the setting whose worst task loses least on dev
    (ties: best dev mean, then cheaper). It is what a model with no safe setting can ship
    at most, and only on purpose (``--record --least-harm``), with the loss stated."""
    settings = [_key(*setting) for setting in SETTINGS]
    safe = [s for s in settings if all(t[s] >= t["hybrid"] for t in dev.values())]

    def dev_mean(s: str) -> float:
        return mean([t[s] for t in dev.values()])

    def worst(s: str) -> float:
        return min(t[s] - t["hybrid"] for t in dev.values())

    ranked = sorted(safe, key=lambda s: (-dev_mean(s), settings.index(s)))
    least_harm = min(settings, key=lambda s: (-round(worst(s), 4), -dev_mean(s), settings.index(s)))
    return {
        "safe_settings": len(safe),
        "chosen": ranked[0] if ranked else None,
        "least_harm": least_harm,
        "least_harm_dev_worst": round(worst(least_harm), 4),
        "dev_mean": {s: round(dev_mean(s), 4) for s in settings} | {"hybrid": dev_mean("hybrid")},
    }


def window_study(
    tasks: list[SuiteTask], spaces: dict[str, Any], folder: Path, depth: int, weight: float,
    gate: float, progress: bool,
) -> dict[str, dict[str, float]]:  # fmt: skip
    """nDCG@10 (all studied queries) of the chosen setting at each window on long tasks."""
    out: dict[str, dict[str, float]] = {}
    base = _onnx_reranker(load_folder(folder), folder)
    for window in WINDOWS:
        cross = OnnxCrossEncoder(
            Path(folder) / "model.onnx", Path(folder) / "tokenizer.json", name=base.name,
            max_length=window,
        )  # fmt: skip
        memo = MemoCrossEncoder(cross)
        for task in tasks:
            if task.data.name not in LONG_TASKS:
                continue
            data, space = task.data, spaces[task.data.name]
            qids = _study_queries(task)
            scores = []
            with progress_bar(len(qids), f"{data.name}: window {window}", progress) as bar:
                for qid in qids:
                    hits = space.search(data.queries[qid], k=depth, mode="hybrid")
                    query = data.queries[qid]
                    top = rerank_hits(memo, query, hits, k=10, weight=weight, gate=gate)
                    scores.append(ndcg_at_k([h.id for h in top], data.qrels[qid], 10))
                    bar.advance()
            out.setdefault(data.name, {})[str(window)] = round(mean(scores), 4)
            out[data.name][f"{window} ms/query"] = round(1000 * memo.seconds / max(len(qids), 1), 1)
    return out


def batch_study(task: SuiteTask, space: Space, folder: Path, depth: int) -> dict[str, float]:
    """ms per query to score ``depth`` hybrid hits, by batch size (one task's queries)."""
    data = task.data
    queries = [data.queries[q] for q in _study_queries(task)[:TIMING_QUERIES]]
    lists = [(q, [h.text for h in space.search(q, k=depth, mode="hybrid")]) for q in queries]
    base = _onnx_reranker(load_folder(folder), folder)
    out = {}
    for size in BATCH_SIZES:
        cross = OnnxCrossEncoder(
            Path(folder) / "model.onnx", Path(folder) / "tokenizer.json",
            max_length=base.max_length, batch_size=size,
        )  # fmt: skip
        cross.score(*lists[0])  # warm-up: session and allocator
        started = time.perf_counter()
        for query, texts in lists:
            cross.score(query, texts)
        out[str(size)] = round(1000 * (time.perf_counter() - started) / len(lists), 1)
    return out


def _onnx_reranker(cross: CrossEncoder, folder: str | Path) -> OnnxCrossEncoder:
    """``cross`` as the ONNX re-ranker the study rebuilds at other windows and batch sizes."""
    if not isinstance(cross, OnnxCrossEncoder):
        raise NotSupportedError(
            f"the re-ranking study rebuilds ONNX re-rankers; {folder} holds no model.onnx"
        )
    return cross


def _folder_of(reranker: str) -> Path:
    return DEFAULT_RERANKER_DIR if reranker == "default" else Path(reranker).expanduser()


def _parse(key: str) -> tuple[int, float, float]:
    depth, weight, *gate = key.split()
    return int(depth[2:]), float(weight[2:]), float(gate[0][2:]) if gate else 0.0


def _study_queries(task: SuiteTask) -> list[str]:
    return [q for q in task.data.queries if task.data.qrels.get(q)][:QUERIES_PER_TASK]


def run_study(
    root: Path | None, *, reranker: str = "default", model: str = "default",
    only: list[str] | None = None, progress: bool = True,
) -> dict[str, Any]:  # fmt: skip
    folder = _folder_of(reranker)
    cross = _onnx_reranker(load_reranker(reranker), folder)
    memo = MemoCrossEncoder(cross)
    tasks, skipped = suite_tasks(root)
    tasks = [t for t in tasks if not only or t.data.name in only]
    started = time.perf_counter()
    dev, held, spaces = {}, {}, {}
    for task in tasks:
        space, _ = open_task_space(task, model, None, progress)
        spaces[task.data.name] = space
        qids = _study_queries(task)
        per_query = task_scores(space, task, qids, memo, progress)
        dev_ids, held_ids = _halves(qids)
        dev[task.data.name] = summarise(per_query, dev_ids)
        held[task.data.name] = summarise(per_query, held_ids) | {"queries": len(held_ids)}
    choice = choose(dev)
    depth, weight, gate = _parse(choice["chosen"] or choice["least_harm"])
    try:
        windows = window_study(tasks, spaces, folder, depth, weight, gate, progress)
        timing_task = next((t for t in tasks if t.data.name == "scifact"), tasks[0])
        batches = batch_study(timing_task, spaces[timing_task.data.name], folder, depth)
    finally:
        for space in spaces.values():
            space.close()
    return {
        "reranker": cross.model_id,
        "max_length": cross.max_length,
        "dev": dev,
        "held_out": held,
        "choice": choice,
        "depth": depth,
        "weight": weight,
        "gate": gate,
        "windows": windows,
        "batches": {"task": timing_task.data.name, "depth": depth, "ms_per_query": batches},
        "pairs_scored": memo.scored,
        "ms_per_pair": round(1000 * memo.seconds / max(memo.scored, 1), 2),
        "seconds": round(time.perf_counter() - started),
        "skipped": skipped,
        "cpu": describe(),
    }


def study_markdown(results: dict[str, Any]) -> str:
    """The choice, then every task's held-out nDCG@10 at the chosen and nearby settings."""
    depth, weight, choice = results["depth"], results["weight"], results["choice"]
    gate = results["gate"]
    # the chosen gate's weights, then the same weight without the gate (what it buys)
    shown = [_key(depth, w, gate) for w in WEIGHTS if w <= 0.3 or w == weight]
    shown += [_key(depth, weight)] if gate else []
    setting = f"depth {depth}, weight {weight}" + (f", gate {gate}" if gate else ", no gate")
    held = results["held_out"]
    if choice["chosen"]:
        verdict = (
            f"Chosen on the dev halves: {setting} "
            f"({choice['safe_settings']} of {len(SETTINGS)} settings lowered no "
            "task on dev; this one had the best dev mean)."
        )
    else:
        verdict = (
            "**No setting left every task's dev half at or above hybrid.** Shown: the "
            f"setting that harms least on dev ({setting}: its worst "
            f"task {choice['least_harm_dev_worst']:+.4f} on dev)."
        )
    lines = [
        f"### Re-ranker settings chosen on dev queries, judged on held-out ones: "
        f"`{results['reranker']}`",
        "",
        "Each task's first queries (up to "
        f"{QUERIES_PER_TASK}) split by position: even = dev (choose), odd = held-out "
        "(report). nDCG@10 on the held-out half; w = the cross-encoder's share of the score.",
        "",
        verdict,
        "",
        "| task | held-out queries | hybrid | " + " | ".join(shown) + " |",
        "|---|---:|---:|" + "---:|" * len(shown),
    ]
    for name, row in held.items():
        lines.append(
            f"| {name} | {row['queries']} | {row['hybrid']:.3f} | "
            + " | ".join(f"{row[k]:.3f}" for k in shown)
            + " |"
        )
    means = [mean([row[k] for row in held.values()]) for k in ["hybrid", *shown]]
    worst = [min(row[k] - row["hybrid"] for row in held.values()) for k in shown]
    lines.append("| **mean** | | " + " | ".join(f"{m:.3f}" for m in means) + " |")
    lines.append("| **worst change** | | +0.000 | " + " | ".join(f"{w:+.3f}" for w in worst) + " |")
    depth_cells = ", ".join(
        f"depth {d}: {mean([row[_key(d, weight, gate)] for row in held.values()]):.3f}"
        for d in DEPTHS
    )
    lines += ["", f"Held-out mean at {setting.split(', ', 1)[1]} by depth: {depth_cells}."]
    if results["windows"]:
        lines += ["", f"Window (max tokens of query + passage) at {setting}:", ""]
        lines += ["| task | " + " | ".join(f"{w} tokens" for w in WINDOWS) + " |"]
        lines += ["|---|" + "---:|" * len(WINDOWS)]
        for name, row in results["windows"].items():
            cells = [f"{row[str(w)]:.3f} ({row[f'{w} ms/query']:.0f} ms/q)" for w in WINDOWS]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    b = results["batches"]
    lines += [
        "",
        f"Batch size, ms per query to score {b['depth']} {b['task']} hits at the shipped "
        "window: " + ", ".join(f"{k} pairs: {v} ms" for k, v in b["ms_per_query"].items()) + ".",
        f"{results['pairs_scored']:,} distinct pairs scored, {results['ms_per_pair']} ms per "
        f"pair; run {results['seconds']} s. CPU: {results['cpu']}.",
        "Command: `python -m benchmarks.rerank_study --data ../shared/datasets "
        "--write docs/benchmarks.md`",
    ]
    return "\n".join(lines)


def record_choice(folder: Path, study: dict[str, Any], least_harm: bool = False) -> None:
    """Write the chosen weight into the model folder's config.json (``rerank_weight``, what
    ``search(..., rerank=True)`` mixes with), with the dev and held-out figures it was
    chosen and judged on. A study with no safe setting records nothing unless asked for
    its least-harm setting (``least_harm``): then ``safe`` is false in the record, and
    the docs must say which tasks it lowers."""
    choice = study["choice"]
    if not choice["chosen"] and not least_harm:
        raise SystemExit(
            f"no (depth, weight) lowers no task on dev for {study['reranker']}: "
            "nothing recorded; the model keeps its current rerank_weight "
            "(--least-harm records the setting that harms least, marked unsafe)"
        )
    path = Path(folder) / "config.json"
    config = json.loads(path.read_text())
    config["rerank_weight"] = study["weight"]
    config["rerank_gate"] = study["gate"]
    config["rerank_weight_tuning"] = {
        "rule": "best dev mean over the suite's tasks among settings lowering no task on dev"
        if choice["chosen"]
        else "none lowers no task on dev: the least worst-task loss on dev, then dev mean",
        "safe": bool(choice["chosen"]),
        "chosen": choice["chosen"] or choice["least_harm"],
        "safe_settings": choice["safe_settings"],
        "least_harm_dev_worst": choice["least_harm_dev_worst"],
        "dev_mean": choice["dev_mean"],
        "held_out": study["held_out"],
    }
    write_bytes_atomic(path, (json.dumps(config, indent=2) + "\n").encode())
    if (Path(folder) / "manifest.json").is_file():  # config.json's hash is in it
        write_reranker_manifest(Path(folder))


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rerank_study")
    parser.add_argument("--data", type=Path, default=None, help="shared datasets folder")
    parser.add_argument("--write", type=Path, default=None, help="update this markdown report")
    parser.add_argument("--reranker", default="default", help="'default' or a model folder")
    parser.add_argument("--only", nargs="*", default=None, help="task names")
    parser.add_argument("--json", type=Path, default=None, help="also save raw results here")
    parser.add_argument(
        "--record", action="store_true",
        help="write the chosen weight into the --reranker folder's config.json",
    )  # fmt: skip
    parser.add_argument(
        "--least-harm", action="store_true",
        help="with --record: when no setting is safe, record the least-harm one (marked unsafe)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.record and args.reranker == "default":
        parser.error("--record needs --reranker FOLDER (the folder whose config.json to update)")
    results = run_study(
        args.data or data_root(), reranker=args.reranker, only=args.only,
        progress=sys.stderr.isatty(),
    )  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    body = study_markdown(results)
    if args.write:
        update_section(args.write, "suite-rerank-choice", body)
    print(body, flush=True)
    if args.record:
        record_choice(Path(args.reranker), results, least_harm=args.least_harm)
    return 0


if __name__ == "__main__":
    sys.exit(main())
