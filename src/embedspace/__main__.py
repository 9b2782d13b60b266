"""``python -m embedspace``: the CLI without the installed console script (subprocess
tests run it against the source tree they import)."""

from .cli import app

app()
