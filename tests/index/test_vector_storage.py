"""The chunk matrix's storage: the RAM buffer (column- or row-major) and the
memory-mapped file hold the same rows through appends, growth, deletions and a change
of layout, and picking rows scores the same by either route (gather or full scan)."""

from __future__ import annotations

import numpy as np
import pytest

from embedspace.index.exact import SCAN_INSTEAD_OF_GATHER, similarity, similarity_of_rows
from embedspace.search.vector_storage import RamVectors, make_storage


@pytest.mark.parametrize("kind", ["ram", "mmap"])
@pytest.mark.parametrize("row_major", [False, True])
def test_storage_keeps_rows_through_growth_and_deletes(kind, row_major, tmp_path):
    rng = np.random.default_rng(3)
    storage = make_storage(kind, tmp_path, 24)
    expected = np.empty((0, 24), dtype=np.float32)
    for size in (700, 1, 900, 3000):  # crosses the RAM buffer's growth steps
        page = rng.standard_normal((size, 24), dtype=np.float32)
        expected = np.concatenate([expected, page])
        np.testing.assert_array_equal(storage.append(page), expected)
        if size == 1:  # the layout changes between appends (a view's ANN index appears)
            np.testing.assert_array_equal(storage.arrange(row_major), expected)
    mask = rng.random(len(expected)) < 0.6
    np.testing.assert_array_equal(storage.keep(mask), expected[mask])
    page = rng.standard_normal((50, 24), dtype=np.float32)
    np.testing.assert_array_equal(storage.append(page), np.concatenate([expected[mask], page]))


def test_ram_storage_is_column_major_and_earlier_views_stay_valid():
    rng = np.random.default_rng(4)
    storage = RamVectors(16)
    first = rng.standard_normal((100, 16), dtype=np.float32)
    view = storage.append(first)
    assert view.strides[0] == view.itemsize  # columns are contiguous: BLAS gemv_n
    for _ in range(20):  # grows the buffer several times, writes past the old view
        storage.append(rng.standard_normal((500, 16), dtype=np.float32))
    np.testing.assert_array_equal(view, first)
    storage.keep(np.arange(len(storage.array)) % 2 == 0)
    np.testing.assert_array_equal(view, first)


def test_ram_storage_turns_row_major_and_back_keeping_its_layout_through_writes():
    rng = np.random.default_rng(6)
    storage = RamVectors(16)
    rows = rng.standard_normal((300, 16), dtype=np.float32)
    storage.append(rows)
    before = storage.array
    after = storage.arrange(row_major=True)
    assert after.flags.c_contiguous and storage.row_major  # a row is one contiguous read
    np.testing.assert_array_equal(before, rows)  # the earlier view is left intact
    more = rng.standard_normal((2000, 16), dtype=np.float32)  # grows the buffer
    assert storage.append(more).flags.c_contiguous
    mask = rng.random(2300) < 0.5
    kept = storage.keep(mask)
    assert kept.flags.c_contiguous
    np.testing.assert_array_equal(kept, np.concatenate([rows, more])[mask])
    back = storage.arrange(row_major=False)
    assert back.strides[0] == back.itemsize and not storage.row_major
    np.testing.assert_array_equal(back, kept)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_picked_rows_score_the_same_by_gather_or_scan(metric):
    rng = np.random.default_rng(5)
    storage = RamVectors(32)
    matrix = storage.append(rng.standard_normal((6400, 32), dtype=np.float32))
    queries = rng.standard_normal((3, 32), dtype=np.float32)
    few = rng.choice(len(matrix), 20, replace=False)  # below the share: gathered
    many = rng.choice(len(matrix), 2000, replace=False)  # above it: scanned
    assert len(few) < SCAN_INSTEAD_OF_GATHER * len(matrix) < len(many)
    for rows in (few, many):
        want = similarity(queries, np.ascontiguousarray(matrix[rows]), metric)
        np.testing.assert_allclose(
            similarity_of_rows(queries, matrix, rows, metric), want, rtol=1e-5, atol=1e-5
        )
