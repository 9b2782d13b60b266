"""Getting items into a space: ``add``, ``sync``, ``add-images``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .options import (
    BatchOpt,
    IdFieldOpt,
    JsonOpt,
    ModelOpt,
    SpaceArg,
    TextFieldOpt,
    handles_errors,
    open_space,
)
from .render import sync_report

app = typer.Typer()


@app.command()
@handles_errors
def add(
    space: SpaceArg,
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Files or folders: .txt .md .csv .tsv .jsonl .parquet, and documents: "
            ".pdf .html .htm .docx .epub .eml .mbox"
        ),
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
    with open_space(space, model, batch_size=batch_size) as sp:
        report = sp.add_files(
            paths,
            text_field=text_field,
            id_field=id_field,
            ray=(ray_address or "local") if ray or ray_address else None,
        )
        sync_report(report.to_dict() | {"items": len(sp)}, as_json)


@app.command()
@handles_errors
def sync(
    space: SpaceArg,
    folder: Annotated[Path, typer.Argument(help="Folder to mirror.")],
    text_field: TextFieldOpt = None,
    id_field: IdFieldOpt = None,
    model: ModelOpt = "default",
    batch_size: BatchOpt = 256,
    as_json: JsonOpt = False,
) -> None:
    """Mirror FOLDER (any mix of supported files): re-embed only files whose content changed, drop deleted files' items."""
    with open_space(space, model, batch_size=batch_size) as sp:
        report = sp.sync(folder, text_field=text_field, id_field=id_field)
        sync_report(report.to_dict() | {"items": len(sp)}, as_json)


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
    with open_space(space, model) as sp:
        report = sp.add_images(paths)
        sync_report(report.to_dict() | {"items": len(sp)}, as_json)
