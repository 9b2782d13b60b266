"""The chunk-deletion count that lets a search view skip scanning every chunk id after a
write (store/sqlite.py ``chunks_deleted``, search/chunks.py ``catch_up``): a reader must
still see every removal another writer makes, by upsert, delete or cascade."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import embedspace as es
from embedspace.store.sqlite import SqliteStore


def unit(rng: np.random.Generator, n: int, dim: int = 8) -> np.ndarray:
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_live_ids_are_read_only_after_a_deletion(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    with es.Space(tmp_path / "s", model=None, dim=8, progress=False) as space:
        space.add_vectors(unit(rng, 5), ids=[f"i{n}" for n in range(5)])
    store = SqliteStore(tmp_path / "s")
    try:
        with store.vector_pages() as first:
            assert first.live is not None and len(first.live) == 5
            seen = first.deletions
        with store.vector_pages(5, deletions_seen=seen) as unchanged:
            assert unchanged.live is None  # nothing removed: no id scan
            assert list(unchanged.pages) == []
        store.delete(["i2"])  # the item's chunk goes by cascade
        with store.vector_pages(5, deletions_seen=seen) as after:
            assert after.live is not None and len(after.live) == 4
            assert after.deletions == seen + 1
    finally:
        store.close()


def test_a_reader_sees_another_writers_upserts_and_deletes(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    vectors = unit(rng, 30)
    ids = [f"i{n}" for n in range(30)]
    writer = es.Space(tmp_path / "s", model=None, dim=8, progress=False)
    reader = es.Space(tmp_path / "s", model=None, dim=8, progress=False)
    try:
        writer.add_vectors(vectors[:20], ids=ids[:20])
        assert reader.search_vector(vectors[3], k=1)[0].id == "i3"
        writer.add_vectors(vectors[20:], ids=ids[20:])  # additions only: the fast path
        assert reader.search_vector(vectors[25], k=1)[0].id == "i25"
        assert len(reader.ids()) == 30
        # i3 now points elsewhere: its old chunk must leave the reader's view
        writer.add_vectors(vectors[7:8], ids=["i3"])
        hits = reader.search_vector(vectors[7], k=3)
        assert {h.id for h in hits[:2]} == {"i3", "i7"}
        assert all(h.id != "i3" for h in reader.search_vector(vectors[3], k=2))
        writer.delete(["i25"])
        assert all(h.id != "i25" for h in reader.search_vector(vectors[25], k=5))
        writer.add_vectors(unit(rng, 1), ids=["new"])  # more additions after the removals
        assert reader.search_vector(vectors[7], k=30)[0].id in {"i3", "i7"}
        assert len(reader.search_vector(vectors[0], k=100)) == 30
    finally:
        writer.close()
        reader.close()


def test_appended_items_group_like_a_full_regroup(tmp_path: Path) -> None:
    """Items added after the view was built are grouped incrementally; the groups equal
    what a regroup from scratch gives."""
    rng = np.random.default_rng(2)
    with es.Space(tmp_path / "s", model=None, dim=8, progress=False) as space:
        space.add_vectors(unit(rng, 10), ids=[f"a{n}" for n in range(10)])
        space.search_vector(unit(rng, 1)[0], k=1)
        space.add_vectors(unit(rng, 10), ids=[f"b{n}" for n in range(10)])
        space.search_vector(unit(rng, 1)[0], k=1)
        table = space._view.table
        items, inverse = table.items.copy(), table.item_of_chunk.copy()
        counts = table.chunks_per_item.copy()
        table._group()
        assert (table.items == items).all() and (table.item_of_chunk == inverse).all()
        assert (table.chunks_per_item == counts).all()
