"""Images arriving over HTTP: base64 in a JSON body (no multipart dependency), checked
before any model sees them."""

from __future__ import annotations

import base64
import binascii
import io
import warnings

from PIL import Image

from .errors import ApiError


def decode_image(encoded: str) -> Image.Image:
    """A base64 PNG/JPEG/... (optionally a ``data:`` URL) as an RGB Pillow image."""
    if encoded.startswith("data:"):
        encoded = encoded.partition(",")[2]
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError("image must be base64-encoded file bytes", param="image") from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as opened:
                return opened.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError, Warning) as exc:
        raise ApiError(f"not a readable image: {exc}", param="image") from exc
