"""Real CLIP and SigLIP (``clip:<folder or hub id>``) on ONNX Runtime, no torch at run time.

Why: CLIP's two towers were trained together (contrastively, on image-caption pairs), so
it is the real thing that the packaged ConSE bridge imitates. No PyPI package ships CLIP
weights, so this path is for users who have them: a folder saved with ``save_pretrained``
(``CLIPModel`` or ``SiglipModel``, with its tokenizer) or a hub id already in the Hugging
Face cache (``clip:openai/clip-vit-base-patch32``). ``es.load_encoder("clip:...")`` or
``Space(path, model="clip:...")`` then embeds texts with the text tower and images with
the image tower, into one space.

The first use exports both towers to ONNX (``clip_export``, needs torch and the train
extra: once), checked against torch and cached (``clip_cache``); every later use, in
any process, loads the cached graphs with ONNX Runtime, tokenises with ``tokenizers`` and
preprocesses images with Pillow and numpy (``clip_inputs``), and imports no torch. A
tower runs int8 (the default text model's r7 recipe) where that kept cosine >= 0.99 to
fp32 on the export's checks, else fp32; the model id says which
(``clip:<source>@<weights fingerprint>`` for fp32, the torch path's id, plus ``-int8``,
``-int8-text`` or ``-int8-vision``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .artifacts import ShippedFolder
from .clip_base import TwoTowers
from .clip_cache import cached_export, resolve_source
from .clip_inputs import ImageRecipe, TextRecipe
from .runtime import cpu_session, cpu_workers


def _build(folder: Path, into: Path) -> None:
    from .clip_export import export_clip  # torch: only when there is no cached export

    export_clip(folder, into)


def precision_tag(precision: dict[str, str]) -> str:
    """The model id's suffix for the towers' precisions ("" when both are fp32)."""
    int8 = [tower for tower in ("text", "vision") if precision.get(tower) == "int8"]
    if len(int8) == 2:
        return "-int8"
    return f"-int8-{int8[0]}" if int8 else ""


class OnnxClipEncoder(TwoTowers):
    """A CLIP/SigLIP model's cached ONNX export: ``encode`` (text tower) and
    ``encode_images`` (image tower), both one-thread sessions, a batch per core."""

    def __init__(
        self,
        export: ShippedFolder,
        source: str,
        *,
        batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        from tokenizers import Tokenizer

        manifest: dict[str, Any] = export.manifest
        inputs = json.loads(export.file("inputs.json").read_text(encoding="utf-8"))
        self.model_type: str = manifest["model_type"]
        self.precision: dict[str, str] = dict(manifest["precision"])
        self.export_folder = export.folder
        super().__init__(
            name=f"clip:{source}",
            model_id=f"clip:{source}@{manifest['fingerprint']}{precision_tag(self.precision)}",
            dim=int(manifest["dim"]),
            tokenizer=Tokenizer.from_file(str(export.file("tokenizer.json"))),
            text=TextRecipe.from_dict(inputs["text"]),
            image=ImageRecipe.from_dict(inputs["image"]),
            workers=cpu_workers(threads),
            batch_size=batch_size,
        )
        self._text_session = cpu_session(export.file("text.onnx"))
        self._vision_session = cpu_session(export.file("vision.onnx"))

    def _text_vectors(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        return self._text_session.run(None, feeds)[0]

    def _image_vectors(self, pixels: np.ndarray) -> np.ndarray:
        return self._vision_session.run(None, {"pixel_values": pixels})[0]


def load_clip(source: str) -> OnnxClipEncoder:
    """``clip:<source>``: the cached export of ``source``, exported first if needed."""
    return OnnxClipEncoder(cached_export(resolve_source(source), _build), source)
