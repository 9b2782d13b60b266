"""What the commands share: argument and option types, error handling, opening a space.

Why here: the same argument means the same thing in every command. A space is always a
``str`` location (a folder, ``postgresql://`` or ``milvus://``): typed as ``Path`` it was
mangled (``postgresql://u@h/db`` -> ``postgresql:/u@h/db``) and those commands failed on
remote spaces.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer

from ..errors import EmbedspaceError
from .render import emit, err_console

if TYPE_CHECKING:
    from ..space import Space

P = ParamSpec("P")
R = TypeVar("R")

JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object per line on stdout.")]
SpaceArg = Annotated[
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
UsingOpt = Annotated[
    str | None, typer.Option(help="A named vector to use (embedspace info lists them).")
]
RerankerOpt = Annotated[
    str, typer.Option(help="Cross-encoder: 'default' (packaged) or a local model folder.")
]
RerankWeightOpt = Annotated[
    float | None,
    typer.Option(
        help="Share of the cross-encoder score vs the first stage (0..1; default: tuned)."
    ),
]
BatchOpt = Annotated[
    int,
    typer.Option(
        min=1, help="Items per write transaction: an interrupted run loses at most one batch."
    ),
]


def handles_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn EmbedspaceError into a one-line message and exit code 1."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except EmbedspaceError as exc:
            if kwargs.get("as_json"):
                emit({"error": type(exc).__name__, "message": str(exc)})
            else:
                err_console.print(f"[red]error:[/red] {exc}", highlight=False, markup=True)
            raise typer.Exit(1) from None

    return wrapper


def show_progress() -> bool:
    """Progress bars, except under CI (its logs are not terminals)."""
    return not os.environ.get("CI")


def open_space(
    space: str,
    model: str = "default",
    create: bool = True,
    batch_size: int = 256,
    vector_storage: str = "ram",
) -> Space:
    """The space at ``space`` as the CLI opens it (progress bars unless under CI)."""
    from ..space import Space

    return Space(
        space,
        model=model,
        create=create,
        batch_size=batch_size,
        progress=show_progress(),
        vector_storage=vector_storage,
    )


def where_filter(pairs: list[str] | None) -> dict[str, Any] | None:
    """``--where key=value`` options as a ``where`` dict, None when there are none."""
    from ..store.filters import parse_cli_where

    return parse_cli_where(pairs or []) or None
