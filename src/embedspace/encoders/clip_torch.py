"""A CLIP/SigLIP folder as transformers and torch see it: the export's source and the
reference the ONNX towers are checked against.

Why keep a torch encoder (``clip-torch:<folder or hub id>``): it is the ground truth for
someone who doubts an export of their own weights (``es.load_encoder("clip-torch:...")``
gives the same model id as the fp32 export, so the two can be compared on one space's
items), and the benchmark's baseline. Everyday use goes through ``clip:``, which runs the
exported ONNX graphs without torch (``clip.py``).

Both runtimes take their inputs from ``clip_inputs`` (the folder's tokenizer as a
``tokenizers`` file, its image processor spelled out as an ``ImageRecipe``), derived here
once from transformers' own tokenizer and image processor and checked equal to them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidInputError, MissingDependencyError, ModelNotFoundError
from .clip_base import TwoTowers
from .clip_cache import model_fingerprint, resolve_source
from .clip_inputs import ImageRecipe, TextRecipe

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from torch import Tensor, nn

#: The model types whose two towers this module knows how to call and export.
MODEL_TYPES = ("clip", "siglip")
#: Texts the tokenizer file is checked on (against transformers' tokenizer) and the
#: towers on (torch vs ONNX, fp32 vs int8): short and long, punctuation, digits, case.
CHECK_TEXTS = [
    "a photo of a cat",
    "A dog running on the beach at sunset.",
    "two people riding bicycles through a busy city street in the rain",
    "an apple",
    "a diagram of the water cycle, with arrows and labels",
    "Mountains!! reflected in a lake (at dawn), 4K",
    "a red car",
    "the word 'STOP' painted on a road sign",
    "a cup of coffee next to a laptop on a wooden desk, seen from above, soft light",
    "abstract art",
    "a child's drawing of a house with a sun in the corner",
    "food",
]


def torch_stack() -> tuple[ModuleType, ModuleType]:
    """``(torch, transformers)``, or the error that says which extra to install."""
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise MissingDependencyError(
            "exporting a CLIP/SigLIP model to ONNX (once per model; later runs need no torch) "
            "and the clip-torch: reference need torch and transformers: pip install "
            "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu, then pip install "
            "'embedspace[train]'"
        ) from exc
    return torch, transformers


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    """transformers warns that it falls back to its PIL image processor without
    torchvision: expected here, the PIL one is what ``ImageRecipe`` reproduces."""
    logger = logging.getLogger("transformers")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


@dataclass
class Reference:
    """A loaded folder: the torch model and the inputs both runtimes use."""

    folder: Path
    model_type: str
    model: Any
    hf_tokenizer: Any
    tokenizer: Tokenizer
    text: TextRecipe
    image: ImageRecipe
    dim: int
    fingerprint: str


def load_reference(folder: Path, attention: str = "eager") -> Reference:
    """Load ``folder`` with transformers; the exporter traces ``"eager"`` attention (plain
    ops), the torch encoder runs transformers' default (``"sdpa"``, its fastest on CPU)."""
    _, transformers = torch_stack()
    config_file = folder / "config.json"
    try:
        model_type = json.loads(config_file.read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(
            f"cannot load a CLIP model from {folder}: no readable config.json ({exc})"
        ) from exc
    if model_type not in MODEL_TYPES:
        raise InvalidInputError(
            f"{folder} holds a {model_type!r} model; clip: takes {' or '.join(MODEL_TYPES)} "
            "models (CLIPModel / SiglipModel folders)"
        )
    try:
        with _quiet_transformers():
            model = transformers.AutoModel.from_pretrained(folder, attn_implementation=attention)
            hf_tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(
            f"cannot load a CLIP model from {folder}: {exc}. Give a folder saved with "
            "save_pretrained (model and tokenizer)"
        ) from exc
    config = model.config
    text = _text_recipe(model_type, config, hf_tokenizer)
    return Reference(
        folder=folder,
        model_type=model_type,
        model=model.eval(),
        hf_tokenizer=hf_tokenizer,
        tokenizer=_tokenizer_file(hf_tokenizer, text.max_length, folder),
        text=text,
        image=ImageRecipe.from_processor(_image_processor(folder, model_type, config)),
        dim=int(getattr(config, "projection_dim", 0) or config.text_config.hidden_size),
        fingerprint=model_fingerprint(folder),
    )


def _text_recipe(model_type: str, config: Any, hf_tokenizer: Any) -> TextRecipe:
    limit = int(config.text_config.max_position_embeddings)
    declared = int(getattr(hf_tokenizer, "model_max_length", limit) or limit)
    pad_id = hf_tokenizer.pad_token_id
    if pad_id is None:
        raise ModelNotFoundError(
            "the folder's tokenizer has no pad token; save it with one (CLIP uses "
            "<|endoftext|>, SigLIP </s>)"
        )
    siglip = model_type == "siglip"
    return TextRecipe(min(limit, declared), int(pad_id), pad_to_max=siglip, with_mask=not siglip)


def _tokenizer_file(hf_tokenizer: Any, max_length: int, folder: Path) -> Tokenizer:
    """The folder's tokenizer as a ``tokenizers`` pipeline truncating at ``max_length``.
    A SentencePiece-only folder (SigLIP's ``spiece.model``) is converted by transformers
    when it loads; if it cannot be, the error says what is missing."""
    from tokenizers import Tokenizer

    backend = getattr(hf_tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise MissingDependencyError(
            f"the tokenizer of {folder} has no tokenizers (tokenizer.json) form, which the "
            "ONNX runtime needs; for a SentencePiece spiece.model, pip install sentencepiece "
            "so transformers can convert it, or save the folder with a tokenizer.json"
        )
    tokenizer = Tokenizer.from_str(backend.to_str())
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length)
    return tokenizer


def _image_processor(folder: Path, model_type: str, config: Any) -> dict[str, Any]:
    """The folder's image processor settings as transformers normalises them; the
    model type's defaults at the vision tower's size when the folder has none."""
    _, transformers = torch_stack()
    with _quiet_transformers():
        if (folder / "preprocessor_config.json").is_file():
            processor = transformers.AutoImageProcessor.from_pretrained(folder)
        else:
            side = int(config.vision_config.image_size)
            if model_type == "clip":
                processor = transformers.CLIPImageProcessor(
                    size={"shortest_edge": side}, crop_size={"height": side, "width": side}
                )
            else:
                processor = transformers.SiglipImageProcessor(size={"height": side, "width": side})
    return dict(processor.to_dict())


def text_module(model: Any, with_mask: bool) -> nn.Module:
    """The torch module of the text tower: ids (+ mask) -> projected features."""
    torch_stack()
    from torch import nn

    class WithMask(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
            return self.inner.get_text_features(
                input_ids=input_ids, attention_mask=attention_mask
            ).pooler_output

    class IdsOnly(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, input_ids: Tensor) -> Tensor:
            return self.inner.get_text_features(input_ids=input_ids).pooler_output

    return (WithMask() if with_mask else IdsOnly()).eval()


def vision_module(model: Any) -> nn.Module:
    """The torch module of the vision tower: pixel values -> projected features."""
    torch_stack()
    from torch import nn

    class Vision(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, pixel_values: Tensor) -> Tensor:
            return self.inner.get_image_features(pixel_values=pixel_values).pooler_output

    return Vision().eval()


class TorchClipEncoder(TwoTowers):
    """``clip-torch:<folder or hub id>``: the folder's towers run by torch."""

    def __init__(self, source: str, *, batch_size: int = 32) -> None:
        self._torch, _ = torch_stack()
        reference = load_reference(resolve_source(source), attention="sdpa")
        super().__init__(
            name=f"clip-torch:{source}",
            model_id=f"clip:{source}@{reference.fingerprint}",  # the fp32 export's id
            dim=reference.dim,
            tokenizer=reference.tokenizer,
            text=reference.text,
            image=reference.image,
            # torch spreads one batch over its own threads: whole batches of
            # ``batch_size`` texts or images, as transformers users run it
            batch_size=batch_size,
            batch_tokens=batch_size * reference.text.max_length,
            image_batch=batch_size,
        )
        self.model_type = reference.model_type
        self._text = text_module(reference.model, reference.text.with_mask)
        self._vision = vision_module(reference.model)

    def _text_vectors(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        with self._torch.inference_mode():
            tensors = {k: self._torch.from_numpy(v) for k, v in feeds.items()}
            return self._text(**tensors).float().numpy()

    def _image_vectors(self, pixels: np.ndarray) -> np.ndarray:
        with self._torch.inference_mode():
            return self._vision(self._torch.from_numpy(pixels)).float().numpy()
