"""``/v1/embeddings`` and ``/v1/models``, wire-compatible with OpenAI's API.

The official ``openai`` client works unchanged with ``base_url=http://127.0.0.1:8765/v1``.
It asks for base64 by default: little-endian float32 bytes, exactly as OpenAI sends them.
One route serves every space: ``model`` picks a space (among those the key may read)
whose model it names, since each space embeds with its own model.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
from fastapi import APIRouter, Request

from .access import READ, principal_of
from .errors import ApiError
from .limits import work
from .schemas import Embedding, EmbeddingRequest, EmbeddingResponse, ModelCard, ModelList, Usage

router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[READ])


def _texts(raw: Any) -> list[str]:
    """OpenAI's ``input``: a string or a list of strings. Token-id arrays are refused:
    ids of OpenAI's tokenizer mean nothing to this model's."""
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not texts:
        raise ApiError("input must be a string or a non-empty list of strings", param="input")
    if any(isinstance(t, int | list) for t in texts):
        raise ApiError(
            "token-id arrays are not supported: send text (this model has its own tokenizer)",
            param="input",
            code="unsupported_input",
        )
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
    if bad:
        raise ApiError(
            f"input[{bad[0]}] is empty or not a string; every input needs some text",
            param="input",
        )
    return texts


def _encode(vector: np.ndarray, encoding_format: str) -> list[float] | str:
    if encoding_format == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return vector.astype(float).tolist()


@router.post("/embeddings", response_model=EmbeddingResponse)
async def create_embeddings(body: EmbeddingRequest, request: Request) -> EmbeddingResponse:
    service = request.app.state.registry.for_model(body.model, principal_of(request))
    texts = _texts(body.input)
    service.check_batch(len(texts), "input")
    vectors, tokens = await work(request, service.embed, texts, body.dimensions)
    return EmbeddingResponse(
        data=[
            Embedding(index=i, embedding=_encode(v, body.encoding_format))
            for i, v in enumerate(vectors)
        ],
        model=body.model,
        usage=Usage(prompt_tokens=tokens, total_tokens=tokens),
    )


@router.get("/models", response_model=ModelList)
async def list_models(request: Request) -> ModelList:
    """The models of the spaces this key may read (the space's own model each)."""
    services = request.app.state.registry.services(principal_of(request))
    names = sorted({s.model_name for s in services if s.space.encoder is not None})
    return ModelList(data=[ModelCard(id=name) for name in names])
