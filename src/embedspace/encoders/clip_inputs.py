"""What a CLIP or SigLIP tower is fed, computed without torch or transformers.

Why here and not the Hugging Face processors: those need transformers (and torch for
their default backend); the ONNX towers must run on the core dependencies alone. So the
export writes down, once, exactly what the folder's processors do (``TextRecipe``,
``ImageRecipe``, saved as ``inputs.json`` beside the graphs), and this module redoes it
with ``tokenizers``, Pillow and numpy. Tests hold both to the Hugging Face processors:
the same token ids, and pixels equal to float rounding.

The image steps are those of transformers' PIL image processors (``CLIPImageProcessor``,
``SiglipImageProcessor``): resize (CLIP: the short side to ``shortest_edge``, the long
side ``int(shortest * long / short)``; SigLIP: straight to height x width, no crop),
centre crop (zero padding where the image is smaller), ``x * rescale`` in float64 then
float32, ``(x - mean) / std``. The image is first made RGB as everywhere in embedspace
(``image.to_rgb``: EXIF rotation, transparency on white).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidInputError
from .image import ImageLike, to_rgb

if TYPE_CHECKING:
    from PIL import Image
    from tokenizers import Tokenizer


@dataclass(frozen=True)
class TextRecipe:
    """How texts become the text tower's inputs.

    CLIP pads each batch to its longest text and takes an attention mask (it pools at the
    end-of-text token). SigLIP was trained on texts padded to ``max_length`` and pools
    the last position, so it is always padded to ``max_length`` and takes no mask."""

    max_length: int
    pad_id: int
    pad_to_max: bool
    with_mask: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> TextRecipe:
        return cls(
            int(record["max_length"]),
            int(record["pad_id"]),
            bool(record["pad_to_max"]),
            bool(record["with_mask"]),
        )

    def ids(self, tokenizer: Tokenizer, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, special tokens added, truncated to ``max_length``
        (``tokenizer`` was saved with that truncation by the export)."""
        return [encoding.ids for encoding in tokenizer.encode_batch(list(texts))]

    def feeds(self, ids: Sequence[Sequence[int]]) -> dict[str, np.ndarray]:
        """``input_ids`` (and ``attention_mask`` for CLIP) of a batch, int64, padded."""
        width = self.max_length if self.pad_to_max else max((len(row) for row in ids), default=1)
        padded = np.full((len(ids), width), self.pad_id, dtype=np.int64)
        mask = np.zeros_like(padded)
        for index, row in enumerate(ids):
            padded[index, : len(row)], mask[index, : len(row)] = row, 1
        if self.with_mask:
            return {"input_ids": padded, "attention_mask": mask}
        return {"input_ids": padded}


@dataclass(frozen=True)
class ImageRecipe:
    """The folder's image preprocessing, fully spelled out (no defaults left to guess)."""

    #: Resize the short side to this (CLIP), or None with ``size`` set (SigLIP).
    shortest_edge: int | None
    #: Resize to exactly (height, width), or None.
    size: tuple[int, int] | None
    #: Pillow's resampling code (3 = bicubic, 2 = bilinear).
    resample: int
    #: Centre crop to (height, width), or None for no crop.
    crop: tuple[int, int] | None
    rescale: float | None
    mean: tuple[float, float, float] | None
    std: tuple[float, float, float] | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> ImageRecipe:
        def pair(value: Any) -> tuple[int, int] | None:
            return None if value is None else (int(value[0]), int(value[1]))

        def triple(value: Any) -> tuple[float, float, float] | None:
            return None if value is None else (float(value[0]), float(value[1]), float(value[2]))

        edge = record.get("shortest_edge")
        return cls(
            None if edge is None else int(edge),
            pair(record.get("size")),
            int(record["resample"]),
            pair(record.get("crop")),
            None if record.get("rescale") is None else float(record["rescale"]),
            triple(record.get("mean")),
            triple(record.get("std")),
        )

    @classmethod
    def from_processor(cls, config: dict[str, Any]) -> ImageRecipe:
        """From a Hugging Face image processor's ``to_dict()`` (its sizes normalised by
        transformers: ``{"shortest_edge": n}`` or ``{"height": h, "width": w}``)."""
        size = config.get("size") or {}
        crop = config.get("crop_size") or {}
        normalise = bool(config.get("do_normalize", True))
        if config.get("do_resize", True) and set(size) not in (
            {"shortest_edge"},
            {"height", "width"},
        ):
            raise InvalidInputError(
                f"the image processor resizes by {sorted(size)}; the ONNX path reproduces "
                "CLIP's {'shortest_edge'} and SigLIP's {'height', 'width'} only"
            )
        return cls(
            shortest_edge=size.get("shortest_edge") if config.get("do_resize", True) else None,
            size=(
                (int(size["height"]), int(size["width"]))
                if config.get("do_resize", True) and "height" in size
                else None
            ),
            resample=int(config.get("resample", 3)),
            crop=(
                (int(crop["height"]), int(crop["width"]))
                if config.get("do_center_crop") and crop
                else None
            ),
            rescale=float(config["rescale_factor"]) if config.get("do_rescale", True) else None,
            mean=tuple(config["image_mean"]) if normalise else None,
            std=tuple(config["image_std"]) if normalise else None,
        )

    def pixels(self, image: ImageLike) -> np.ndarray:
        """One image as the vision tower's (3, H, W) float32 input."""
        return self._from_rgb(to_rgb(image))

    def batch(self, images: Sequence[ImageLike]) -> np.ndarray:
        return np.stack([self.pixels(image) for image in images])

    def _from_rgb(self, image: Image.Image) -> np.ndarray:
        width, height = image.size
        if self.shortest_edge is not None:
            short, long = min(width, height), max(width, height)
            new_long = int(self.shortest_edge * long / short)
            target = (
                (self.shortest_edge, new_long)
                if width <= height
                else (new_long, self.shortest_edge)
            )
            image = image.resize(target, self.resample)
        elif self.size is not None:
            image = image.resize((self.size[1], self.size[0]), self.resample)
        array = np.asarray(image).transpose(2, 0, 1)
        if self.crop is not None:
            array = _centre_crop(array, *self.crop)
        values = array.astype(np.float64) * self.rescale if self.rescale is not None else array
        values = values.astype(np.float32)
        if self.mean is not None and self.std is not None:
            mean = np.asarray(self.mean, dtype=np.float32)[:, None, None]
            std = np.asarray(self.std, dtype=np.float32)[:, None, None]
            values = (values - mean) / std
        return np.ascontiguousarray(values, dtype=np.float32)


def _centre_crop(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """(C, H, W) -> (C, height, width) around the centre; zero padding where the image
    is smaller than the crop (as transformers' ``center_crop``)."""
    _, h, w = array.shape
    if h < height or w < width:
        padded = np.zeros((array.shape[0], max(h, height), max(w, width)), dtype=array.dtype)
        top, left = -(-(padded.shape[1] - h) // 2), -(-(padded.shape[2] - w) // 2)
        padded[:, top : top + h, left : left + w] = array
        array, h, w = padded, padded.shape[1], padded.shape[2]
    top, left = (h - height) // 2, (w - width) // 2
    return array[:, top : top + height, left : left + width]
