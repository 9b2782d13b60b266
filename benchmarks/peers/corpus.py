"""WordNet's glosses as the peers benchmark's corpus (Debian package ``wordnet-base``).

Why WordNet: 117,659 real, short, distinct English texts (a synset's words and its
definition) that any machine gets with one ``apt-get install wordnet-base`` (``make
wordnet``), under a permissive licence, so 100k items need neither a download nor
synthetic text. Each document is ``"dog, domestic dog, Canis familiaris: a member of the
genus Canis ..."``; the speed workloads' queries are the *words* of held-out synsets
(``"domestic dog, Canis familiaris"``): short keyword-like queries, never in the corpus.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

#: Where Debian's wordnet-base puts the database.
WORDNET = Path("/usr/share/wordnet")
#: data.<pos> files, nouns first (the most glosses).
PARTS = ("noun", "verb", "adj", "adv")
#: WordNet's own part-of-speech letters: a synset id is the letter + the file offset.
LETTERS = {"noun": "n", "verb": "v", "adj": "a", "adv": "r"}
#: Every document gets ``bucket = row % BUCKETS``: an equality filter on one bucket keeps 1%.
BUCKETS = 100


@dataclass(frozen=True)
class Synset:
    """One WordNet synset: its id (``n00001740``, unique across the four files), its words and its gloss."""

    id: str
    words: str
    gloss: str

    @property
    def text(self) -> str:
        return f"{self.words}: {self.gloss}"


def parse_data_line(line: str, pos: str) -> Synset | None:
    """A ``data.<pos>`` line -> Synset; None for the licence header (lines begin with two
    spaces). Layout (wndb(5)): offset lex_filenum ss_type w_cnt(hex) [word lex_id]... | gloss."""
    if line.startswith("  ") or "|" not in line:
        return None
    head, gloss = line.split("|", 1)
    fields = head.split()
    count = int(fields[3], 16)
    words = [fields[4 + 2 * i].replace("_", " ") for i in range(count)]
    # adjectives carry a syntactic marker: "pretty(a)"
    words = [w.split("(")[0] if w.endswith(")") else w for w in words]
    return Synset(f"{LETTERS[pos]}{fields[0]}", ", ".join(words), gloss.strip())


def load_synsets(root: Path = WORDNET) -> list[Synset]:
    """Every synset of the four data files, in file order. Raises FileNotFoundError with
    the fix when wordnet-base is not installed."""
    missing = [p for p in PARTS if not (root / f"data.{p}").is_file()]
    if missing:
        raise FileNotFoundError(
            f"WordNet not found under {root} (missing data.{missing[0]}): "
            "`make wordnet` or `apt-get install wordnet-base`"
        )
    synsets: list[Synset] = []
    for pos in PARTS:
        with (root / f"data.{pos}").open(encoding="utf-8", errors="replace") as handle:
            synsets += [s for line in handle if (s := parse_data_line(line, pos))]
    return synsets


@dataclass(frozen=True)
class Workload:
    """The documents of one size and the held-out queries, fixed by the seed."""

    texts: list[str]
    ids: list[str]
    metadata: list[dict[str, int]]
    queries: list[str]
    #: the held-out synsets' full texts, in query order: what the write workload adds
    held_texts: list[str]


def workload(synsets: list[Synset], size: int, queries: int, seed: int = 0) -> Workload:
    """``size`` documents and ``queries`` held-out synsets' words (never among the
    documents of any size: they are drawn first from the shuffled order)."""
    if size + queries > len(synsets):
        raise ValueError(
            f"{size:,} documents + {queries:,} queries exceed WordNet's {len(synsets):,} "
            "synsets: larger sizes need pre-computed vectors"
        )
    order = list(range(len(synsets)))
    random.Random(seed).shuffle(order)
    held, docs = order[:queries], order[queries : queries + size]
    return Workload(
        texts=[synsets[i].text for i in docs],
        ids=[synsets[i].id for i in docs],
        metadata=[{"bucket": row % BUCKETS} for row in range(size)],
        queries=[synsets[i].words for i in held],
        held_texts=[synsets[i].text for i in held],
    )
