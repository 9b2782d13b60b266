"""The tour (``/tour``): the project's story told live by the packaged models.

Every number the page shows is computed here when it is asked for, from the shipped
models: nothing is written down in advance. Four parts:

* one shared space: concept words, then sentences about them, then photos (the ConSE
  image tower puts pictures in the text model's space), placed on one PCA map of all of
  them, so the page can add them stage by stage and show them land in the same places;
* king - man + woman with GloVe, drawn as arrows on a PCA map of the words involved;
* two pairs of texts ("I love cats" / "I hate cats", "Paris is beautiful" / "France is
  lovely") under one-hot, bag-of-words, TF-IDF and dense vectors (``compare``);
* negation: the bi-encoder's cosine against the cross-encoder's score.

The photos are scikit-learn's sample images (a core dependency) and, where scikit-image
is installed, its cat, coffee and rocket; ``images`` says which were used.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import numpy as np
from PIL import Image

from ..encoders.base import Encoder, l2_normalise
from ..encoders.image import ImageEncoder
from ..encoders.reranker import CrossEncoder
from ..encoders.words import WordVectors
from .compare import REPRESENTATIONS, compare
from .projection import pca_map

#: concept -> (words, a sentence about it)
CONCEPTS: dict[str, tuple[tuple[str, ...], str]] = {
    "cat": (("cat", "kitten", "dog"), "A cat is sleeping on the warm sofa."),
    "coffee": (("coffee", "espresso", "tea"), "I drink a cup of hot coffee every morning."),
    "rocket": (("rocket", "spacecraft", "launch"), "The rocket lifted off towards space."),
    "flower": (("flower", "daisy", "rose"), "She picked a yellow flower in the garden."),
    "temple": (("temple", "palace", "pagoda"), "The old temple stands on the hill above the town."),
}
ANALOGY = ("king", "man", "woman")
ANALOGY_CONTEXT = ("queen", "prince", "princess", "boy", "girl")
PAIRS = (("I love cats", "I hate cats"), ("Paris is beautiful", "France is lovely"))
NEGATION = (
    ("The product is good", "The product is not good"),
    ("The product is good", "The product is great"),
)
#: Longest side of a photo sent to the page.
PICTURE_SIDE = 96


def _photos() -> Iterator[tuple[str, str, np.ndarray]]:
    """(name, concept, RGB array) of the sample photos available here."""
    from sklearn.datasets import load_sample_images

    samples = load_sample_images()
    for path, image in zip(samples.filenames, samples.images, strict=True):
        name = str(path).rsplit("/", 1)[-1]
        yield name, "temple" if name.startswith("china") else "flower", image
    try:
        from skimage import data
    except ImportError:
        return
    for name, concept in (("chelsea", "cat"), ("coffee", "coffee"), ("rocket", "rocket")):
        yield f"{name}.png", concept, getattr(data, name)()


def _data_url(image: Image.Image) -> str:
    small = image.convert("RGB")
    small.thumbnail((PICTURE_SIDE, PICTURE_SIDE))
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def shared_space(text: Encoder, images: ImageEncoder) -> dict[str, Any]:
    """Words, sentences and photos on one map of the text model's space."""
    points: list[dict[str, Any]] = []
    for concept, (words, sentence) in CONCEPTS.items():
        points += [{"kind": "word", "text": w, "concept": concept} for w in words]
        points.append({"kind": "sentence", "text": sentence, "concept": concept})
    text_vectors = text.encode([p["text"] for p in points], role="document")
    pictures = [(name, concept, Image.fromarray(array)) for name, concept, array in _photos()]
    image_vectors = images.encode_images([picture for _, _, picture in pictures])
    for name, concept, picture in pictures:
        points.append(
            {"kind": "image", "text": name, "concept": concept, "picture": _data_url(picture)}
        )
    vectors = np.vstack([text_vectors, image_vectors]).astype(np.float32)
    space_map = pca_map([str(i) for i in range(len(points))], [], [], vectors, 0)
    for point, (x, y), vector in zip(points, space_map.xy, vectors, strict=True):
        point["x"], point["y"] = round(float(x), 4), round(float(y), 4)
        # the concept whose sentence this point is closest to (how it "settles")
        point["nearest_sentence"] = _nearest_concept(vector, text_vectors, points)
    return {"points": points, "images": [name for name, _, _ in pictures]}


def _nearest_concept(vector: np.ndarray, text_vectors: np.ndarray, points: list[dict]) -> str:
    rows = [i for i, p in enumerate(points[: len(text_vectors)]) if p["kind"] == "sentence"]
    scores = text_vectors[rows] @ vector
    return str(points[rows[int(np.argmax(scores))]]["concept"])


def analogy_arrows(words: WordVectors) -> dict[str, Any]:
    """king - man + woman: the words and the computed point on one PCA map, the answer."""
    a, b, c = ANALOGY
    answer, score = words.analogy(a, b, c)[0]
    names = [*ANALOGY, *ANALOGY_CONTEXT]
    vectors = l2_normalise(np.vstack([words.vector(w) for w in names]).astype(np.float32))
    target = l2_normalise((vectors[0] - vectors[1] + vectors[2])[None, :])
    space_map = pca_map(names + [f"{a} - {b} + {c}"], [], [], np.vstack([vectors, target]), 0)
    return {
        "points": [
            {"word": name, "x": round(float(x), 4), "y": round(float(y), 4)}
            for name, (x, y) in zip(space_map.ids, space_map.xy, strict=True)
        ],
        "answer": answer,
        "score": round(float(score), 4),
        # arrows as (from, to) by name: b -> c, and a -> the computed point
        "arrows": [[b, c], [a, f"{a} - {b} + {c}"]],
    }


def pair_table(text: Encoder) -> list[dict[str, Any]]:
    """Each pair's cosine under every representation ``compare`` knows."""
    sees = {r.key: r.sees for r in REPRESENTATIONS}
    rows = []
    for a, b in PAIRS:
        scores = compare(a, b, model=text)
        rows.append(
            {
                "a": a,
                "b": b,
                "scores": {key: round(float(scores[key]), 4) for key in sees},
            }
        )
    return rows


def negation(text: Encoder, cross: CrossEncoder) -> list[dict[str, Any]]:
    """Bi-encoder cosine and cross-encoder score of each negation pair."""
    rows = []
    for a, b in NEGATION:
        va, vb = text.encode([a, b], role="document")
        rows.append(
            {
                "a": a,
                "b": b,
                "bi_encoder": round(float(va @ vb), 4),
                "cross_encoder": round(float(cross.score(a, [b])[0]), 4),
            }
        )
    return rows


def representations() -> list[dict[str, str]]:
    return [{"key": r.key, "sees": r.sees} for r in REPRESENTATIONS]
