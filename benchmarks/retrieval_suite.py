"""The retrieval suite: every search mode on every task of ``eval/suite_tasks.py``.

Everything goes through ``Space.search``, the product path: dense, sparse, hybrid with
each fusion, and hybrid + re-rank at several mixing weights. The cross-encoder sits
behind a memo, so each (query, passage) pair is scored once however many weights are
compared. Re-ranking costs ~``depth`` cross-encoder passes per query, so it is measured
on the first :data:`RERANK_QUERIES` queries of each task (the hybrid figure beside it is
measured on the same queries).

    python -m benchmarks.retrieval_suite --data ../shared/datasets --write docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.suite_spaces import open_task_space
from benchmarks.suite_tasks import SuiteTask, suite_tasks
from embedspace.encoders.cpu import describe
from embedspace.encoders.reranker import reranker as load_reranker
from embedspace.eval.datasets import data_root
from embedspace.eval.metrics import mean, ndcg_at_k
from embedspace.eval.report import publish
from embedspace.eval.rerank import MemoCrossEncoder
from embedspace.progress import progress_bar
from embedspace.search.rerank import default_gate, default_weight

if TYPE_CHECKING:
    from embedspace.space import Space

#: (label, search kwargs): the first stages compared on every task.
CONFIGS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("dense", {"mode": "dense"}),
    ("sparse", {"mode": "sparse"}),
    ("hybrid convex", {"mode": "hybrid", "fusion": "convex"}),
    ("hybrid rrf", {"mode": "hybrid", "fusion": "rrf"}),
)
HYBRID = "hybrid convex"
#: Mixing weights of the cross-encoder compared on every task (None: the model's default).
RERANK_WEIGHTS = (0.1, 0.2, 0.3, 0.5, 1.0)
RERANK_QUERIES = 100
RERANK_DEPTH = 20


@dataclass
class Score:
    ndcg: float
    top1: float
    ms: float


def _measure(
    space: Space, task: SuiteTask, qids: list[str], label: str, progress: bool, **kw: Any
) -> Score:
    data, ndcg, top1 = task.data, [], []
    started = time.perf_counter()
    with progress_bar(len(qids), f"{data.name}: {label}", progress) as bar:
        for qid in qids:
            ranked = [h.id for h in space.search(data.queries[qid], k=10, **kw)]
            ndcg.append(ndcg_at_k(ranked, data.qrels[qid], 10))
            top1.append(float(bool(ranked) and data.qrels[qid].get(ranked[0], 0) > 0))
            bar.advance()
    ms = 1000 * (time.perf_counter() - started) / max(len(qids), 1)
    return Score(round(mean(ndcg), 4), round(mean(top1), 4), round(ms, 1))


def evaluate_task(
    task: SuiteTask,
    *,
    model: str,
    memo: MemoCrossEncoder | None,
    depth: int,
    cache_dir: Path | None,
    progress: bool,
) -> dict[str, Any]:
    """Every first stage on all the task's queries; hybrid and hybrid + re-rank (each
    weight) on its first ``RERANK_QUERIES``."""
    qids = list(task.data.queries)
    space, ingest_s = open_task_space(task, model, cache_dir, progress)
    with space:
        first = {
            label: asdict(_measure(space, task, qids, label, progress, **kw))
            for label, kw in CONFIGS
        }
        rerank: dict[str, Any] = {}
        if memo is not None:
            sub = qids[:RERANK_QUERIES]
            rerank["hybrid"] = asdict(_measure(space, task, sub, HYBRID, progress, mode="hybrid"))
            for w in RERANK_WEIGHTS:
                rerank[str(w)] = asdict(
                    _measure(
                        space,
                        task,
                        sub,
                        f"rerank w={w}",
                        progress,
                        mode="hybrid",
                        rerank=memo,
                        rerank_depth=depth,
                        rerank_weight=w,
                    )  # fmt: skip
                )
            rerank["queries"] = len(sub)
        chunks = space.info()["chunks"]
    return {
        "task": task.data.name,
        "kind": task.kind,
        "single_answer": task.single_answer,
        "documents": len(task.data.corpus),
        "chunks": chunks,
        "queries": len(qids),
        "ingest_seconds": round(ingest_s, 1),
        "first": first,
        "rerank": rerank,
    }


def run_suite(
    root: Path | None,
    *,
    model: str = "default",
    rerank: bool = True,
    depth: int = RERANK_DEPTH,
    only: list[str] | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    tasks, skipped = suite_tasks(root)
    tasks = [t for t in tasks if not only or t.data.name in only]
    cross = load_reranker("default") if rerank else None
    memo = MemoCrossEncoder(cross) if cross is not None else None
    started = time.perf_counter()
    results = [
        evaluate_task(
            t, model=model, memo=memo, depth=depth, cache_dir=cache_dir, progress=progress
        )
        for t in tasks
    ]
    return {
        "model": _model_id(model),
        "reranker": cross.model_id if cross else None,
        "reranker_default_weight": default_weight(cross) if cross else None,
        "reranker_default_gate": default_gate(cross) if cross else None,
        "depth": depth,
        "pairs_scored": memo.scored if memo else 0,
        "ms_per_pair": round(1000 * memo.seconds / max(memo.scored, 1), 2) if memo else None,
        "seconds": round(time.perf_counter() - started),
        "tasks": results,
        "skipped": skipped,
        "cpu": describe(),
    }


def _model_id(model: str) -> str:
    from embedspace.encoders.registry import load_encoder

    return load_encoder(model).model_id


def _cell(score: dict[str, float], single_answer: bool) -> str:
    return f"{score['ndcg']:.3f} / {score['top1']:.2f}" if single_answer else f"{score['ndcg']:.3f}"


def _margin(task: dict[str, Any]) -> float:
    """Hybrid minus the better of dense and sparse (nDCG@10; top-1 too on FAQ tasks)."""
    first = task["first"]
    keys = ("ndcg", "top1") if task["single_answer"] else ("ndcg",)
    return min(first[HYBRID][k] - max(first["dense"][k], first["sparse"][k]) for k in keys)


def first_stage_markdown(results: dict[str, Any]) -> str:
    labels = [label for label, _ in CONFIGS]
    lines = [
        f"### Retrieval suite: {len(results['tasks'])} tasks, model `{results['model']}`",
        "",
        "nDCG@10 (FAQ tasks: nDCG@10 / top-1 accuracy). `hybrid convex` is what "
        '`mode="hybrid"` does by default; `margin` = hybrid convex minus the better of '
        "dense and sparse (the lower of the "
        "two margins on FAQ tasks; the target is >= -0.02).",
        "",
        "| task | kind | docs | queries | " + " | ".join(labels) + " | margin |",
        "|---|---|---:|---:|" + "---:|" * len(labels) + "---:|",
    ]
    for t in results["tasks"]:
        cells = [_cell(t["first"][label], t["single_answer"]) for label in labels]
        lines.append(
            f"| {t['task']} | {t['kind']} | {t['documents']:,} | {t['queries']:,} | "
            + " | ".join(cells)
            + f" | {_margin(t):+.3f} |"
        )
    for name, pick in (("mean", mean), ("worst task", min)):
        cells = [
            f"{pick([t['first'][label]['ndcg'] for t in results['tasks']]):.3f}" for label in labels
        ]
        worst = min(_margin(t) for t in results["tasks"])
        lines.append(
            f"| **{name}** | | | | "
            + " | ".join(cells)
            + (f" | {worst:+.3f} |" if pick is min else " | |")
        )
    ms = {label: mean([t["first"][label]["ms"] for t in results["tasks"]]) for label in labels}
    lines += [
        "",
        "ms / query (mean over tasks, k = 10, one query at a time): "
        + ", ".join(f"{label} {v:.1f}" for label, v in ms.items())
        + f". Suite run: {results['seconds']} s. Skipped (data absent): "
        + (", ".join(results["skipped"]) or "none")
        + ".",
        f"CPU: {results['cpu']}.",
        "Command: `python -m benchmarks.retrieval_suite --data ../shared/datasets "
        "--write docs/benchmarks.md`",
    ]
    return "\n".join(lines)


def rerank_markdown(results: dict[str, Any]) -> str:
    tasks = [t for t in results["tasks"] if t["rerank"]]
    weights = [str(w) for w in RERANK_WEIGHTS]
    lines = [
        f"### Re-ranking on the suite: cross-encoder `{results['reranker']}`, top "
        f"{results['depth']} of hybrid re-scored",
        "",
        f"nDCG@10 on each task's first {RERANK_QUERIES} queries; w = share of the "
        "cross-encoder score, the rest is the hybrid score divided by the list's best. "
        "Each w mixes every query (an explicit weight has no confidence gate); the tuned "
        f"setting, w = {results['reranker_default_weight']} with gate "
        f'{results.get("reranker_default_gate")}, is judged in "Re-ranker settings chosen on '
        'dev queries".',
        "",
        "| task | hybrid | " + " | ".join(f"w={w}" for w in weights) + " |",
        "|---|---:|" + "---:|" * len(weights),
    ]
    for t in tasks:
        r = t["rerank"]
        lines.append(
            f"| {t['task']} | {r['hybrid']['ndcg']:.3f} | "
            + " | ".join(f"{r[w]['ndcg']:.3f}" for w in weights)
            + " |"
        )
    for name, pick in (("mean", mean), ("worst change", min)):
        if pick is mean:
            cells = [
                mean([t["rerank"][key]["ndcg"] for t in tasks]) for key in ["hybrid", *weights]
            ]
        else:
            cells = [0.0] + [
                min(t["rerank"][w]["ndcg"] - t["rerank"]["hybrid"]["ndcg"] for t in tasks)
                for w in weights
            ]
        fmt = "{:.3f}" if pick is mean else "{:+.3f}"
        lines.append(f"| **{name}** | " + " | ".join(fmt.format(c) for c in cells) + " |")
    lines += [
        "",
        f"{results['pairs_scored']:,} distinct (query, passage) pairs scored, "
        f"{results['ms_per_pair']} ms per pair on this machine.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = argparse.ArgumentParser(prog="python -m benchmarks.retrieval_suite")
    parser.add_argument("--data", type=Path, default=None, help="shared datasets folder")
    parser.add_argument("--write", type=Path, default=None, help="update this markdown report")
    parser.add_argument("--model", default="default")
    parser.add_argument("--only", nargs="*", default=None, help="task names")
    parser.add_argument("--no-rerank", action="store_true")
    parser.add_argument("--depth", type=int, default=RERANK_DEPTH)
    parser.add_argument("--json", type=Path, default=None, help="also save raw results here")
    args = parser.parse_args(argv)
    root = args.data or data_root()
    results = run_suite(
        root, model=args.model, rerank=not args.no_rerank, depth=args.depth, only=args.only,
        progress=sys.stderr.isatty(),
    )  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    sections = {"suite-first-stage": first_stage_markdown(results)}
    if not args.no_rerank:
        sections["suite-rerank"] = rerank_markdown(results)
    publish(sections, args.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
