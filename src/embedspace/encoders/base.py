"""The Encoder protocol: anything -> L2-normalised float32 vectors.

Every encoder (ONNX text model, sentence-transformers model, remote API, image tower)
satisfies this small protocol so the store, index and search layers never care which
model produced a vector. ``model_id`` is what a space records to refuse mixing vectors
from different models.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

Role = Literal["query", "document"]
ROLES: tuple[Role, ...] = ("query", "document")


@runtime_checkable
class Encoder(Protocol):
    """Turns items into vectors in one space."""

    #: Stable identity of the model (name plus a weights fingerprint).
    model_id: str
    #: What the encoder accepts, e.g. ``("text",)``.
    modalities: tuple[str, ...]

    @property
    def dim(self) -> int:
        """Output dimension (read-only here, so an encoder may find it out lazily, as a
        remote model does with its first request)."""
        ...

    def encode(
        self, items: Sequence[str], role: Role = "document", *, progress: bool = False
    ) -> np.ndarray:
        """Return a float32 array (len(items), dim), each row L2-normalised."""
        ...


@runtime_checkable
class TokenizingEncoder(Encoder, Protocol):
    """A text encoder with a token limit; the ingest layer uses it to chunk documents."""

    max_tokens: int

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character (start, end) of every content token of ``text`` (no special tokens)."""
        ...


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Normalise rows to unit length; zero rows stay zero instead of becoming NaN."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.shape[:1] == (1,) and vectors.ndim == 2:
        # One query, the search hot path: ~3 us less than the general case below, which
        # is a tenth of a small ANN search (docs/benchmarks.md, wrapper overhead).
        return vectors / max(math.sqrt(float(np.dot(vectors[0], vectors[0]))), 1e-12)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    np.maximum(norms, 1e-12, out=norms)
    return vectors / norms


def require_text_list(items: object) -> None:
    """Reject a bare string where a list of texts belongs (it would embed each letter)."""
    from ..errors import InvalidInputError

    if isinstance(items, str):
        raise InvalidInputError("encode() takes a list of texts; wrap a single text in [ ]")


def without_leading_space(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Token spans that start at their token's first character: a SentencePiece piece's
    offsets start at the space its "▁" stands for, and a chunk cut there would begin
    with it (a piece that is only that space keeps it)."""
    out = []
    for start, end in spans:
        while start < end - 1 and text[start].isspace():
            start += 1
        out.append((start, end))
    return out


def check_role(role: object) -> Role:
    """``role`` as an encoder takes it, or a clear error (a typo such as "passage" would
    otherwise embed with the wrong prefix, silently)."""
    from ..errors import InvalidInputError

    if role == "query":
        return "query"
    if role == "document":
        return "document"
    raise InvalidInputError(f"role must be one of {ROLES}, not {role!r}")


class HfTokenizer(Protocol):
    """A Hugging Face fast tokenizer, as far as :func:`hf_token_spans` calls one."""

    def __call__(
        self, text: str, *, add_special_tokens: bool, return_offsets_mapping: bool, truncation: bool
    ) -> Mapping[str, Any]: ...


def hf_token_spans(tokenizer: HfTokenizer, text: str) -> list[tuple[int, int]]:
    """Character spans of the content tokens of ``text`` from a Hugging Face fast
    tokenizer (no special tokens, no truncation): what chunking needs."""
    encoded = tokenizer(
        text, add_special_tokens=False, return_offsets_mapping=True, truncation=False
    )
    return [tuple(span) for span in encoded["offset_mapping"]]
