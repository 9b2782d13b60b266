"""Which fusion rule holds across the whole suite: the rules tried, measured side by side.

Only the winner ships (``search/hybrid.py``); the others are computed here from the same
inputs the product uses: each query's dense score of every item (``Space.search``, so a
long document scores as its best chunk) and BM25 from a ``Bm25Model`` fitted on the same
texts, over the same candidates (the union of both halves' top 100). The shipped rules
go through ``hybrid.fuse`` itself, so the table cannot drift from the product.

    python -m benchmarks.fusion_study --data ../shared/datasets --write docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import NotRequired, TypedDict

import numpy as np

from benchmarks.suite_spaces import open_task_space
from benchmarks.suite_tasks import SuiteTask, suite_tasks
from embedspace.eval.datasets import data_root
from embedspace.eval.metrics import mean, ndcg_at_k
from embedspace.eval.report import update_section
from embedspace.scoring.sparse import SEARCH_ANALYZER, Bm25Model
from embedspace.search.hybrid import fuse, keyword_gate

DEPTH = 100  # = space.HYBRID_DEPTH: candidates from each half


@dataclass
class Query:
    """One query's candidates (item positions) and what each half knows about them."""

    candidates: np.ndarray
    cosine: np.ndarray
    dense_ranked: np.ndarray
    credit: np.ndarray  # BM25 / bound over every query word (the shipped scale)
    ranked: np.ndarray  # items matching a query word, best BM25 first
    coverage: float
    old_credit: np.ndarray  # BM25 (no query stop list) / bound over matchable words only
    old_ranked: np.ndarray
    relevant: dict[int, int]  # row in the task's ids -> graded relevance


Rule = Callable[[Query], np.ndarray]


def _zscore(x: np.ndarray) -> np.ndarray:
    spread = x.std()
    return (x - x.mean()) / spread if spread > 1e-9 else np.zeros_like(x)


def _minmax(x: np.ndarray) -> np.ndarray:
    spread = x.max() - x.min()
    return (x - x.min()) / spread if spread > 1e-12 else np.zeros_like(x)


def _shipped(fusion: str, alpha: float, gated: bool = True) -> Rule:
    def rule(q: Query) -> np.ndarray:
        coverage = q.coverage if gated else None
        halves = (q.cosine, q.dense_ranked), (q.credit, q.ranked)
        return fuse(fusion, alpha, q.candidates, *halves, coverage)

    return rule


def _before(fusion: str) -> Rule:
    """The rule that shipped before the suite (alpha 0.5, bound of matchable words)."""
    return lambda q: fuse(
        fusion, 0.5, q.candidates, (q.cosine, q.dense_ranked), (q.old_credit, q.old_ranked), None
    )


def _gate(q: Query) -> float:
    return keyword_gate(q.coverage)


#: (label, rule): the first two are the old default and its RRF.
RULES: tuple[tuple[str, Rule], ...] = (
    ("before: convex a=0.5, bound of matchable words", _before("convex")),
    ("before: rrf", _before("rrf")),
    ("convex a=0.5, corrected bound", _shipped("convex", 0.5, gated=False)),
    ("convex a=0.6, corrected bound", _shipped("convex", 0.6, gated=False)),
    ("convex a=0.5, corrected bound + coverage gate", _shipped("convex", 0.5)),
    ("**convex a=0.6, corrected bound + coverage gate (default)**", _shipped("convex", 0.6)),
    ("convex a=0.7, corrected bound + coverage gate", _shipped("convex", 0.7)),
    ('rrf + coverage gate (fusion="rrf")', _shipped("rrf", 0.6)),
    (
        "z-scores of candidates, 0.5 x keyword, gated",
        lambda q: _zscore(q.cosine) + 0.5 * _gate(q) * _zscore(q.credit),
    ),  # fmt: skip
    (
        "min-max of candidates, 0.5 x keyword, gated",
        lambda q: _minmax(q.cosine) + 0.5 * _gate(q) * _minmax(q.credit),
    ),  # fmt: skip
    (
        "per-query weight: gate x sqrt(best credit), a=0.6",
        lambda q: 0.6 * q.cosine + 0.4 * _gate(q) * np.sqrt(q.credit.max(initial=0.0)) * q.credit,
    ),  # fmt: skip
)


def _ranked(scores: np.ndarray) -> np.ndarray:
    matched = np.flatnonzero(scores > 0)
    return matched[np.argsort(-scores[matched], kind="stable")[:DEPTH]]


def task_queries(task: SuiteTask, model: str, cache_dir: Path | None) -> list[Query]:
    space, _ = open_task_space(task, model, cache_dir, progress=False)
    with space:
        ids = space.ids()
        position = {item: n for n, item in enumerate(ids)}
        bm25 = Bm25Model().fit([it.text for it in space.items(ids)])
        old = copy.copy(bm25)
        old.query_analyzer = SEARCH_ANALYZER
        out = []
        for qid, text in task.data.queries.items():
            cosine = np.full(len(ids), -1.0)
            dense_ranked = []
            for hit in space.search(text, k=len(ids), mode="dense"):
                cosine[position[hit.id]] = hit.score
                dense_ranked.append(position[hit.id])
            raw, old_raw = bm25.scores(text), old.scores(text)
            ranked, old_ranked = _ranked(raw), _ranked(old_raw)
            candidates = np.union1d(dense_ranked[:DEPTH], ranked)
            bound, old_found = bm25.bound(text), old.bound(text).found
            out.append(
                Query(
                    candidates,
                    cosine[candidates],
                    np.array(dense_ranked[:DEPTH]),
                    raw[candidates] / (bound.total or 1.0),
                    ranked,
                    bound.coverage,
                    old_raw[candidates] / (old_found or 1.0),
                    old_ranked,
                    {position[d]: g for d, g in task.data.qrels[qid].items() if d in position},
                )
            )
    return out


class _RuleScores(TypedDict):
    ndcg: list[float]
    margins: list[tuple[float, str]]  # (margin, task name)
    scifact: NotRequired[float]


def _order_by(rule: Rule, q: Query) -> np.ndarray:
    """The query's candidates, best first by ``rule``."""
    return q.candidates[np.argsort(-rule(q), kind="stable")]


def _score(queries: list[Query], order: Callable[[Query], np.ndarray]) -> dict[str, float]:
    ndcg, top1 = [], []
    for q in queries:
        ranked = order(q)
        ndcg.append(ndcg_at_k(list(ranked), q.relevant, 10))
        top1.append(float(len(ranked) > 0 and q.relevant.get(int(ranked[0]), 0) > 0))
    return {"ndcg": mean(ndcg), "top1": mean(top1)}


#: Mean nDCG@10 differences over the suite this small are noise from 13 tasks' queries.
TIE = 0.002


def study(root: Path | None, model: str = "default", cache_dir: Path | None = None) -> list[dict]:
    """Per rule: mean nDCG@10, SciFact, and the worst margin against the better of dense
    and sparse (top-1 too on FAQ tasks) on every task of the suite."""
    rows: dict[str, _RuleScores] = {label: {"ndcg": [], "margins": []} for label, _ in RULES}
    for task in suite_tasks(root)[0]:
        queries = task_queries(task, model, cache_dir)
        keys = ("ndcg", "top1") if task.single_answer else ("ndcg",)
        halves = [_score(queries, lambda q: q.dense_ranked), _score(queries, lambda q: q.ranked)]
        best = {k: max(h[k] for h in halves) for k in keys}
        for label, rule in RULES:
            got = _score(queries, partial(_order_by, rule))
            rows[label]["ndcg"].append(got["ndcg"])
            rows[label]["margins"].append((min(got[k] - best[k] for k in keys), task.data.name))
            if task.data.name == "scifact":
                rows[label]["scifact"] = got["ndcg"]
    return [
        {
            "rule": label,
            "mean": mean(r["ndcg"]),
            "scifact": r.get("scifact"),
            "worst": min(r["margins"]),
            "failing": sum(m < -0.02 for m, _ in r["margins"]),
        }
        for label, r in rows.items()
    ]


def verdict(rows: list[dict]) -> str:
    """Which rules fail no task, and how far apart they are: the default must be among
    them, and a gap smaller than :data:`TIE` in mean nDCG@10 over the suite is not a
    reason to ship a more complicated rule."""
    passing = [r for r in rows if r["failing"] == 0]
    default = next((r for r in rows if "(default)" in r["rule"]), None)
    if default is None or default not in passing:
        return "**The default fails at least one task**: see the rows above."
    best = max(passing, key=lambda r: r["mean"])
    gap = best["mean"] - default["mean"]
    names = "; ".join(f"{r['rule'].strip('*')} ({r['mean']:.3f})" for r in passing)
    return (
        f"Rules failing no task: {names}. The best of them is {gap:.3f} above the default "
        f"in mean nDCG@10, within the {TIE} this suite cannot tell apart: the default "
        "stays (moving it that little would be tuning to these tasks)."
        if gap <= TIE
        else f"Rules failing no task: {names}. **{best['rule']} beats the default by "
        f"{gap:.3f}** in mean nDCG@10 (more than the tie margin {TIE}): consider shipping it."
    )


def study_markdown(rows: list[dict], tasks: int) -> str:
    lines = [
        f"### Fusion rules tried, over the {tasks} suite tasks",
        "",
        "`margin` = the rule minus the better of dense and sparse on a task (nDCG@10; on FAQ "
        "tasks the lower of the nDCG@10 and top-1 margins); a task fails below -0.02.",
        "",
        "| rule | mean nDCG@10 | SciFact | worst margin (task) | tasks failing |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        sci = f"{r['scifact']:.3f}" if r["scifact"] is not None else "-"
        margin, task = r["worst"]
        lines.append(
            f"| {r['rule']} | {r['mean']:.3f} | {sci} | {margin:+.3f} ({task}) | {r['failing']} |"
        )
    lines += ["", verdict(rows)]
    lines += [
        "",
        "Command: `python -m benchmarks.fusion_study --data ../shared/datasets "
        "--write docs/benchmarks.md`",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fusion_study")
    parser.add_argument("--data", type=Path, default=None, help="shared datasets folder")
    parser.add_argument("--write", type=Path, default=None, help="update this markdown report")
    args = parser.parse_args(argv)
    root = args.data or data_root()
    body = study_markdown(study(root), len(suite_tasks(root)[0]))
    if args.write:
        update_section(args.write, "suite-fusion-rules", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
