"""space.map(): the neighbour-preserving default, its cache, incremental placement, the
PCA fallback (never silent), samples of large spaces, and bad input.

Vectors are GloVe's (real, packaged, no encoding needed), in bring-your-own-vector spaces.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import embedspace as es
from embedspace.analysis import layout, mapping
from embedspace.errors import EmbedspaceWarning, InvalidInputError, MissingDependencyError

pytest.importorskip("umap", reason="the map extra (umap-learn) is not installed")


@pytest.fixture(scope="module")
def glove():
    from embedspace.encoders.packaged import glove_vectors_file

    vectors = np.load(glove_vectors_file(), mmap_mode="r")[:3000].astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [str(w) for w in es.words().vocabulary(3000)], vectors


def _space(path, names, vectors):
    space = es.Space(path, model=None, dim=vectors.shape[1], progress=False)
    space.add_vectors(vectors, ids=names)
    return space


def _kept(matrix: np.ndarray, xy: np.ndarray, k: int = 10) -> float:
    """Share of each row's k nearest (cosine) that are among its k nearest on the map."""
    high = np.argsort(-(matrix @ matrix.T), axis=1)[:, 1 : k + 1]
    d = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    low = np.argsort(d, axis=1)[:, :k]
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(high, low, strict=True)]))


def test_default_map_keeps_neighbours_far_better_than_pca(tmp_path, glove):
    names, vectors = glove
    with _space(tmp_path / "words.space", names[:2000], vectors[:2000]) as space:
        space_map = space.map()
        pca = space.map(method="pca")
        spot = space_map.place(vectors[:1])[0]  # a query lands where its nearest items are
    assert space_map.method == "umap" and pca.method == "pca"
    assert isinstance(space_map.ids, list) and space_map.ids == names[:2000]
    assert space_map.xy.dtype == np.float32 and space_map.xy.shape == (2000, 2)
    assert np.abs(space_map.xy).max() <= 1.0 + 1e-6 and space_map.notice is None
    kept, kept_pca = _kept(vectors[:2000], space_map.xy), _kept(vectors[:2000], pca.xy)
    assert kept >= 3 * kept_pca and kept > 0.1, (kept, kept_pca)
    assert np.linalg.norm(spot - space_map.xy[0]) < 0.1


def _counting_layout(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = mapping.neighbour_layout

    def counted(matrix, graph, **kw):
        calls.append(len(matrix))
        return real(matrix, graph, **kw)

    monkeypatch.setattr(mapping, "neighbour_layout", counted)
    return calls


def test_layout_is_cached_new_items_are_placed_and_relayout_on_demand(tmp_path, glove, monkeypatch):
    names, vectors = glove
    calls = _counting_layout(monkeypatch)
    path = tmp_path / "words.space"
    with _space(path, names[:600], vectors[:600]) as space:
        first = space.map()
        assert calls == [600] and (path / mapping.CACHE_FILE).exists()
    with es.Space(path, create=False, progress=False) as space:  # reopened: from the cache
        again = space.map()
        np.testing.assert_array_equal(again.xy, first.xy)
        assert calls == [600]
        space.add_vectors(vectors[600:700], ids=names[600:700])
        grown = space.map()
        assert calls == [600] and len(grown.ids) == 700  # placed, not laid out again
        # each new word sits on the map among its nearest laid-out words
        row = {id_: i for i, id_ in enumerate(grown.ids)}
        spread = np.median(np.linalg.norm(grown.xy[:600] - grown.xy[:600].mean(0), axis=1))
        for name, vector in zip(names[600:700], vectors[600:700], strict=True):
            nearest = np.argsort(-(vectors[:600] @ vector))[:5]
            gap = np.linalg.norm(grown.xy[row[name]] - np.median(grown.xy[nearest], axis=0))
            assert gap < 0.05 * spread
        space.delete(names[:50])
        shrunk = space.map()
        assert calls == [600] and shrunk.ids == names[50:700]
        space.map(relayout=True)
        assert calls == [600, 650]
        space.add_vectors(vectors[700:2000], ids=names[700:2000])  # most items new: redo
        assert len(space.map().ids) == 1950 and calls == [600, 650, 1950]


def test_a_damaged_cache_means_a_new_layout_not_an_error(tmp_path, glove, monkeypatch):
    names, vectors = glove
    calls = _counting_layout(monkeypatch)
    with _space(tmp_path / "w.space", names[:300], vectors[:300]) as space:
        space.map()
        (tmp_path / "w.space" / mapping.CACHE_FILE).write_bytes(b"not a numpy file")
        assert len(space.map().ids) == 300 and calls == [300, 300]


def test_tiny_and_identical_spaces(tmp_path):
    for n in (1, 2):
        with es.Space(tmp_path / f"s{n}.space", model=None, dim=4, progress=False) as space:
            space.add_vectors(np.eye(4, dtype=np.float32)[:n], ids=[str(i) for i in range(n)])
            with pytest.warns(EmbedspaceWarning, match="too few"):
                space_map = space.map()
            assert space_map.method == "pca" and "too few" in space_map.notice
            assert space_map.xy.shape == (n, 2) and np.isfinite(space_map.xy).all()
    with es.Space(tmp_path / "same.space", model=None, dim=8, progress=False) as space:
        space.add_vectors(np.ones((40, 8), np.float32), ids=[str(i) for i in range(40)])
        space_map = space.map()
        assert space_map.xy.shape == (40, 2) and np.isfinite(space_map.xy).all()


def test_without_umap_the_map_is_pca_and_says_so(tmp_path, glove, monkeypatch):
    names, vectors = glove

    def missing():
        raise MissingDependencyError("the neighbour-preserving map needs umap-learn: pip ...")

    monkeypatch.setattr(mapping, "neighbour_layout_available", lambda: False)
    monkeypatch.setattr(mapping, "umap_module", missing)
    with _space(tmp_path / "w.space", names[:100], vectors[:100]) as space:
        with pytest.warns(EmbedspaceWarning, match="umap-learn"):
            space_map = space.map()
        assert space_map.method == "pca" and "embedspace[map]" in space_map.notice
        with pytest.raises(MissingDependencyError, match="umap-learn"):
            space.map(method="umap")
        with pytest.raises(InvalidInputError, match="method must be one of"):
            space.map(method="tsne")


def test_a_large_space_is_sampled_and_says_so(tmp_path, glove, monkeypatch):
    names, vectors = glove
    monkeypatch.setattr(mapping, "MAP_SAMPLE", 500)
    with _space(tmp_path / "w.space", names[:1500], vectors[:1500]) as space:
        space_map = space.map()
        assert len(space_map.ids) == 500 and space_map.total == 1500
        assert "sample: 500 of 1,500" in space_map.notice
        assert space_map.to_columns()["total"] == 1500
        space.add_vectors(vectors[1500:1600], ids=names[1500:1600])
        later = space.map(method="pca")
        assert len(set(later.ids) & set(space_map.ids)) > 450  # most of the sample stays


def test_a_write_during_the_layout_leaves_the_map_stale_not_wrong(tmp_path, glove, monkeypatch):
    names, vectors = glove
    path = tmp_path / "w.space"
    real = mapping.neighbour_layout

    def write_meanwhile(matrix, graph, **kw):
        with es.Space(path, create=False, progress=False) as writer:
            writer.add_vectors(vectors[300:301], ids=names[300:301])
        return real(matrix, graph, **kw)

    monkeypatch.setattr(mapping, "neighbour_layout", write_meanwhile)
    with _space(path, names[:300], vectors[:300]) as space:
        space_map = space.map()
        assert len(space_map.ids) == 300 and space_map.generation != space.generation
        monkeypatch.setattr(mapping, "neighbour_layout", real)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert len(space.map().ids) == 301  # the new item, placed


def test_place_near_is_the_median_of_the_nearest():
    rng = np.random.default_rng(0)
    known = rng.normal(size=(40, 8)).astype(np.float32)
    known /= np.linalg.norm(known, axis=1, keepdims=True)
    xy = rng.normal(size=(40, 2)).astype(np.float32)
    new = known[:3] + 0.1 * rng.normal(size=(3, 8)).astype(np.float32)
    placed = layout.place_near(known, xy, new)
    for row, vector in zip(placed, new, strict=True):
        nearest = np.argsort(-(known @ vector))[: layout.PLACE_NEIGHBOURS]
        np.testing.assert_allclose(row, np.median(xy[nearest], axis=0), atol=1e-6)


def test_each_named_vector_has_its_own_layout_and_a_reembed_lays_out_again(
    tmp_path, glove, monkeypatch
):
    names, _ = glove
    calls = _counting_layout(monkeypatch)
    path = tmp_path / "words.space"
    with es.Space(path, model="glove", vectors={"mini": "default"}, progress=False) as space:
        space.add(names[:300], ids=names[:300])
        words, mini = space.map(), space.map(using="mini")
        assert calls == [300, 300] and words.ids == mini.ids == names[:300]
        assert (path / mapping.CACHE_FILE).exists() and (path / mapping.cache_file("mini")).exists()
        assert not np.allclose(words.xy, mini.xy)  # two spaces, two maps
        np.testing.assert_array_equal(space.map(using="mini").xy, mini.xy)  # cached
        assert calls == [300, 300]
        with pytest.raises(InvalidInputError, match="no vector named 'nope'"):
            space.map(using="nope")
        space.reembed("default+dim=128")  # the main vectors change model: a new layout
        space.map()
        assert calls == [300, 300, 300]
