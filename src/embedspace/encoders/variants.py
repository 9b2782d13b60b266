"""Model-name options: ``"default+cls"`` (pooling) and ``"default+dim=128"`` (truncation).

Why options live in the name: a space records its model by name and reopens it with
``load_encoder(name)``, so a variant that changes the vectors must be spelled in the name
and must change ``model_id`` (a space never mixes vectors of two variants). The options
are ``+mean`` / ``+cls`` / ``+max`` (how token vectors are pooled into one; only for
transformer encoders whose pooling we run, i.e. ONNX ones) and ``+dim=N`` (keep the
first N dimensions and re-normalise: Matryoshka-style truncation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from .base import Encoder, Role, l2_normalise

POOLINGS = ("mean", "cls", "max")


@dataclass(frozen=True)
class Variant:
    """A base model name plus the options that change its vectors."""

    base: str
    pooling: str | None = None
    dim: int | None = None

    @classmethod
    def parse(cls, name: str) -> Variant:
        """``"default+cls+dim=128"`` -> Variant("default", "cls", 128)."""
        base, *options = name.split("+")
        pooling, dim = None, None
        for option in options:
            if option in POOLINGS:
                pooling = option
            elif option.startswith("dim=") and option[4:].isdigit() and int(option[4:]) > 0:
                dim = int(option[4:])
            else:
                raise InvalidInputError(
                    f"unknown model option {option!r} in {name!r}: use +mean, +cls, +max "
                    "or +dim=N (e.g. 'default+cls+dim=128')"
                )
        return cls(base, pooling, dim)

    def with_options(self, pooling: str | None, dim: int | None) -> Variant:
        """Explicit keyword arguments override options spelled in the name."""
        if pooling is not None and pooling not in POOLINGS:
            raise InvalidInputError(f"pooling must be one of {POOLINGS}, not {pooling!r}")
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or dim < 1):
            raise InvalidInputError(f"dim must be a positive integer, got {dim!r}")
        return Variant(self.base, pooling or self.pooling, dim or self.dim)

    def name(self) -> str:
        """The canonical spelling: base, then pooling, then dim."""
        parts = [self.base] + ([self.pooling] if self.pooling else [])
        return "+".join(parts + ([f"dim={self.dim}"] if self.dim else []))


def truncate(vectors: np.ndarray, dim: int) -> np.ndarray:
    """Keep the first ``dim`` coordinates of each row and re-normalise to unit length.

    Matryoshka-trained models pack the most information into the leading coordinates,
    so this loses little; other models (the packaged MiniLM) lose more: see
    docs/benchmarks.md for what it costs them.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    if isinstance(dim, bool) or not isinstance(dim, int) or not 0 < dim <= vectors.shape[-1]:
        raise InvalidInputError(
            f"dim must be an integer from 1 to {vectors.shape[-1]} (the model's size), got {dim!r}"
        )
    return l2_normalise(vectors[..., :dim])


class TruncatedEncoder:
    """Any encoder, cut to its first ``dim`` dimensions (re-normalised).

    Everything else (token limits, token spans for chunking, token vectors) is the base
    encoder's, so a truncated model works everywhere its base does.
    """

    def __init__(self, base: Encoder, dim: int) -> None:
        if not 0 < dim <= base.dim:
            raise InvalidInputError(f"dim must be from 1 to {base.dim} for {base.model_id}")
        self.base = base
        self.dim = dim
        self.name = (
            Variant.parse(getattr(base, "name", base.model_id)).with_options(None, dim).name()
        )
        self.model_id = f"{base.model_id}+dim={dim}"
        self.modalities = base.modalities

    def __repr__(self) -> str:
        return f"TruncatedEncoder({self.base!r}, dim={self.dim})"

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.base, attribute)

    def encode(
        self, items: Sequence[str], role: Role = "document", *, progress: bool = False
    ) -> np.ndarray:
        return truncate(self.base.encode(items, role, progress=progress), self.dim)
