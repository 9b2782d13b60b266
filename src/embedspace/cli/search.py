"""Finding things: ``search`` and ``context`` (prompt-ready passages with citations)."""

from __future__ import annotations

from typing import Annotated

import typer

from ..search.hybrid import DEFAULT_ALPHA
from ..search.rerank import RERANK_DEPTH
from .options import (
    JsonOpt,
    RerankerOpt,
    RerankWeightOpt,
    SpaceArg,
    UsingOpt,
    WhereOpt,
    handles_errors,
    open_space,
    where_filter,
)
from .render import console, emit, hits

app = typer.Typer()


@app.command()
@handles_errors
def search(
    space: SpaceArg,
    query: Annotated[str, typer.Argument(help="What to look for, in your own words.")],
    k: Annotated[int, typer.Option("--k", "-k", help="How many results.")] = 10,
    mode: Annotated[str, typer.Option(help="dense | sparse | hybrid")] = "dense",
    where: WhereOpt = None,
    fusion: Annotated[str, typer.Option(help="Hybrid fusion: convex | rrf")] = "convex",
    alpha: Annotated[
        float, typer.Option(help="Hybrid convex weight of dense (0..1).")
    ] = DEFAULT_ALPHA,
    vector_storage: Annotated[
        str, typer.Option(help="ram | mmap (vectors memory-mapped from disk: larger than RAM).")
    ] = "ram",
    rerank: Annotated[
        bool, typer.Option("--rerank", help="Re-score the top hits with a cross-encoder.")
    ] = False,
    reranker: RerankerOpt = "default",
    rerank_depth: Annotated[
        int, typer.Option(help="How many hits the cross-encoder re-scores.")
    ] = RERANK_DEPTH,
    rerank_weight: RerankWeightOpt = None,
    using: UsingOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Search SPACE by meaning (dense), keywords (sparse) or both (hybrid); --rerank re-scores."""
    with open_space(space, create=False, vector_storage=vector_storage) as sp:
        found = sp.search(
            query,
            k=k,
            mode=mode,
            where=where_filter(where),
            fusion=fusion,
            alpha=alpha,
            rerank=reranker if rerank else False,
            rerank_depth=rerank_depth,
            rerank_weight=rerank_weight,
            using=using,
        )
    hits(found, f"{mode} search: {query!r}", as_json, text=lambda hit: hit.chunk_text)


@app.command()
@handles_errors
def context(
    space: SpaceArg,
    question: Annotated[str, typer.Argument(help="The question the context should answer.")],
    max_tokens: Annotated[
        int, typer.Option(help="Token budget (the space model's tokenizer).")
    ] = 1000,
    k: Annotated[int, typer.Option("--k", "-k", help="Candidate passages retrieved.")] = 20,
    mode: Annotated[str, typer.Option(help="dense | sparse | hybrid")] = "hybrid",
    rerank: Annotated[bool, typer.Option(help="Re-rank candidates with the cross-encoder.")] = True,
    reranker: RerankerOpt = "default",
    order: Annotated[
        str, typer.Option(help="relevance | source (per document, reading order)")
    ] = "relevance",
    as_json: JsonOpt = False,
) -> None:
    """Prompt-ready context for QUESTION: best passages, de-duplicated, within a token budget, with citations."""
    with open_space(space, create=False) as sp:
        ctx = sp.context(
            question,
            max_tokens=max_tokens,
            k=k,
            mode=mode,
            rerank=reranker if rerank else False,
            order=order,
        )
    if as_json:
        emit(ctx.to_dict())
        return
    console.print(ctx.text, highlight=False, markup=False)
    console.print(f"\n{ctx.tokens} / {ctx.max_tokens} tokens", style="dim")
    for c in ctx.citations:
        where = f" {c.locator}" if c.locator else ""
        console.print(
            f"[{c.n}] {c.id}{where} chars {c.span[0]}-{c.span[1]}", style="dim", markup=False
        )
