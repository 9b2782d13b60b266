"""Progress bars for long work, quiet when nobody is watching.

One helper so every long loop (encoding, ingest, evaluation) reports the same way; it
stays silent when output is not a terminal (CI logs, pipes) unless forced.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)


class _Silent:
    def advance(self, n: int = 1) -> None:
        pass


class _Bar:
    def __init__(self, progress: Progress, task: TaskID) -> None:
        self._progress, self._task = progress, task

    def advance(self, n: int = 1) -> None:
        self._progress.advance(self._task, n)


@contextmanager
def progress_bar(total: int, description: str, enabled: bool = True) -> Iterator[_Bar | _Silent]:
    """Yield an object with ``advance(n)``; draws a bar on stderr when enabled and a TTY."""
    if not enabled or total <= 0 or not sys.stderr.isatty():
        yield _Silent()
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=True) as progress:
        yield _Bar(progress, progress.add_task(description, total=total))
