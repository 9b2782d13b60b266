"""The 2-D map: PCA axes, scaling, and queries placed on the same map."""

from __future__ import annotations

import numpy as np

from embedspace.analysis.projection import pca_map


def test_axes_match_an_svd_and_queries_land_where_items_do():
    rng = np.random.default_rng(0)
    spread = np.array([5.0, 2.0] + [0.3] * 30)
    vectors = (rng.normal(size=(500, 32)) * spread).astype(np.float32) + 1.0
    space_map = pca_map([str(i) for i in range(500)], [""] * 500, [{}] * 500, vectors, 7)
    centred = vectors - vectors.mean(axis=0)
    _, _, vt = np.linalg.svd(centred.astype(np.float64), full_matrices=False)
    cosines = np.abs(np.sum(space_map.axes * vt[:2].T, axis=0))
    np.testing.assert_allclose(cosines, 1.0, atol=1e-4)
    assert np.abs(space_map.xy).max() == np.float32(1.0)
    np.testing.assert_allclose(space_map.place(vectors[:3]), space_map.xy[:3], atol=1e-5)
    again = pca_map(space_map.ids, space_map.texts, space_map.metadata, vectors, 7)
    np.testing.assert_array_equal(again.xy, space_map.xy)  # same data, same picture


def test_tiny_maps_do_not_fail():
    for n in (0, 1, 2):
        space_map = pca_map([str(i) for i in range(n)], [""] * n, [{}] * n, np.eye(4)[:n], 0)
        assert space_map.xy.shape == (n, 2) and np.isfinite(space_map.xy).all()


def test_colour_groups_and_keys():
    metadata = [{"kind": "a", "n": 1}, {"kind": "b"}, {"tags": ["x"]}, {"kind": None}]
    space_map = pca_map(["1", "2", "3", "4"], [""] * 4, metadata, np.eye(4), 0)
    assert space_map.keys() == ["kind", "n"]
    assert space_map.groups("kind") == ["a", "b", "", ""]
    assert space_map.to_columns("kind")["groups"] == ["a", "b", "", ""]
