"""CLIP through ``transformers``: one model, a text tower and an image tower, one space.

Why a separate path: CLIP's two towers were trained together (contrastively, on
image-caption pairs), so it is the real thing that the packaged ConSE bridge imitates.
No PyPI package ships CLIP weights, so this path is for users who have them: a local
folder saved with ``save_pretrained`` or a hub id already in the Hugging Face cache
(``clip:openai/clip-vit-base-patch32``). Load it with ``es.load_encoder("clip:<folder or
hub id>")`` or ``Space(path, model="clip:...")``; the same Space API then embeds texts
with the text tower and images with the image tower. Needs the train extra.

Images are preprocessed here (resize, centre-crop, normalise with the statistics from the
folder's ``preprocessor_config.json``, CLIP's own by default) so no torchvision is needed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidInputError, MissingDependencyError, ModelNotFoundError
from .base import Role, hf_token_spans, l2_normalise, require_text_list
from .image import ImageLike, pixels, to_rgb
from .text import file_fingerprint

if TYPE_CHECKING:
    from torch import Tensor

#: CLIP's training statistics (OpenAI), used when a folder does not say otherwise.
CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


class ClipEncoder:
    """A CLIP model: ``encode(texts)`` and ``encode_images(images)`` in one space."""

    modalities: tuple[str, ...] = ("text", "image")

    def __init__(self, source: str | Path, *, batch_size: int = 32) -> None:
        try:
            import torch
            from transformers import AutoTokenizer, CLIPModel
        except ImportError as exc:
            raise MissingDependencyError(
                "CLIP models need the train extra: pip install torch==2.13.0 'embedspace[train]'"
            ) from exc
        source = str(source)
        try:
            self._model = CLIPModel.from_pretrained(source).eval()
            self._tokenizer = AutoTokenizer.from_pretrained(source)
        except (OSError, ValueError) as exc:
            raise ModelNotFoundError(
                f"cannot load a CLIP model from {source!r}: {exc}. Give a folder saved with "
                "CLIPModel.save_pretrained (with its tokenizer) or a hub id already downloaded"
            ) from exc
        self._torch = torch
        config = self._model.config
        self.dim = int(config.projection_dim)
        self.max_tokens = int(config.text_config.max_position_embeddings)
        self.batch_size = batch_size
        self.name = f"clip:{source}"
        weights = next(Path(source).glob("*.safetensors"), None) if Path(source).is_dir() else None
        self.model_id = f"{self.name}@{file_fingerprint(weights)}" if weights else self.name
        processor = _read_json(Path(source) / "preprocessor_config.json")
        self._side = int(config.vision_config.image_size)
        self._mean = np.asarray(processor.get("image_mean", CLIP_MEAN), dtype=np.float32)
        self._std = np.asarray(processor.get("image_std", CLIP_STD), dtype=np.float32)

    def __repr__(self) -> str:
        return f"ClipEncoder({self.model_id!r}, dim={self.dim})"

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the tokens of ``text`` (for chunking long texts)."""
        return hf_token_spans(self._tokenizer, text)

    def encode(
        self, items: Sequence[str], role: Role = "document", *, progress: bool = False
    ) -> np.ndarray:
        """Text tower: projected, L2-normalised text features (truncated to max_tokens)."""
        require_text_list(items)
        return self._batched(list(items), self._text_features)

    def encode_images(self, images: Sequence[ImageLike]) -> np.ndarray:
        """Image tower: projected, L2-normalised image features."""
        if isinstance(images, str | Path) or not isinstance(images, Sequence):
            raise InvalidInputError("encode_images() takes a list of images; wrap one in [ ]")
        return self._batched(list(images), self._image_features)

    def _batched(self, items: list[Any], features: Callable[[list[Any]], Tensor]) -> np.ndarray:
        out = np.empty((len(items), self.dim), dtype=np.float32)
        for start in range(0, len(items), self.batch_size):
            batch = items[start : start + self.batch_size]
            with self._torch.inference_mode():
                out[start : start + len(batch)] = features(batch).float().numpy()
        return l2_normalise(out)

    def _text_features(self, texts: list[str]) -> Tensor:
        inputs = self._tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt"
        )
        inputs.pop("token_type_ids", None)  # CLIP's text tower takes ids and mask only
        return self._model.get_text_features(**inputs).pooler_output

    def _image_features(self, images: list[ImageLike]) -> Tensor:
        batch = np.stack([pixels(to_rgb(im), self._side, self._mean, self._std) for im in images])
        return self._model.get_image_features(
            pixel_values=self._torch.from_numpy(batch)
        ).pooler_output


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}
