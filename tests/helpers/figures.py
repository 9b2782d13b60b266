"""Figures a reliability test measured: printed (see them with ``pytest -s``) and, when
``EMBEDSPACE_FIGURES`` names a file, appended to it as one JSON line per test - the
source of the numbers in docs/reliability.md."""

from __future__ import annotations

import json
import os
from typing import Any


def record(name: str, **figures: Any) -> None:
    line = json.dumps({"test": name, **figures}, sort_keys=False)
    print(line)
    target = os.environ.get("EMBEDSPACE_FIGURES")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
