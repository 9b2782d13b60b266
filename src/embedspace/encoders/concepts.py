"""The image tower's concepts: ImageNet's 1,000 classes and their WordNet hypernyms.

Why: ConSE (encoders/image.py) places an image at the weighted mean of the concepts the
classifier sees. With bare class names, "tabby" and "Egyptian cat" are all it has, so a
query for "an animal" or "a vehicle" matches only by luck. The shipped table
(``models/imagenet-wordnet``, built from WordNet by ``make models``) gives each class its
synonyms, gloss and hypernym chain, and adds the hypernym synsets ("cat", "dog",
"vehicle", "food", ...) as concepts of their own whose probability is the sum of their
classes'. A hypernym's credit is scaled by its specificity, 1 - log(classes below) /
log(1000): "entity" (above all 1,000) earns nothing, "animal" (398) a little, "cat" more,
so generic nodes never drown the specific ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache

import numpy as np

from .artifacts import CONCEPTS_DIR, shipped_folder


@dataclass(frozen=True)
class ConceptTable:
    """Class and hypernym concepts; ``membership[h, c]`` is 1 when class c is below h."""

    names: list[str]
    texts: list[str]
    node_names: list[str]
    node_texts: list[str]
    membership: np.ndarray
    specificity: np.ndarray

    def credit(self, probs: np.ndarray, weight: float) -> np.ndarray:
        """(n, classes) probabilities -> (n, classes + nodes): each node gets its classes'
        summed probability times ``weight`` and its specificity (no nodes at weight 0)."""
        if not weight:
            return probs
        nodes = (probs @ self.membership.T) * (weight * self.specificity)
        return np.hstack([probs, nodes.astype(probs.dtype)])

    def phrases(self, text: str) -> list[str]:
        """What is embedded for each concept (classes then nodes): ``"names"`` (the bare
        names) or ``"wordnet"`` (names, synonyms, gloss, hypernym chain)."""
        if text == "names":
            return self.names + self.node_names
        if text == "wordnet":
            return self.texts + self.node_texts
        raise ValueError(f"concept text must be 'names' or 'wordnet', not {text!r}")


@cache
def concept_table() -> ConceptTable:
    """The shipped table, verified against its manifest, read once per process."""
    folder = shipped_folder(CONCEPTS_DIR)
    table = json.loads(folder.file("concepts.json").read_text("utf-8"))
    classes, nodes = table["classes"], table["nodes"]
    membership = np.zeros((len(nodes), len(classes)), dtype=np.float32)
    for row, node in enumerate(nodes):
        membership[row, node["classes"]] = 1.0
    cover = membership.sum(axis=1)
    return ConceptTable(
        names=[c["name"] for c in classes],
        texts=[c["text"] for c in classes],
        node_names=[n["name"] for n in nodes],
        node_texts=[n["text"] for n in nodes],
        membership=membership,
        specificity=(1.0 - np.log(cover) / np.log(len(classes))).astype(np.float32),
    )
