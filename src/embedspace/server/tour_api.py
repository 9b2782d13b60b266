"""``GET /tour/data``: the tour page's figures, computed by the packaged models (once per
process: the models never change while it runs, so neither do the figures)."""

from __future__ import annotations

import threading

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from ..analysis import tour
from ..encoders.registry import load_encoder, load_image_encoder, words
from ..encoders.reranker import packaged_reranker
from .access import READ
from .schemas import TourResponse

router = APIRouter(tags=["tour"], dependencies=[READ])
_lock = threading.Lock()
_cached: list[TourResponse] = []


def _compute() -> TourResponse:
    with _lock:
        if not _cached:
            text = load_encoder("default")
            _cached.append(
                TourResponse(
                    shared_space=tour.shared_space(text, load_image_encoder(text)),
                    analogy=tour.analogy_arrows(words()),
                    representations=tour.representations(),
                    pairs=tour.pair_table(text),
                    negation=tour.negation(text, packaged_reranker()),
                )
            )
        return _cached[0]


@router.get("/tour/data", response_model=TourResponse)
async def tour_data() -> TourResponse:
    """Words, sentences and photos on one map; king - man + woman; two text pairs under
    one-hot / bag-of-words / TF-IDF / dense; negation, bi-encoder vs cross-encoder."""
    return await run_in_threadpool(_compute)
