"""Write results into a markdown report section by section.

Each benchmark owns a section between ``<!-- begin:NAME -->`` and ``<!-- end:NAME -->``,
so re-running one benchmark updates its figures and leaves the others in place.
"""

from __future__ import annotations

import os
import re
from pathlib import Path


def update_section(report: Path, name: str, body: str) -> None:
    report = Path(report)
    text = report.read_text(encoding="utf-8") if report.exists() else "# Benchmarks\n"
    block = f"<!-- begin:{name} -->\n{body.strip()}\n<!-- end:{name} -->"
    pattern = re.compile(
        rf"<!-- begin:{re.escape(name)} -->.*?<!-- end:{re.escape(name)} -->", re.S
    )
    text = (
        pattern.sub(lambda _: block, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + block + "\n"
    )
    report.parent.mkdir(parents=True, exist_ok=True)
    tmp = report.with_suffix(report.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, report)


def publish(sections: dict[str, str], report: Path | None) -> None:
    """Print each section and, given a report, replace its marked section there: what
    every study's ``--write`` does, so a run that only prints shows what it would write."""
    for name, body in sections.items():
        if report is not None:
            update_section(report, name, body)
        print(body + "\n", flush=True)
