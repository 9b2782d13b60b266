"""An embedspace model as the plain float lists embedding interfaces return.

Frameworks ask for documents and queries separately (a model may embed them
differently), in lists of Python floats rather than numpy arrays. The model is loaded
once, when the adapter is made, so a bad model name fails there and not at the first
embed; loading works offline for the packaged models.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..encoders.base import Encoder
from ..encoders.registry import load_encoder
from ..validation import check_query, check_texts


class TextEmbedder:
    """Documents and queries embedded by ``model`` (a name, a folder or an Encoder)."""

    def __init__(self, model: str | Encoder = "default") -> None:
        self.encoder = load_encoder(model)

    @property
    def name(self) -> str:
        return getattr(self.encoder, "name", self.encoder.model_id)

    def documents(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit vector per text (none for an empty list: frameworks do ask)."""
        return self.encoder.encode(check_texts(texts), role="document").tolist()

    def query(self, text: str) -> list[float]:
        return self.encoder.encode([check_query(text)], role="query")[0].tolist()
