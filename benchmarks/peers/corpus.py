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


# --- the million-text corpus of the pre-computed-vector runs ---------------------------
#
# WordNet has 117,659 synsets; 1M texts need more real English, also from Debian:
# GCIDE (``dict-gcide``: Webster's 1913 + later additions, ~249k definition paragraphs)
# and SCOWL's largest American word list (``wamerican-insane``, 663k words). ``make
# peers-corpus`` unpacks both .debs under EXTRACTED without installing them (dict-gcide
# would pull in the dictd server), so no root is needed.

#: where ``make peers-corpus`` unpacks the two .debs (a system install is read too)
EXTRACTED = Path(__file__).resolve().parents[2] / ".cache" / "bench" / "debian"
GCIDE = Path("usr/share/dictd")
WORDLIST = Path("usr/share/dict/american-english-insane")
#: dictd's index encodes offsets and lengths in this base-64 alphabet
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
#: shorter GCIDE paragraphs are headword stubs ("Syn: ...", "[Obs.]" alone)
MIN_PARAGRAPH = 20


def _debian_file(relative: Path) -> Path:
    """``relative`` under EXTRACTED, else under ``/`` (installed by apt), else the fix."""
    for root in (EXTRACTED, Path("/")):
        if (root / relative).exists():
            return root / relative
    raise FileNotFoundError(f"{relative} not found under {EXTRACTED} or /: `make peers-corpus`")


def _dictd_number(text: str) -> int:
    number = 0
    for char in text:
        number = number * 64 + _B64.index(char)
    return number


def gcide_paragraphs(folder: Path | None = None) -> list[str]:
    """GCIDE's definition paragraphs, markup-light and in dictionary order, each once.

    An entry is a headword line and its numbered senses, notes and quotations separated by
    blank lines; each paragraph becomes one text, with the ``[1913 Webster]`` source tags
    and ``{cross-reference}`` braces removed. The dictd index lists an entry once per
    headword, so entries are deduplicated by their (offset, length)."""
    import gzip
    import re

    folder = folder or _debian_file(GCIDE)
    raw = gzip.decompress((folder / "gcide.dict.dz").read_bytes())
    seen: set[tuple[int, int]] = set()
    texts: dict[str, None] = {}
    for line in (folder / "gcide.index").read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or parts[0].startswith("00-database"):
            continue
        span = (_dictd_number(parts[1]), _dictd_number(parts[2]))
        if span in seen:
            continue
        seen.add(span)
        entry = raw[span[0] : span[0] + span[1]].decode("utf-8", errors="replace")
        for paragraph in re.split(r"\n\s*\n", entry):
            paragraph = re.sub(r"\[[^\]]*\]", "", paragraph).replace("{", "").replace("}", "")
            paragraph = " ".join(paragraph.split())
            if len(paragraph) >= MIN_PARAGRAPH:
                texts[paragraph] = None
    return list(texts)


def word_list(path: Path | None = None) -> list[str]:
    """Every word of SCOWL's "insane" American list, as shipped (possessives included)."""
    path = path or _debian_file(WORDLIST)
    return [w for w in path.read_text(encoding="utf-8", errors="replace").split("\n") if w]


@dataclass(frozen=True)
class LargeCorpus:
    """Up to ~1M real texts for the vector runs: every WordNet synset not held out for the
    queries, then GCIDE's paragraphs, then the word list, shuffled together by the seed
    (so a prefix of any size mixes all three); each text once."""

    texts: list[str]
    ids: list[str]
    #: the held-out synsets' words (the queries) and full texts (the writes), as in Workload
    queries: list[str]
    held_texts: list[str]


def large_corpus(synsets: list[Synset], queries: int, seed: int = 0) -> LargeCorpus:
    base = workload(synsets, len(synsets) - queries, queries, seed)
    texts: dict[str, str] = dict(zip(base.texts, base.ids, strict=True))
    for source, items in (("g", gcide_paragraphs()), ("w", word_list())):
        for row, text in enumerate(items):
            texts.setdefault(text, f"{source}{row}")
    pairs = list(texts.items())
    random.Random(seed + 1).shuffle(pairs)
    return LargeCorpus(texts=[t for t, _ in pairs], ids=[i for _, i in pairs],
                       queries=base.queries, held_texts=base.held_texts)  # fmt: skip
