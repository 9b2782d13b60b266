"""Looking after a space as a whole: ``info``, ``check``, ``migrate``, ``reembed``, ``backup``,
``restore``, ``demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .options import JsonOpt, SpaceArg, handles_errors, open_space, show_progress
from .render import console, emit, err_console, print_notes

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
def reembed(
    space: SpaceArg,
    model: Annotated[str, typer.Option("--model", "-m", help="The new model, e.g. glove.")],
    keep_old: Annotated[
        bool, typer.Option("--keep-old", help="Keep the old vectors as a named vector.")
    ] = False,
    batch_size: Annotated[int, typer.Option(help="Items per write transaction.")] = 256,
    as_json: JsonOpt = False,
) -> None:
    """Re-embed SPACE with MODEL while it keeps serving, then swap MODEL in at once.
    Searches and writes go on with the old model meanwhile; a killed run leaves the old
    model serving, and running the same command again resumes it."""
    with open_space(space, create=False, batch_size=batch_size) as sp:
        sp.progress = not as_json and show_progress()
        report = sp.reembed(model, keep_old=keep_old)
    if as_json:
        emit(report.to_dict())
        return
    kept = f"; the old vectors kept as {report.kept_old!r}" if report.kept_old else ""
    console.print(
        f"{space}: {report.items} items now on {report.model} ({report.dim}-d), "
        f"{report.reembedded} embedded by this run, {report.resumed} resumed from an "
        f"earlier one{kept}; {report.seconds:.1f} s",
        highlight=False,
    )
    if report.discarded:
        err_console.print(
            f"an interrupted re-embed to {report.discarded} was discarded first", highlight=False
        )


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
def backup(
    space: SpaceArg,
    destination: Annotated[str, typer.Argument(help="A new folder for the backup.")],
    as_json: JsonOpt = False,
) -> None:
    """Back up SPACE into the new folder DESTINATION, online: writers may keep writing, the
    backup is one committed state. A failed backup leaves nothing at DESTINATION."""
    from ..backup import backup as take_backup

    report = take_backup(space, destination)
    if as_json:
        emit(report.to_dict())
        return
    console.print(
        f"{report.source} -> {report.destination}: {report.items} items, {report.chunks} "
        f"chunks at generation {report.generation}, {report.files} files, "
        f"{report.bytes / 2**20:.1f} MB, {report.seconds:.1f} s",
        highlight=False,
    )
    print_notes(report.notes)


@app.command()
@handles_errors
def restore(
    source: Annotated[str, typer.Argument(help="A backup folder (from `embedspace backup`).")],
    space: Annotated[str, typer.Argument(help="The space folder to restore it as.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace SPACE if it exists (stop its server first).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Restore the backup SOURCE as SPACE: every file checked against the backup's
    manifest, `check` run on the copy, and only then moved into place."""
    from ..backup import restore as run_restore

    report = run_restore(source, space, force=force)
    if as_json:
        emit(report.to_dict())
        return
    verb = "replaced" if report.replaced else "restored"
    console.print(
        f"{report.destination} {verb} from {report.source}: {report.items} items, "
        f"{report.chunks} chunks (generation {report.generation}); check passed",
        highlight=False,
    )
    print_notes(report.notes)


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
