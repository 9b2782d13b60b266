"""Cached spaces for the suite's tasks: one per task and model, kept in step with the task.

The corpus goes through ``Space.add`` as a user's would. A cached space is synced, not
trusted: documents a task no longer has (a changed sample) are deleted, so figures never
include stale items.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.suite_tasks import SuiteTask
from embedspace.eval.retrieval import cached_space_path

if TYPE_CHECKING:
    from embedspace.space import Space


def open_task_space(
    task: SuiteTask, model: str, cache_dir: Path | None, progress: bool
) -> tuple[Space, float]:
    """The task's corpus in a cached space (added only where missing or changed); returns
    the open space and the seconds this call spent adding."""
    from embedspace.space import Space

    corpus = task.data.corpus
    space = Space(
        cached_space_path(task.data.name, model, cache_dir), model=model, progress=progress
    )
    stale = sorted(set(space.ids()) - corpus.keys())
    if stale:
        space.delete(stale)
    started = time.perf_counter()
    space.add(list(corpus.values()), ids=list(corpus))
    return space, time.perf_counter() - started
