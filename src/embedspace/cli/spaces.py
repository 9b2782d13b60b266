"""Looking after a space as a whole: ``info``, ``check``, ``migrate``, ``serve``, ``demo``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ..errors import InvalidInputError, MissingDependencyError
from .options import JsonOpt, SpaceArg, handles_errors, open_space, show_progress
from .render import console, emit, err_console

app = typer.Typer()


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
    from ..migrate import migrate as run_migration

    report = run_migration(
        source,
        destination,
        batch_size=batch_size,
        spot_checks=spot_checks,
        progress=not as_json and show_progress(),
    )
    if as_json:
        emit(report.to_dict())
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
def info(space: SpaceArg, as_json: JsonOpt = False) -> None:
    """Counts, model, dimensions and disk size of SPACE."""
    with open_space(space, create=False) as sp:
        details = sp.info()
    if as_json:
        emit(details)
        return
    for key, value in details.items():
        console.print(f"[bold]{key}[/bold]: {value}", highlight=False)


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
    api_key = None
    if api_key_env:
        api_key = os.environ.get(api_key_env)
        if not api_key:
            raise InvalidInputError(f"--api-key-env {api_key_env}: that variable is empty or unset")
    try:
        from ..server import serve as run_server
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
    from ..integrity import check_path
    from ..store.factory import backend_name

    if backend_name(space) == "sqlite":
        report = check_path(space, repair=repair)  # without loading the model
    else:
        with open_space(space, create=False) as sp:  # the space says what its backend allows
            report = sp.check(repair=repair)
    if as_json:
        emit(report.to_dict())
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


@app.command()
@handles_errors
def demo(
    space: Annotated[Path, typer.Option(help="Where to build the demo space.")] = Path(
        "demo.space"
    ),
    as_json: JsonOpt = False,
) -> None:
    """Index real movie plots and reviews (Rotten Tomatoes, shipped inside embedspace) and search them."""
    from ..demo import run_demo

    run_demo(space, as_json=as_json)
