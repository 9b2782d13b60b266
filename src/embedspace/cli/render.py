"""How the CLI prints: rich tables and lines for people, one JSON object a line for machines.

Why one module: every command prints hits, rankings and reports the same way, so a
change of format (or of the JSON shape scripts rely on) is made once.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from ..search.results import Hit

console = Console()
err_console = Console(stderr=True)


def emit(obj: Any) -> None:
    """One JSON object on its own line of stdout (``--json``)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def snippet(text: str, width: int = 160) -> str:
    """``text`` on one line, cut to ``width`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def ranked(rows: list[tuple[str, float]], key: str, as_json: bool) -> None:
    """(name, score) rows, best first, as ``rank. score name`` lines or JSON."""
    for rank, (name, score) in enumerate(rows, start=1):
        if as_json:
            emit({"rank": rank, key: name, "score": round(score, 6)})
        else:
            console.print(f"{rank:>2}. {score:.3f}  {name}", highlight=False)


def table(title: str, columns: Sequence[str], **options: Any) -> Table:
    """A table whose columns wrap long values instead of cutting them."""
    out = Table(title=title, **options)
    for col in columns:
        out.add_column(col, overflow="fold")
    return out


def hits(found: list[Hit], title: str, as_json: bool, text: Callable[[Hit], str]) -> None:
    """Search-like results: ``{"rank": n} | hit`` lines, or a #/score/id/text table showing
    ``text(hit)`` (the matched chunk for a search, the whole item for a recommendation)."""
    if as_json:
        for rank, hit in enumerate(found, start=1):
            emit({"rank": rank} | hit.to_dict())
        return
    out = table(title, ("#", "score", "id", "text"))
    for rank, hit in enumerate(found, start=1):
        where = f"{hit.id} {hit.locator}" if hit.locator else hit.id  # file.pdf p. 7 § Results
        out.add_row(str(rank), f"{hit.score:.3f}", where, snippet(text(hit)))
    console.print(out)


def sync_report(summary: dict[str, Any], as_json: bool) -> None:
    """What an add or sync did: counts, each skipped file with its reason, and each note
    (read with a caveat); JSON: one line per skip and note, then the counts."""
    skipped, notes = summary.get("skipped", []), summary.get("notes", [])
    if as_json:
        for reason in skipped:
            emit({"skipped": reason})
        for note in notes:
            emit({"note": note})
        emit(
            {k: v for k, v in summary.items() if k not in ("skipped", "notes")}
            | {"skipped": len(skipped), "notes": len(notes)}
        )
        return
    for reason in skipped:
        err_console.print(f"[yellow]skipped:[/yellow] {reason}", highlight=False)
    print_notes(notes)
    console.print(
        f"added {summary['added']}, updated {summary['updated']}, deleted {summary['deleted']}, "
        f"unchanged {summary['unchanged']}, skipped {len(summary.get('skipped', []))} "
        f"-> {summary['items']} items"
    )


def print_notes(notes: Iterable[str]) -> None:
    """Caveats of a finished job (a page without text, a file read in another encoding),
    one line each on stderr, so stdout stays the job's result."""
    for note in notes:
        err_console.print(f"[dim]note:[/dim] {note}", highlight=False)
