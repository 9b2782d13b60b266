"""The query-embedding cache: repeated queries are not encoded again, within a byte bound."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest

import embedspace as es
from embedspace.encoders.query_cache import (
    ENTRY_OVERHEAD,
    QUERY_CACHE,
    CachedEncoder,
    QueryCache,
)


class CountingEncoder:
    """A real model underneath, counting what it is asked to encode."""

    def __init__(self, base, model_id: str | None = None) -> None:
        self.base = base
        self.model_id = model_id or base.model_id
        self.modalities = base.modalities
        self.dim = base.dim
        self.max_tokens = base.max_tokens
        self.token_spans = base.token_spans
        self.calls: list[tuple[str, list[str]]] = []
        self._lock = threading.Lock()

    def encode(self, items: Sequence[str], role="document", *, progress=False) -> np.ndarray:
        with self._lock:
            self.calls.append((role, list(items)))
        return self.base.encode(items, role)

    def texts(self, role: str) -> list[str]:
        return [t for r, texts in self.calls if r == role for t in texts]


@pytest.fixture
def counting(encoder):
    return CountingEncoder(encoder)


def test_a_repeated_query_is_encoded_once_and_gives_the_same_vector(counting):
    cached = CachedEncoder(counting, QueryCache(1_000_000))
    first = cached.encode(["cancel my order"], role="query")
    again = cached.encode(["cancel my order", "cancel my order"], role="query")
    assert counting.texts("query") == ["cancel my order"]
    np.testing.assert_array_equal(again, np.vstack([first, first]))
    stats = cached.cache.stats()
    assert (stats.hits, stats.misses) == (2, 1) and stats.hit_rate == pytest.approx(2 / 3)


def test_documents_are_never_cached(counting):
    cached = CachedEncoder(counting, QueryCache(1_000_000))
    cached.encode(["a shop answer"])
    cached.encode(["a shop answer"])
    assert counting.texts("document") == ["a shop answer", "a shop answer"]
    assert cached.cache.stats().entries == 0


def test_the_key_holds_model_and_role(encoder):
    cache = QueryCache(1_000_000)
    one, other = CountingEncoder(encoder, "model-a"), CountingEncoder(encoder, "model-b")
    CachedEncoder(one, cache).encode(["refund"], role="query")
    CachedEncoder(other, cache).encode(["refund"], role="query")  # another model: a miss
    CachedEncoder(one, cache).encode(["refund"], role="document")  # another role: not cached
    assert one.calls == [("query", ["refund"]), ("document", ["refund"])]
    assert other.calls == [("query", ["refund"])]
    assert cache.stats().entries == 2


def test_the_byte_bound_evicts_the_least_recently_used(counting):
    entry = 384 * 4 + ENTRY_OVERHEAD + 60  # a vector, the key's overhead, a short text
    cache = QueryCache(3 * entry)
    cached = CachedEncoder(counting, cache)
    for text in ("q1", "q2", "q3"):
        cached.encode([text], role="query")
    cached.encode(["q1"], role="query")  # q1 is now the most recent
    cached.encode(["q4"], role="query")  # over the bound: q2, the oldest, goes
    stats = cache.stats()
    assert stats.evictions == 1 and stats.entries == 3 and stats.bytes <= stats.max_bytes
    counting.calls.clear()
    cached.encode(["q1", "q3", "q4"], role="query")
    assert counting.calls == []
    cached.encode(["q2"], role="query")
    assert counting.texts("query") == ["q2"]


def test_size_zero_turns_it_off_and_bad_sizes_are_refused(counting):
    cached = CachedEncoder(counting, QueryCache(0))
    cached.encode(["x"], role="query")
    cached.encode(["x"], role="query")
    assert len(counting.texts("query")) == 2
    with pytest.raises(es.InvalidInputError, match="max_bytes"):
        QueryCache(-1)


def test_cached_vectors_cannot_be_altered_through_a_result(counting):
    cached = CachedEncoder(counting, QueryCache(1_000_000))
    first = cached.encode(["hello"], role="query")
    first[0, :] = 0.0  # the caller's copy
    np.testing.assert_allclose(
        np.linalg.norm(cached.encode(["hello"], role="query")), 1.0, atol=1e-5
    )


def test_threads_share_it_safely(counting):
    cache = QueryCache(50 * (384 * 4 + ENTRY_OVERHEAD + 60))
    cached = CachedEncoder(counting, cache)
    queries = [f"query {i % 20}" for i in range(400)]
    errors: list[BaseException] = []

    def run(part: list[str]) -> None:
        try:
            for q in part:
                vector = cached.encode([q], role="query")
                assert vector.shape == (1, 384)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(queries[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    stats = cache.stats()
    assert stats.hits + stats.misses == 400 and stats.entries == 20
    assert len(counting.texts("query")) < 100  # each text encoded once, or a few times on a race


def test_a_space_searches_classifies_and_recommends_from_the_cache(tmp_path, counting):
    QUERY_CACHE.clear()
    with es.Space(tmp_path / "s.space", model=counting, progress=False) as space:
        space.add(["Refunds within 30 days.", "Cancel an order in My Orders."])
        before = space.search("money back", k=1)
        space.search("money back", k=1, mode="hybrid")
        space.classify(text="where is my parcel", labels=["shipping", "billing"])
        space.classify(text="my card was charged twice", labels=["shipping", "billing"])
        space.recommend(liked=["a refund story"], k=1)
        space.recommend(liked=["a refund story"], k=1)
        assert space.search("money back", k=1) == before
        info = space.info()["query_cache"]
    assert counting.texts("query") == ["money back", "shipping", "billing", "a refund story"]
    assert (
        info["hits"] == 5
        and info["misses"] == 4
        and info["hit_rate"] == pytest.approx(5 / 9, abs=1e-4)
    )


def test_the_size_comes_from_the_environment(monkeypatch):
    from embedspace.encoders import query_cache

    monkeypatch.setenv("EMBEDSPACE_QUERY_CACHE_MB", "0.5")
    assert query_cache._configured_bytes() == 500_000
    monkeypatch.setenv("EMBEDSPACE_QUERY_CACHE_MB", "lots")
    with pytest.warns(es.EmbedspaceWarning, match="number of megabytes"):
        assert query_cache._configured_bytes() == int(query_cache.DEFAULT_MB * 1e6)
