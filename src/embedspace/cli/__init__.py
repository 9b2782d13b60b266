"""The ``embedspace`` command line: the Space API for shells and scripts.

Every command has ``--help``; ``--json`` prints one JSON object per line for machines.
Errors the library raises on purpose are printed as one line (no traceback) with exit 1.
One module per command group (ingest, search, analysis, models, spaces, serving, train,
evaluation); arguments and options they share are in ``options``, output in ``render``.
"""

from __future__ import annotations

import typer

from . import analysis, evaluation, ingest, models, search, serving, spaces, train

app = typer.Typer(
    help="Turn text and images into vectors in one space and search it by meaning. Try: embedspace demo",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for group in (ingest, analysis, models, search, spaces, serving, train):
    app.add_typer(group.app)
app.add_typer(evaluation.eval_app, name="eval")
app.add_typer(models.words_app, name="words")
app.add_typer(serving.keys_app, name="keys")

__all__ = ["app"]
