"""Transformer text encoder on ONNX Runtime (no torch at run time).

The pipeline mirrors sentence-transformers (Transformer -> Pooling -> Normalize) but runs
the transformer as an ONNX graph: tokenise with HF ``tokenizers``, sort the batch by
length so padding is minimal, run, pool with the attention mask, L2-normalise.
Truncation at the model's token limit is reported with a warning, never silent; the
ingest layer avoids it for documents by chunking (see ``ingest/chunking.py``).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

import numpy as np

from ..errors import EmbedspaceWarning, InvalidInputError, ModelNotFoundError
from ..progress import progress_bar
from .base import Role, l2_normalise, without_leading_space
from .runtime import (
    BATCH_TOKENS,
    cpu_session,
    cpu_workers,
    length_batches,
    padded_feeds,
    run_batches,
)

if TYPE_CHECKING:
    from tokenizers import Tokenizer

Pooling = Literal["mean", "cls", "max"]


def file_fingerprint(path: Path) -> str:
    """A short, cheap content fingerprint: size + first and last MiB, hashed.

    Why not the whole file: models can be gigabytes and we fingerprint at every open.
    """
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as handle:
        digest.update(handle.read(1 << 20))
        if size > 2 << 20:
            handle.seek(-(1 << 20), os.SEEK_END)
            digest.update(handle.read())
    return digest.hexdigest()[:12]


def _pool(hidden: np.ndarray, mask: np.ndarray, pooling: Pooling) -> np.ndarray:
    if pooling == "cls":
        return hidden[:, 0]
    weights = mask[:, :, None].astype(np.float32)
    if pooling == "max":
        return np.where(weights > 0, hidden, -np.inf).max(axis=1)
    return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)


class OnnxTextEncoder:
    """A bi-encoder whose transformer is an ONNX file and whose tokenizer is a tokenizer.json."""

    modalities: tuple[str, ...] = ("text",)

    def __init__(
        self,
        model_file: str | Path,
        tokenizer_file: str | Path | Callable[[], Tokenizer],
        *,
        name: str | None = None,
        max_tokens: int = 256,
        pooling: str = "mean",
        query_prefix: str = "",
        document_prefix: str = "",
        batch_size: int = 32,
        batch_tokens: int = BATCH_TOKENS,
        threads: int | None = None,
        model_id: str | None = None,
        recipe: str | None = None,
    ) -> None:
        from tokenizers import Tokenizer

        model_file = Path(model_file)
        # A tokenizer.json, or a function that builds a tokenizer no JSON can describe
        # (e5_onnx.py: a custom normaliser); called twice, as each copy is configured.
        make_tokenizer = (
            tokenizer_file
            if callable(tokenizer_file)
            else (lambda: Tokenizer.from_file(str(tokenizer_file)))
        )
        files = [model_file] + ([] if callable(tokenizer_file) else [Path(tokenizer_file)])
        for path in files:
            if not path.is_file():
                raise ModelNotFoundError(f"model file not found: {path}")
        if pooling not in ("mean", "cls", "max"):
            raise InvalidInputError(f"pooling must be 'mean', 'cls' or 'max', not {pooling!r}")
        self.name = name or model_file.parent.name
        self.model_id = model_id or f"{self.name}@{file_fingerprint(model_file)}"
        #: How the graph was built (e.g. "r7", see onnx_optimize.py); None for a user's file.
        self.recipe = recipe
        self.max_tokens = max_tokens
        self.pooling = cast(Pooling, pooling)  # checked above
        self.prefixes = {"query": query_prefix, "document": document_prefix}
        self.batch_size, self.batch_tokens = batch_size, batch_tokens

        self._tokenizer = make_tokenizer()
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._spans_tokenizer = make_tokenizer()
        self._spans_tokenizer.no_padding()
        self._spans_tokenizer.no_truncation()

        self._session = cpu_session(model_file)
        self._workers = cpu_workers(threads)
        self._input_names = {i.name for i in self._session.get_inputs()}
        self.dim = int(self._session.get_outputs()[0].shape[-1])

    def __repr__(self) -> str:
        return f"OnnxTextEncoder({self.model_id!r}, dim={self.dim}, pooling={self.pooling!r})"

    # -- tokens -------------------------------------------------------------------------
    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the content tokens of ``text`` (no specials, no truncation)."""
        offsets = self._spans_tokenizer.encode(text, add_special_tokens=False).offsets
        return without_leading_space(text, offsets)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts including special tokens, without truncation."""
        return [len(e.ids) for e in self._spans_tokenizer.encode_batch(list(texts))]

    def tokenize(self, text: str) -> list[str]:
        """The model's tokens for ``text`` (with special tokens, truncated like encode)."""
        return list(self._tokenizer.encode(text).tokens)

    # -- vectors ------------------------------------------------------------------------
    def encode(
        self, items: Sequence[str], role: Role = "document", *, progress: bool = False
    ) -> np.ndarray:
        """Embed texts; rows come back in input order, L2-normalised, float32."""
        return l2_normalise(self._run(items, role, progress=progress, pooling=self.pooling))

    def token_vectors(self, text: str) -> tuple[list[str], np.ndarray]:
        """Contextual vectors, one per token (specials included), before pooling."""
        encoding = self._tokenizer.encode(text)
        hidden = self._forward([encoding])[0]
        return list(encoding.tokens), hidden[: len(encoding.ids)].copy()

    def _run(
        self, items: Sequence[str], role: Role, *, progress: bool, pooling: Pooling
    ) -> np.ndarray:
        if isinstance(items, str):
            raise InvalidInputError("encode() takes a list of texts; wrap a single text in [ ]")
        prefix = self.prefixes.get(role, "")
        texts = [prefix + t for t in items]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(texts)
        truncated = sum(1 for e in encodings if e.overflowing)
        if truncated:
            warnings.warn(
                f"{truncated} of {len(texts)} texts exceed {self.name}'s limit of "
                f"{self.max_tokens} tokens and were truncated; add them to a Space (which "
                f"chunks long documents) or split them first",
                EmbedspaceWarning,
                stacklevel=3,
            )
        lengths = [len(e.ids) for e in encodings]
        batches = length_batches(lengths, self.batch_size, self.batch_tokens, self._workers)

        def pooled(batch_idx: np.ndarray) -> np.ndarray:
            hidden, mask = self._forward_with_mask([encodings[i] for i in batch_idx])
            return hidden if hidden.ndim == 2 else _pool(hidden, mask, pooling)

        with progress_bar(len(texts), f"encoding with {self.name}", progress) as bar:
            for batch_idx, vectors in run_batches(pooled, batches, self._workers):
                out[batch_idx] = vectors
                bar.advance(len(batch_idx))
        return out

    def _forward_with_mask(self, batch: list) -> tuple[np.ndarray, np.ndarray]:
        feeds, mask = padded_feeds(batch, self._input_names)
        return self._session.run(None, feeds)[0], mask

    def _forward(self, batch: list) -> np.ndarray:
        return self._forward_with_mask(batch)[0]
