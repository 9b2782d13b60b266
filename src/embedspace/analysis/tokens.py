"""Contextual token vectors: the transformer's view of each token, before pooling.

Why expose them: they are what makes a transformer different from static word vectors.
GloVe has one vector for "bank"; here "bank" in "the river bank" and in "the bank
raised its rates" get different vectors because every token's vector is computed from
the whole sentence. Pooling (mean, CLS or max) then squeezes them into one sentence
vector.
"""

from __future__ import annotations

import numpy as np

from ..encoders.base import Encoder, l2_normalise
from ..encoders.registry import load_encoder
from ..errors import InvalidInputError


def token_vectors(text: str, model: str | Encoder = "default") -> tuple[list[str], np.ndarray]:
    """``(tokens, vectors)``: the model's tokens of ``text`` (special tokens such as
    ``[CLS]`` and ``[SEP]`` included) and one unit-length contextual vector per token."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError("token_vectors needs a non-empty text")
    encoder = load_encoder(model)
    compute = getattr(encoder, "token_vectors", None)
    if compute is None:
        raise InvalidInputError(
            f"{getattr(encoder, 'name', encoder.model_id)} does not expose token vectors; "
            "use an ONNX transformer such as the default model"
        )
    tokens, vectors = compute(text)
    return tokens, l2_normalise(vectors)
