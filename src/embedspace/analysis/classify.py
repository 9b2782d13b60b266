"""Zero-shot classification: the closest label wins, with no training on the labels.

The seeds' CLIP example, for anything that has a vector: embed the candidate labels as
text (query role, as a person would type them) and rank them by cosine to the item. It
works across kinds because images and texts share one space.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..encoders.base import Encoder, l2_normalise
from ..errors import InvalidInputError


@dataclass(frozen=True)
class Prediction:
    """One label and its cosine similarity to the item (higher = closer)."""

    label: str
    score: float


def check_labels(labels: Sequence[str]) -> list[str]:
    if isinstance(labels, str):
        raise InvalidInputError('labels must be a list, e.g. ["a dog", "a car", "a beach"]')
    labels = list(labels)
    if len(labels) < 2 or len(set(labels)) != len(labels):
        raise InvalidInputError("give at least two distinct labels to choose between")
    if any(not isinstance(label, str) or not label.strip() for label in labels):
        raise InvalidInputError("every label must be a non-empty string")
    return labels


def zero_shot(
    vectors: np.ndarray, labels: Sequence[str], encoder: Encoder
) -> list[list[Prediction]]:
    """For each row of ``vectors``, every label ranked best first."""
    labels = check_labels(labels)
    scores = l2_normalise(np.atleast_2d(vectors)) @ encoder.encode(labels, role="query").T
    return [
        [Prediction(labels[i], float(row[i])) for i in np.argsort(-row, kind="stable")]
        for row in scores
    ]
