"""Deprecated location of the int8 / binary codes and ``CompressedIndex``.

Why it still exists: the README names ``embedspace.encoders.quantization.CompressedIndex``;
quantisation is not an encoder, so the code now lives in ``embedspace.index``. Names are
resolved lazily, with a warning, so importing ``embedspace.encoders`` never pulls in the
index layer.
"""

from __future__ import annotations

import warnings
from typing import Any

_MOVED = frozenset(
    {"CompressedIndex", "Int8Codes", "QUANTIZATIONS", "Quantization"}
    | {"hamming_scores", "quantize_binary", "quantize_int8"}
)


def __getattr__(name: str) -> Any:
    """The moved name from its new module, with a DeprecationWarning naming it."""
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"embedspace.encoders.quantization.{name} moved to embedspace.index.quantization",
        DeprecationWarning,
        stacklevel=2,
    )
    from ..index import quantization

    return getattr(quantization, name)
