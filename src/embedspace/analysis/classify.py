"""Zero-shot classification: the closest label wins, with no training on the labels.

The seeds' CLIP example, for anything that has a vector: embed the candidate labels as
text (query role, as a person would type them) and rank them by cosine to the item. It
works across kinds because images and texts share one space.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..encoders.base import Encoder, l2_normalise
from ..encoders.image import IMAGE_SUFFIXES
from ..errors import InvalidInputError

#: What ``classify`` can be asked about, as its keyword arguments name them.
SUBJECTS = ("text", "image", "id")


class Prediction(NamedTuple):
    """One label and its cosine similarity to the item (higher = closer). A tuple, so
    ``label, score = prediction`` works as ``list[(label, score)]`` promised."""

    label: str
    score: float


def is_image(item: Any) -> bool:
    """A string is text unless it names an existing image file; bytes are text too
    (callers reject them); anything else (a Path, a Pillow image, an array) is an image."""
    if isinstance(item, str):
        return Path(item).suffix.lower() in IMAGE_SUFFIXES and Path(item).is_file()
    return not isinstance(item, bytes)


def classify_subject(
    item: Any, explicit: dict[str, Any], is_id: Callable[[str], bool]
) -> tuple[str, Any]:
    """(kind, value) of what to classify: exactly one of ``text=``, ``image=``, ``id=``
    (``explicit``), or a positional ``item`` whose kind is guessed: a stored id (per
    ``is_id``), else an image, else a text. The explicit forms never guess, so a text
    that happens to name a file is never opened."""
    given = {kind: value for kind, value in explicit.items() if value is not None}
    if item is not None:
        if given:
            raise InvalidInputError(f"pass the item positionally or as {SUBJECTS}, not both")
        if isinstance(item, str) and is_id(item):
            return "id", item
        return ("image", item) if is_image(item) else ("text", item)
    if len(given) != 1:
        raise InvalidInputError(
            f"give exactly one of {', '.join(f'{k}=' for k in explicit)} to classify"
        )
    return next(iter(given.items()))


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
