"""A trained bridge from the image backbone's features into a text model's space.

Why: ConSE (encoders/image.py) can only say what ImageNet's 1,000 concepts name; symbols,
drawings and icons fall between them. The bridge is LiT-style: the backbone and the text
model stay frozen and a small projection (``tools/train_bridge.py``: a 2-layer MLP
trained with CLIP's contrastive loss on the emoji and icon sets of issue 26) maps the
backbone's pooled features to where their captions' vectors lie. It ships as an npz of
a few MB and runs as two numpy matrix products: no torch at run time.

A bridge is trained against one text model, whose id it records; a space on any other
model gets ConSE alone (``load_image_encoder``), since the bridge's targets would be
another space's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from .artifacts import BRIDGE_DIR, shipped_folder
from .base import l2_normalise


@dataclass(frozen=True)
class Bridge:
    """features (n, 1280) -> unit vectors (n, dim) in ``text_model_id``'s space."""

    mean: np.ndarray
    scale: np.ndarray
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    text_model_id: str
    backbone_id: str
    #: The weight of the bridge's vector in the shipped image vector (measured on the
    #: training sources' dev split by the trainer).
    mix: float
    tag: str

    @classmethod
    def load(cls, path: Path) -> Bridge:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        return cls(
            mean=arrays["mean"].astype(np.float32),
            scale=arrays["scale"].astype(np.float32),
            w1=arrays["w1"].astype(np.float32),
            b1=arrays["b1"].astype(np.float32),
            w2=arrays["w2"].astype(np.float32),
            b2=arrays["b2"].astype(np.float32),
            text_model_id=str(arrays["text_model_id"]),
            backbone_id=str(arrays["backbone_id"]),
            mix=float(arrays["mix"]),
            tag=str(arrays["tag"]),
        )

    def project(self, features: np.ndarray) -> np.ndarray:
        hidden = np.maximum((features - self.mean) * self.scale @ self.w1 + self.b1, 0.0)
        return l2_normalise((hidden @ self.w2 + self.b2).astype(np.float32))


@cache
def shipped_bridge() -> Bridge:
    """The bridge that ships inside embedspace (``models/image-bridge``, written by
    ``tools/train_bridge.py``), verified against its manifest."""
    return Bridge.load(shipped_folder(BRIDGE_DIR).file("bridge.npz"))
