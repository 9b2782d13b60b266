"""Word-vector routes (the packaged GloVe): analogies and nearest words."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from ..encoders.registry import words
from .access import READ
from .schemas import AnalogyRequest, SimilarWordsRequest, WordScore

router = APIRouter(tags=["words"], dependencies=[READ])


def _scores(pairs: list[tuple[str, float]]) -> list[WordScore]:
    return [WordScore(word=w, score=s) for w, s in pairs]


@router.post("/analogy", response_model=list[WordScore])
async def analogy(body: AnalogyRequest) -> list[WordScore]:
    """``a - b + c``, best candidates first (3CosAdd, the input words excluded)."""
    pairs = await run_in_threadpool(
        lambda: words().most_similar([body.a, body.c], [body.b], k=body.k)
    )
    return _scores(pairs)


@router.post("/words/similar", response_model=list[WordScore])
async def similar_words(body: SimilarWordsRequest) -> list[WordScore]:
    pairs = await run_in_threadpool(lambda: words().most_similar(body.word, k=body.k))
    return _scores(pairs)
