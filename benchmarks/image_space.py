"""How well the image tower puts pictures and words in one space (issue 26).

Caption -> image and image -> caption retrieval (R@1, R@10, median rank, among all images
or all distinct captions of a set) on the held-out sources of ``benchmarks.image_data``
(Twemoji's held-out half, Tabler icons), and zero-shot accuracy on Fashion-MNIST test
with its 10 class names (the ``es.classify`` path: labels embedded as queries, closest
wins). Every choice (the ConSE recipe's knobs, the bridge's epochs and its mix weight) is
tuned on the dev split of the training sources (OpenMoji, MDI); the held-out sets are
only reported.

The backbone's outputs are computed once per source and cached under
``.cache/image-data/features`` (keyed by the backbone's model id), through the run-time
path (``ImageNetClassifier.forward``: SVGs rasterised by encoders/svg.py, composited on
white, resized and cropped as every image is), so the recipes compare on the same
pixels and the figures are what users get.

    python -m benchmarks.run --only image-space
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmarks import image_data
from benchmarks.image_data import Captioned

if TYPE_CHECKING:
    from embedspace.encoders.base import Encoder, Role
    from embedspace.encoders.image import (
        ConceptImageEncoder,
        ImageLike,
        ImageNetClassifier,
        Recipe,
    )

#: A set's cached backbone outputs, (logits, pooled features), by set name.
Outputs = dict[str, tuple[np.ndarray, np.ndarray]]

FEATURES = image_data.DATA / "features"
LITE2_DIR = image_data.DATA / "efficientnet-lite2"
LITE2_CAP = 500
#: Fashion-MNIST train images in the dev split (photos: the mix must not forget them).
DEV_PHOTOS = 1000
#: The ConSE grid searched on the dev split: Recipe's fields (keyword arguments), each
#: with the values tried; the axes differ in type, hence Any.
GRID: dict[str, tuple[Any, ...]] = {
    "text": ("names", "wordnet"),
    "top": (5, 10, 20),
    "temperature": (1.0, 2.0),
    "hypernyms": (0.0, 0.2, 0.5, 1.0),
    "centre": (False, True),
}


class MemoEncoder:
    """A text encoder that remembers what it embedded: the grid re-embeds the same
    concept tables and captions many times. An ``Encoder`` itself (same space, same
    model id), so ConceptImageEncoder and es.classify take it as the wrapped one."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.dim: int = encoder.dim
        self.model_id: str = encoder.model_id
        self.modalities: tuple[str, ...] = encoder.modalities
        self._memo: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}

    def encode(
        self, items: Sequence[str], role: Role = "document", *, progress: bool = False
    ) -> np.ndarray:
        key = (role, tuple(items))
        if key not in self._memo:
            self._memo[key] = self.encoder.encode(list(items), role=role, progress=progress)
        return self._memo[key]


def classifier(backbone: str = "efficientnet-lite0") -> ImageNetClassifier:
    from embedspace.encoders.image import ImageNetClassifier

    if backbone == "efficientnet-lite0":
        return ImageNetClassifier()
    if not (LITE2_DIR / "manifest.json").is_file():
        export_lite2()
    return ImageNetClassifier(folder=LITE2_DIR)


def export_lite2() -> None:
    """Export Lite2 like the shipped Lite0 (tools/build_models.export_backbone)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "build_models", image_data.ROOT / "tools" / "build_models.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    LITE2_DIR.mkdir(parents=True, exist_ok=True)
    module.export_backbone(LITE2_DIR, "efficientnet-lite2")


def features(source: Captioned, tower: ImageNetClassifier) -> tuple[np.ndarray, np.ndarray]:
    """(logits, features) of every image of ``source``, cached per backbone."""
    cache = FEATURES / tower.model_id / f"{source.name}.npz"
    if cache.is_file():
        with np.load(cache) as data:
            if list(data["ids"]) == source.ids:
                return data["logits"], data["features"]
    start = time.perf_counter()
    logits, pooled = tower.forward(source.images)
    print(
        f"  {source.name}: {len(source.ids)} images through {tower.model_id} in "
        f"{time.perf_counter() - start:.0f} s",
        file=sys.stderr,
    )
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(tmp, ids=np.array(source.ids), logits=logits, features=pooled)
    tmp.replace(cache)
    return logits, pooled


def retrieval(images: np.ndarray, captions: list[str], text: Encoder) -> dict[str, float]:
    """Caption -> image (its own image among all; images sharing its exact caption count
    as right too) and image -> caption (among the distinct captions)."""
    distinct = sorted(set(captions))
    index = {c: i for i, c in enumerate(distinct)}
    queries = text.encode(distinct, role="query")
    truth = np.array([index[c] for c in captions])
    sims = queries @ images.T  # (distinct captions, images)
    # caption -> image: rank of the best image carrying that caption
    own = np.where(truth[None, :] == np.arange(len(distinct))[:, None], sims, -np.inf).max(1)
    c2i = (sims > own[:, None]).sum(axis=1) + 1
    # image -> caption
    own_i = sims[truth, np.arange(len(captions))]
    i2c = (sims > own_i[None, :]).sum(axis=0) + 1
    return {
        "c2i_r1": float(np.mean(c2i <= 1)),
        "c2i_r10": float(np.mean(c2i <= 10)),
        "c2i_median": float(np.median(c2i)),
        "i2c_r1": float(np.mean(i2c <= 1)),
        "i2c_r10": float(np.mean(i2c <= 10)),
        "n": len(captions),
    }


def category_precision(images: np.ndarray, groups: list[str], text: Encoder) -> float:
    """Generic words (image_data.CATEGORY_QUERIES): mean precision of each query's top k
    images, k = min(10, its right answers), over the queries with at least 3 in the set."""
    queries = [
        (q, set(subs))
        for q, subs in image_data.CATEGORY_QUERIES.items()
        if sum(g in subs for g in groups) >= 3
    ]
    vectors = text.encode([q for q, _ in queries], role="query")
    order = np.argsort(-(vectors @ images.T), axis=1)
    precision = []
    for (_, subs), row in zip(queries, order, strict=True):
        k = min(10, sum(g in subs for g in groups))
        precision.append(np.mean([groups[i] in subs for i in row[:k]]))
    return float(np.mean(precision))


def zero_shot_accuracy(images: np.ndarray, captions: list[str], text: Encoder) -> float:
    """es.classify's rule over the set's class names: the closest label wins."""
    from embedspace.analysis.classify import zero_shot

    labels = list(image_data.FASHION_LABELS)
    predicted = [row[0].label for row in zero_shot(images, labels, text)]
    return float(np.mean([p == c for p, c in zip(predicted, captions, strict=True)]))


def score(
    encoder: ConceptImageEncoder, outputs: Outputs, sets: dict[str, Captioned], text: Encoder
) -> dict[str, dict[str, float]]:
    """Every set's figures for one encoder (from cached backbone outputs)."""
    result: dict[str, dict[str, float]] = {}
    for name, source in sets.items():
        vectors = encoder.vectors(*outputs[name])
        if name.startswith("Fashion-MNIST"):
            result[name] = {"acc": zero_shot_accuracy(vectors, source.captions, text)}
        else:
            result[name] = retrieval(vectors, source.captions, text)
        if source.groups is not None:
            result[name]["generic_p10"] = category_precision(vectors, source.groups, text)
    return result


def dev_score(figures: dict[str, dict[str, float]]) -> float:
    """The one number tuning maximises: the mean over the dev sets of R@10 both ways,
    and, where a set has emoji categories, of the generic words' precision@10 too (one
    third each), so a recipe cannot win by forgetting that "an animal" means animals;
    for the dev photos (Fashion-MNIST train), zero-shot accuracy."""
    per_set = [
        f["acc"]
        if "acc" in f
        else float(np.mean([f["c2i_r10"], f["i2c_r10"], f["generic_p10"]]))
        if "generic_p10" in f
        else float(np.mean([f["c2i_r10"], f["i2c_r10"]]))
        for f in figures.values()
    ]
    return float(np.mean(per_set))


def dev_sets() -> tuple[dict[str, Captioned], dict[str, Captioned]]:
    """(train, dev) splits of the training sources."""
    train: dict[str, Captioned] = {}
    dev: dict[str, Captioned] = {}
    for name, load in image_data.TRAINING.items():
        source = load()
        if source is not None:
            train[name], dev[name] = image_data.split_dev(source)
    photos = image_data.fashion_mnist(DEV_PHOTOS, split="train")
    if photos is not None:
        dev[photos.name] = photos
    return train, dev


def held_out_sets() -> dict[str, Captioned]:
    sets = {name: load() for name, load in image_data.HELD_OUT.items()}
    sets["Fashion-MNIST"] = image_data.fashion_mnist()
    return {k: v for k, v in sets.items() if v is not None}


def outputs_for(sets: dict[str, Captioned], tower: ImageNetClassifier) -> Outputs:
    return {name: features(source, tower) for name, source in sets.items()}


def tune_recipe(
    text: Encoder, tower: ImageNetClassifier, dev_outputs: Outputs, dev: dict[str, Captioned]
) -> tuple[Recipe, list[tuple[float, Recipe]]]:
    """Grid-search the ConSE recipe on the dev split; (best, every (score, recipe))."""
    from embedspace.encoders.image import ConceptImageEncoder, Recipe

    tried: list[tuple[float, Recipe]] = []
    for values in itertools.product(*GRID.values()):
        recipe = Recipe(**dict(zip(GRID, values, strict=True)))
        encoder = ConceptImageEncoder(text, tower, recipe=recipe)
        tried.append((dev_score(score(encoder, dev_outputs, dev, text)), recipe))
    tried.sort(key=lambda t: -t[0])
    return tried[0][1], tried


def ms_per_image(tower: ImageNetClassifier, images: Sequence[ImageLike], repeats: int = 3) -> float:
    """Best of ``repeats`` passes over ``images`` (pixels to features), ms per image."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        tower.forward(images)
        best = min(best, time.perf_counter() - start)
    return 1000 * best / len(images)


def _row(label: str, held: dict[str, dict[str, float]]) -> str:
    cells = [label]
    tw = held.get("Twemoji")
    cells.append(f"{tw['generic_p10']:.3f}" if tw else "-")
    for name in ("Twemoji", "Tabler"):
        f = held.get(name)
        cells += (
            [
                f"{f['c2i_r1']:.3f}",
                f"{f['c2i_r10']:.3f}",
                f"{f['c2i_median']:.0f}",
                f"{f['i2c_r1']:.3f}",
                f"{f['i2c_r10']:.3f}",
            ]
            if f
            else ["-"] * 5
        )
    fm = held.get("Fashion-MNIST")
    cells.append(f"{fm['acc']:.3f}" if fm else "-")
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| image tower | Twemoji generic words P@10 | Twemoji c→i R@1 | R@10 | median | i→c R@1 | R@10 "
    "| Tabler c→i R@1 | R@10 | median | i→c R@1 | R@10 | F-MNIST acc |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def lite2_subsets(held: dict[str, Captioned]) -> dict[str, Captioned]:
    """Lite2 costs ~2.5x Lite0 per image: it is measured on Twemoji's half, and the first
    LITE2_CAP (by hash, as every cap) of Tabler and Fashion-MNIST."""
    out: dict[str, Captioned] = {}
    for name, source in held.items():
        keep = np.arange(len(source.ids)) < LITE2_CAP if name != "Twemoji" else None
        out[name] = source if keep is None else source.subset(keep, f"{source.name} {LITE2_CAP}")
    return out


def machine() -> str:
    from benchmarks.bench import machine_section

    return machine_section().split("\n", 2)[2].split("\n")[0]


def run() -> str:
    """Measure every addition and the shipped mix; the markdown section."""
    from embedspace.encoders.bridge import shipped_bridge
    from embedspace.encoders.image import SHIPPED_RECIPE, ConceptImageEncoder, Recipe
    from embedspace.encoders.registry import load_encoder

    absent = image_data.missing()
    if absent:
        return f"skipped: {', '.join(absent)} not installed (run `make image-data`)"
    text = MemoEncoder(load_encoder("default"))
    lite0 = classifier()
    _, dev = dev_sets()
    held = held_out_sets()
    dev_out, held_out = outputs_for(dev, lite0), outputs_for(held, lite0)
    best, tried = tune_recipe(text, lite0, dev_out, dev)
    rows: list[str] = []

    def measure(label: str, encoder: ConceptImageEncoder) -> None:
        rows.append(_row(label, score(encoder, held_out, held, text)))

    steps = [
        ("ConSE before: top-10 bare names", Recipe()),
        ("+ WordNet text (synonyms, gloss, hypernym chain)", Recipe(text="wordnet")),
        ("+ hypernyms credited (weight 0.5)", Recipe(text="wordnet", hypernyms=0.5)),
        (f"+ dev-tuned knobs: `{best.tag}`", best),
    ]
    for label, recipe in steps:
        measure(label, ConceptImageEncoder(text, lite0, recipe=recipe))
    bridge = shipped_bridge()
    alone = replace(bridge, mix=1.0)
    measure(
        "trained bridge alone",
        ConceptImageEncoder(text, lite0, recipe=SHIPPED_RECIPE, bridge=alone),
    )
    shipped = ConceptImageEncoder(text, lite0, recipe=SHIPPED_RECIPE, bridge=bridge)
    measure(f"**shipped: `{SHIPPED_RECIPE.tag}` + bridge × {bridge.mix:g}**", shipped)
    by_tag = {r.tag: sc for sc, r in tried}
    lines = [
        "### Image space: ConSE, WordNet, the trained bridge (held-out captions and zero-shot)",
        "",
        machine() + " Timings were taken on a machine shared with other jobs.",
        "",
        f"Held out (never trained or tuned on): Twemoji's half of the Unicode emoji "
        f"({len(held['Twemoji'].ids)} images; OpenMoji trains on the other half), "
        f"{len(held['Tabler'].ids)} Tabler icons, the first "
        f"{len(held['Fashion-MNIST'].ids)} Fashion-MNIST test images (10 labels). "
        "c→i: a caption finds its image among all the set's images; i→c: an image finds its "
        "caption among the set's distinct captions.",
        "",
        HEADER,
        *rows,
        "",
        "Dev split (a tenth of OpenMoji and MDI: R@10 both ways and generic-word P@10; "
        f"{DEV_PHOTOS} Fashion-MNIST train photos: accuracy; averaged): {len(tried)} ConSE "
        f"recipes, best `{tried[0][1].tag}` {tried[0][0]:.3f}, bare names top-10 "
        f"{by_tag[Recipe().tag]:.3f}, shipped `{SHIPPED_RECIPE.tag}` "
        f"{by_tag.get(SHIPPED_RECIPE.tag, float('nan')):.3f}. The bridge's epochs and its "
        "mix weight were chosen on the same split (tools/train_bridge.py, "
        "models/image-bridge/manifest.json).",
        "",
        *lite_comparison(text, lite0, held, held_out),
    ]
    return "\n".join(lines)


def lite_comparison(
    text: Encoder, lite0: ImageNetClassifier, held: dict[str, Captioned], lite0_out: Outputs
) -> list[str]:
    """Lite0 vs Lite2 under the shipped ConSE recipe (the bridge is Lite0's), side by side."""
    from embedspace.encoders.image import SHIPPED_RECIPE, ConceptImageEncoder

    lite2 = classifier("efficientnet-lite2")
    subsets = lite2_subsets(held)
    sample = subsets["Tabler"].images[:64]
    rows: list[str] = []
    timings: dict[str, float] = {}
    for _ in range(2):  # alternate, so load hits both alike
        for tower in (lite0, lite2):
            ms = ms_per_image(tower, sample, repeats=1)
            timings[tower.model_id] = min(ms, timings.get(tower.model_id, ms))
    for tower in (lite0, lite2):
        outputs = (
            {
                n: (lite0_out[n][0][: len(s.ids)], lite0_out[n][1][: len(s.ids)])
                for n, s in subsets.items()
            }
            if tower is lite0
            else outputs_for(subsets, tower)
        )
        encoder = ConceptImageEncoder(text, tower, recipe=SHIPPED_RECIPE)
        f = score(encoder, outputs, subsets, text)
        rows.append(
            f"| {tower.model_id.split('@')[0]} ({tower.side} px) | {f['Twemoji']['c2i_r10']:.3f} "
            f"| {f['Tabler']['c2i_r10']:.3f} | {f['Fashion-MNIST']['acc']:.3f} "
            f"| {timings[tower.model_id]:.0f} |"
        )
    return [
        f"Backbone (ConSE `{SHIPPED_RECIPE.tag}`, no bridge; Twemoji's half, {LITE2_CAP} "
        f"Tabler icons, {LITE2_CAP} Fashion-MNIST images; ms per image from SVG file to "
        "features, 64 icons, best of two alternating passes):",
        "",
        "| backbone | Twemoji c→i R@10 | Tabler c→i R@10 | F-MNIST acc | ms / image |",
        "|---|---|---|---|---|",
        *rows,
    ]


if __name__ == "__main__":
    print(run())
