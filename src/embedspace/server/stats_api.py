"""``GET /stats``: what the server process has cached, for whoever tunes it: the query
cache's hits, misses, hit rate and bytes (``encoders/query_cache.py``), shared by every
space this server serves."""

from __future__ import annotations

from fastapi import APIRouter

from ..encoders.query_cache import QUERY_CACHE
from .access import READ
from .schemas import QueryCacheStats, ServerStats

router = APIRouter(tags=["spaces"])


@router.get("/stats", response_model=ServerStats, dependencies=[READ])
async def stats() -> ServerStats:
    return ServerStats(query_cache=QueryCacheStats(**QUERY_CACHE.stats().to_dict()))
