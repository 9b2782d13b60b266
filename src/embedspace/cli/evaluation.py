"""Measuring quality on the user's data: the ``eval`` group (retrieval, re-ranking).

The benchmark suite behind docs/benchmarks.md (``make bench``) is the source repository's
``benchmarks/`` harness, not part of the installed package."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..search.rerank import RERANK_DEPTH
from .options import JsonOpt, ModelOpt, RerankerOpt, handles_errors
from .render import console, emit

eval_app = typer.Typer(help="Measure quality on public benchmark data.", no_args_is_help=True)

WriteOpt = Annotated[
    Path | None, typer.Option(help="Update this markdown report (e.g. docs/benchmarks.md).")
]
LimitQueriesOpt = Annotated[int | None, typer.Option(help="Evaluate only the first N queries.")]


def _print_rows(
    results: dict[str, Any], markdown: str, write: Path | None, section: str, as_json: bool
) -> None:
    """Each result row as JSON, or the markdown table; then the report section if asked."""
    if as_json:
        for row in results["rows"]:
            emit(row | {"dataset": results["dataset"]})
    else:
        console.print(markdown, highlight=False)
    if write:
        from ..eval.report import update_section

        update_section(write, f"{section}-{results['dataset']}", markdown)


@eval_app.command("retrieval")
@handles_errors
def eval_retrieval(
    dataset: Annotated[
        Path,
        typer.Argument(
            help="A BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv) or SciFact's scifact.zip."
        ),
    ],
    limit_queries: LimitQueriesOpt = None,
    write: WriteOpt = None,
    model: ModelOpt = "default",
    as_json: JsonOpt = False,
) -> None:
    """nDCG@10 and Recall@100 of dense, sparse and hybrid search, side by side."""
    from ..eval.retrieval import evaluate_retrieval, results_markdown

    results = evaluate_retrieval(
        dataset, model=model, limit_queries=limit_queries, progress=not as_json
    )
    _print_rows(results, results_markdown(results), write, "retrieval", as_json)


@eval_app.command("rerank")
@handles_errors
def eval_rerank_cmd(
    dataset: Annotated[
        Path, typer.Argument(help="SciFact's scifact.zip (test = claims_validation).")
    ],
    reranker: RerankerOpt = "default",
    depth: Annotated[int, typer.Option(help="First-stage candidates re-scored.")] = RERANK_DEPTH,
    limit_queries: Annotated[int | None, typer.Option(help="Only the first N queries.")] = None,
    write: WriteOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """nDCG@10 of dense, BM25 and hybrid, each with and without cross-encoder re-ranking."""
    from ..eval.rerank import evaluate_rerank, rerank_markdown

    results = evaluate_rerank(
        dataset, reranker=reranker, depth=depth, limit_queries=limit_queries, progress=not as_json
    )
    _print_rows(results, rerank_markdown(results), write, "rerank", as_json)
