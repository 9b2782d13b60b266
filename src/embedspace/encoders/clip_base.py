"""The front both CLIP runtimes share: texts and images in, one space's unit vectors out.

Why a base: the ONNX towers (``clip.py``, what ``clip:`` loads) and the torch reference
(``clip_torch.py``, ``clip-torch:``) must differ only in what runs the two forward
passes. Tokenising (``tokenizers``, the export's ``tokenizer.json``), image
preprocessing (``clip_inputs.ImageRecipe``), batching, normalising and the truncation
warning live here once, so an agreement test between the two measures the runtimes and
nothing else.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import EmbedspaceWarning, InvalidInputError
from .base import Role, l2_normalise, require_text_list, without_leading_space
from .clip_inputs import ImageRecipe, TextRecipe
from .image import ImageLike
from .runtime import BATCH_TOKENS, length_batches, run_batches

if TYPE_CHECKING:
    from tokenizers import Tokenizer


class TwoTowers(ABC):
    """``encode(texts)`` and ``encode_images(images)`` into one space."""

    modalities: tuple[str, ...] = ("text", "image")

    def __init__(
        self,
        *,
        name: str,
        model_id: str,
        dim: int,
        tokenizer: Tokenizer,
        text: TextRecipe,
        image: ImageRecipe,
        workers: int = 1,
        batch_size: int = 32,
        batch_tokens: int = BATCH_TOKENS,
        image_batch: int = 8,
    ) -> None:
        self.name = name
        self.model_id = model_id
        self.dim = dim
        self.max_tokens = text.max_length
        self.text_recipe = text
        self.image_recipe = image
        self.batch_size = batch_size
        self.batch_tokens = batch_tokens
        self.image_batch = image_batch
        self._tokenizer = tokenizer
        self._workers = max(1, workers)
        self._spans: Tokenizer | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_id!r}, dim={self.dim})"

    @abstractmethod
    def _text_vectors(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """The text tower's projected (unnormalised) features of one padded batch."""

    @abstractmethod
    def _image_vectors(self, pixels: np.ndarray) -> np.ndarray:
        """The vision tower's projected (unnormalised) features of (n, 3, H, W) pixels."""

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the content tokens of ``text`` (no specials, no
        truncation): what a Space chunks long documents by."""
        if self._spans is None:
            from tokenizers import Tokenizer

            spans = Tokenizer.from_str(self._tokenizer.to_str())
            spans.no_truncation()
            self._spans = spans
        offsets = self._spans.encode(text, add_special_tokens=False).offsets
        return without_leading_space(text, offsets)

    def encode(
        self, items: Sequence[str], role: Role = "document", *, progress: bool = False
    ) -> np.ndarray:
        """Text tower: L2-normalised text vectors (truncated to ``max_tokens``, with a
        warning naming how many texts were cut)."""
        require_text_list(items)
        encodings = self._tokenizer.encode_batch(list(items))
        cut = sum(1 for e in encodings if e.overflowing)
        if cut:
            warnings.warn(
                f"{cut} of {len(encodings)} texts were longer than {self.name}'s "
                f"{self.max_tokens} tokens and were truncated (a Space chunks documents "
                "instead)",
                EmbedspaceWarning,
                stacklevel=2,
            )
        ids = [e.ids for e in encodings]
        out = np.empty((len(ids), self.dim), dtype=np.float32)
        batches = length_batches(
            [len(row) for row in ids], self.batch_size, self.batch_tokens, self._workers
        )

        def run(batch: np.ndarray) -> np.ndarray:
            return self._text_vectors(self.text_recipe.feeds([ids[i] for i in batch]))

        for batch, vectors in run_batches(run, batches, self._workers):
            out[batch] = vectors
        return l2_normalise(out)

    def encode_images(self, images: Sequence[ImageLike]) -> np.ndarray:
        """Image tower: L2-normalised image vectors, rows in input order."""
        if isinstance(images, str | Path) or not isinstance(images, Sequence):
            raise InvalidInputError("encode_images() takes a list of images; wrap one in [ ]")
        images = list(images)
        out = np.empty((len(images), self.dim), dtype=np.float32)
        size = max(1, min(self.image_batch, -(-len(images) // self._workers)))

        def run(start: int) -> np.ndarray:
            return self._image_vectors(self.image_recipe.batch(images[start : start + size]))

        for start, vectors in run_batches(run, range(0, len(images), size), self._workers):
            out[start : start + len(vectors)] = vectors
        return l2_normalise(out)
