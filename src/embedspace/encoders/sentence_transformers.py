"""Any sentence-transformers model (local folder or hub id), run by sentence-transformers.

This is the path for users who bring a model we have no ONNX file for, and our fp32
quality reference for the packaged int8 model. It needs the optional ``torch`` extra;
the default path never imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import MissingDependencyError, NotSupportedError
from .base import Role, hf_token_spans, l2_normalise, require_text_list
from .text import file_fingerprint


class SentenceTransformerEncoder:
    """Wraps ``sentence_transformers.SentenceTransformer`` behind the Encoder protocol."""

    modalities: tuple[str, ...] = ("text",)

    def __init__(self, name_or_path: str | Path, *, name: str | None = None) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise MissingDependencyError(
                f"loading {name_or_path} needs sentence-transformers and torch: "
                "pip install torch==2.13.0 'embedspace[train]'"
            ) from exc
        self._model = SentenceTransformer(str(name_or_path), device="cpu")
        path = Path(name_or_path)
        weights = path / "model.safetensors"
        fingerprint = file_fingerprint(weights) if weights.is_file() else "hub"
        self.name = name or (path.name if path.exists() else str(name_or_path))
        self.model_id = f"{self.name}@{fingerprint}"
        dim_of = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        dim, max_tokens = dim_of(), self._model.max_seq_length
        if dim is None or max_tokens is None:  # sentence-transformers: "not known"
            raise NotSupportedError(
                f"{name_or_path} does not declare its embedding dimension and token limit "
                f"(got {dim} and {max_tokens}); a space needs both to store and chunk"
            )
        self.dim = int(dim)
        self.max_tokens = int(max_tokens)

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of content tokens, from the model's own (fast) tokenizer."""
        return hf_token_spans(self._model.tokenizer, text)

    def encode(
        self, items: Sequence[str], role: Role = "document", *, progress: bool = False
    ) -> np.ndarray:
        require_text_list(items)
        if not items:
            return np.empty((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(items), batch_size=32, show_progress_bar=progress, convert_to_numpy=True
        )
        return l2_normalise(vectors)
