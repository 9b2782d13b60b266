"""Filters on a large space build an SQLite index on each key they use
(store/metadata_index.py): the filter then reads the index, answers exactly what the
full scan answers, and a search never waits on another writer to build it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import embedspace as es
from embedspace.store import metadata_index
from embedspace.store.filters import where_to_sql
from embedspace.store.sqlite import DB_NAME

ITEMS = 300


@pytest.fixture
def space(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> es.Space:
    monkeypatch.setattr(metadata_index, "AUTO_INDEX_FROM", ITEMS // 2)
    rng = np.random.default_rng(5)
    metadata: list[dict[str, Any]] = [
        {"bucket": n % 10, "lang": "de" if n % 3 == 0 else "en", "flag": n % 2 == 0,
         "meta": {"year": 1990 + n % 30}, **({"rare": "x"} if n % 50 == 0 else {})}
        for n in range(ITEMS)
    ]  # fmt: skip
    space = es.Space(tmp_path / "s", model=None, dim=8, progress=False)
    space.add_vectors(rng.standard_normal((ITEMS, 8)).astype(np.float32),
                      ids=[f"i{n}" for n in range(ITEMS)], metadata=metadata)  # fmt: skip
    yield space
    space.close()


def _indexes(space: es.Space) -> set[str]:
    with sqlite3.connect(space.path / DB_NAME) as conn:
        return metadata_index.indexed_keys(conn)


def _scanned(space: es.Space, where: dict[str, Any]) -> set[int]:
    """What SQLite answers with every index ignored (NOT INDEXED forces the full scan)."""
    clause, params = where_to_sql(where)
    with sqlite3.connect(space.path / DB_NAME) as conn:
        rows = conn.execute(f"SELECT rowid FROM items NOT INDEXED WHERE {clause}", params)
        return {row[0] for row in rows}


FILTERS = [
    {"bucket": 7},
    {"bucket": {"$in": [1, 2]}},
    {"bucket": {"$gte": 8}, "lang": "de"},
    {"flag": True},
    {"meta.year": {"$lt": 1995}},
    {"rare": "x"},
    {"rare": None},
    {"bucket": {"$ne": 3}},
]


def test_filters_build_key_indexes_and_answer_what_a_scan_answers(space: es.Space) -> None:
    store = space._store
    for where in FILTERS:
        assert store.filter_rowids(where) == _scanned(space, where), where
    names = {metadata_index.index_name(tuple(key.split("."))) for w in FILTERS for key in w}
    assert _indexes(space) == names
    with sqlite3.connect(space.path / DB_NAME) as conn:  # the planner does use them
        clause, params = where_to_sql({"bucket": 7})
        plan = conn.execute(f"EXPLAIN QUERY PLAN SELECT rowid FROM items WHERE {clause}", params)
        assert "items_meta:bucket" in " ".join(str(row) for row in plan)
    # writes after the index keep it true: the search answers from the new metadata
    space.update("i7", metadata={"bucket": 3})
    hits = space.search_vector(np.ones(8, dtype=np.float32), k=ITEMS, where={"bucket": 7})
    assert {h.id for h in hits} == {f"i{n}" for n in range(17, ITEMS, 10)}


def test_a_small_space_scans_without_indexes(space: es.Space, monkeypatch) -> None:
    monkeypatch.setattr(metadata_index, "AUTO_INDEX_FROM", ITEMS + 1)
    assert len(space._store.filter_rowids({"bucket": 7})) == ITEMS // 10
    assert _indexes(space) == set()


def test_a_busy_database_is_filtered_by_scan_without_waiting(space: es.Space, monkeypatch) -> None:
    other = sqlite3.connect(space.path / DB_NAME, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process is writing
    try:
        assert space._store.filter_rowids({"bucket": 7}) == _scanned(space, {"bucket": 7})
        assert _indexes(space) == set()
    finally:
        other.execute("ROLLBACK")
        other.close()
    space._store.filter_rowids({"bucket": 7})  # no retry at once: no count per filter
    assert _indexes(space) == set()
    monkeypatch.setattr(space._store, "_index_retry_after", 0.0)  # the retry time came
    space._store.filter_rowids({"bucket": 7})
    assert _indexes(space) == {"items_meta:bucket"}


def test_a_view_with_an_ann_index_holds_its_vectors_row_major(tmp_path: Path) -> None:
    """Beside an ANN index no search scans the whole matrix; filters and rescoring gather
    rows, which row-major makes one contiguous read each (search/vector_storage.py)."""
    rng = np.random.default_rng(8)
    vectors = rng.standard_normal((400, 8)).astype(np.float32)
    ids = [f"i{n}" for n in range(400)]
    metadata = [{"team": n % 4} for n in range(400)]
    answers = []
    for index in ("exact", "hnsw"):
        with es.Space(tmp_path / index, model=None, dim=8, index=index, progress=False) as sp:
            sp.add_vectors(vectors, ids=ids, metadata=metadata)
            answers.append([[h.id for h in sp.search_vector(q, k=5, where={"team": 2})]
                            for q in vectors[:20]])  # fmt: skip
            matrix = sp._view.table.matrix
            assert matrix.flags.c_contiguous == (index == "hnsw")
    assert answers[0] == answers[1]  # 100 allowed chunks: both search them exactly
