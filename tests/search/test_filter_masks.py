"""A view keeps recent filters' item masks (search/view.py ``filter_mask``): the same
filter asked again is not re-read from the store, and any write makes it be re-read."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import embedspace as es


def test_repeated_filter_is_read_once_and_writes_refresh_it(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((40, 8)).astype(np.float32)
    with es.Space(tmp_path / "s", model=None, dim=8, progress=False) as space:
        space.add_vectors(vectors[:30], ids=[f"i{n}" for n in range(30)],
                          metadata=[{"team": n % 3} for n in range(30)])  # fmt: skip
        store = space._store
        reads: list[dict] = []
        original = store.filter_rowids

        def counting(where: dict) -> set[int]:
            reads.append(where)
            return original(where)

        store.filter_rowids = counting  # type: ignore[method-assign]
        for query in vectors[:5]:
            hits = space.search_vector(query, k=30, where={"team": 1})
            assert {h.id for h in hits} == {f"i{n}" for n in range(1, 30, 3)}
        assert len(reads) == 1  # five searches, equal filters (new dicts): one read
        space.search_vector(vectors[0], k=3, where={"team": 2})
        assert len(reads) == 2
        space.add_vectors(vectors[30:], ids=[f"j{n}" for n in range(10)],
                          metadata=[{"team": 1} for _ in range(10)])  # fmt: skip
        hits = space.search_vector(vectors[35], k=50, where={"team": 1})
        assert len(reads) == 3 and hits[0].id == "j5" and len(hits) == 20
        space.update("i1", metadata={"team": 0})
        hits = space.search_vector(vectors[1], k=50, where={"team": 1})
        assert "i1" not in {h.id for h in hits} and len(hits) == 19
