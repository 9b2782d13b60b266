"""Vector indexes: recall at default parameters, deletes, filters, save/load; and the
Space choosing, persisting and repairing its ANN index."""

from __future__ import annotations

import numpy as np
import pytest

import embedspace as es
from embedspace.index.compressed import BinaryIndex
from embedspace.index.exact import ExactIndex
from embedspace.index.factory import load_index, make_index

ANN_KINDS = ("hnsw", "ivf", "ivfpq", "int8", "binary")


@pytest.fixture(scope="module")
def clustered():
    """8,000 64-d vectors in 40 gaussian clusters (fixed seed) and 100 held-out queries."""
    rng = np.random.default_rng(42)
    centres = rng.normal(size=(40, 64))
    data = centres[rng.integers(0, 40, 8100)] + 0.35 * rng.normal(size=(8100, 64))
    data = (data / np.linalg.norm(data, axis=1, keepdims=True)).astype(np.float32)
    return data[:8000], data[8000:]


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)])


@pytest.fixture(scope="module")
def truth(clustered):
    data, queries = clustered
    exact = ExactIndex(64, "cosine")
    exact.add(np.arange(len(data)), data)
    return exact.search(queries, 10)[0]


def test_exact_index_adds_in_any_label_order(clustered, truth):
    data, queries = clustered
    half = len(data) // 2
    index = ExactIndex(64, "cosine")
    index.add(np.arange(half, len(data)), data[half:])  # later labels first
    index.add(np.arange(half), data[:half])
    assert (index.labels() == np.arange(len(data))).all()
    assert (index.search(queries, 10)[0] == truth).all()


# Binary codes keep one bit per dimension: 64 bits cannot rank 64-d data; they are for
# 384-d embeddings, where test_space_with_ann_index_matches_exact checks them.
@pytest.mark.parametrize("kind", [k for k in ANN_KINDS if k != "binary"])
def test_recall_at_default_params(kind, clustered, truth):
    data, queries = clustered
    index = make_index(kind, 64, "cosine")
    index.add(np.arange(len(data)), data)
    assert len(index) == len(data)
    if getattr(index, "approximate_scores", False):
        # PQ scores are approximate: its top-100 must hold the true top-10 for re-scoring
        assert _recall(index.search(queries, 100)[0], truth) >= 0.9
    else:
        assert _recall(index.search(queries, 10)[0], truth) >= 0.9


@pytest.mark.parametrize("kind", ("exact",) + ANN_KINDS)
def test_deletes_never_come_back_and_filters_hold(kind, clustered, tmp_path):
    data, queries = clustered
    index = make_index(kind, 64, "cosine")
    index.add(np.arange(len(data)), data)
    removed = np.arange(0, len(data), 2)
    assert index.remove(removed) == len(removed)
    labels, _ = index.search(queries, 10)
    assert not np.isin(labels, removed).any()
    allowed = np.arange(1, 400, 2)  # a selective filter: 200 of 8,000
    labels, scores = index.search(queries[:10], 10, allowed)
    assert np.isin(labels, allowed).all() and np.isfinite(scores).all()  # still k results
    if kind != "exact":
        index.save(tmp_path / "x.faiss")
        again = load_index(kind, tmp_path / "x.faiss")
        assert not np.isin(again.search(queries, 10)[0], removed).any()
        np.testing.assert_array_equal(again.labels(), index.labels())


def test_hnsw_graph_is_renumbered_for_locality_and_labels_follow(clustered, truth):
    import faiss

    data, queries = clustered
    index = make_index("hnsw", 64, "cosine")
    labels = np.arange(len(data)) * 3 + 1  # labels unlike positions: the id map must follow
    index.add(labels, data)
    graph = faiss.downcast_index(index._index.index)
    origin = (faiss.vector_to_array(index._index.id_map) - 1) // 3  # insertion row of each node
    assert not np.array_equal(origin, np.arange(len(data)))  # it was renumbered
    np.testing.assert_allclose(graph.storage.reconstruct_n(0, len(data)), data[origin], atol=1e-6)
    # base-layer neighbours sit closer in memory than in insertion order
    offsets = faiss.vector_to_array(graph.hnsw.offsets).astype(np.int64)
    width = graph.hnsw.nb_neighbors(0)
    neighbours = faiss.vector_to_array(graph.hnsw.neighbors)[
        offsets[:-1, None] + np.arange(width)[None, :]
    ]
    node, neighbour = np.nonzero(neighbours >= 0)[0], neighbours[neighbours >= 0]
    now = np.median(np.abs(node - neighbour))
    before = np.median(np.abs(origin[node] - origin[neighbour]))
    assert now < 0.75 * before
    found = index.search(queries, 10)[0]
    assert _recall((found - 1) // 3, truth) >= 0.9


def test_euclidean_and_dot_scores_are_higher_is_closer():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(500, 16)).astype(np.float32)
    for metric in ("euclidean", "dot"):
        exact, hnsw = make_index("exact", 16, metric), make_index("hnsw", 16, metric)
        for index in (exact, hnsw):
            index.add(np.arange(500), data)
        e_labels, e_scores = exact.search(data[:5], 3)
        h_labels, h_scores = hnsw.search(data[:5], 3)
        assert (np.diff(e_scores, axis=1) <= 1e-6).all()
        np.testing.assert_allclose(
            h_scores, e_scores, rtol=1e-4, atol=5e-3
        )  # sqrt of fp32 rounding near 0
        if metric == "euclidean":
            assert (e_labels[:, 0] == np.arange(5)).all() and np.allclose(
                e_scores[:, 0], 0, atol=5e-3
            )


@pytest.fixture(scope="module")
def review_vectors(demo_docs, encoder):
    texts = [d.text for d in demo_docs if d.metadata["kind"] != "plot"][:3000]
    return texts, encoder.encode(texts)


@pytest.mark.parametrize("kind", ANN_KINDS)
def test_space_with_ann_index_matches_exact(kind, review_vectors, tmp_path):
    texts, vectors = review_vectors
    ids = [f"r{i}" for i in range(len(texts))]
    meta = [{"even": i % 2 == 0} for i in range(len(texts))]
    with (
        es.Space(tmp_path / "exact.space", model=None, dim=384, index="exact") as exact,
        es.Space(tmp_path / "ann.space", model=None, dim=384, index=kind) as ann,
    ):
        for sp in (exact, ann):
            sp.add_vectors(vectors, ids=ids, metadata=meta, texts=texts)
        queries = vectors[:50] + 0.01
        overlap = np.mean(
            [
                len(
                    {h.id for h in ann.search_vector(q, k=10)}
                    & {h.id for h in exact.search_vector(q, k=10)}
                )
                / 10
                for q in queries
            ]
        )
        assert overlap >= 0.9
        assert ann.info()["index"] == kind
        assert all(
            h.metadata["even"] for h in ann.search_vector(queries[0], k=10, where={"even": True})
        )
        ann.delete(ids[:100])
        assert not {h.id for h in ann.search_vector(vectors[0], k=20)} & set(ids[:100])
    # reopen: the saved index is reused and still excludes deleted items
    assert (tmp_path / "ann.space" / f"index-{kind}.faiss").exists()
    with es.Space(tmp_path / "ann.space", model=None, index=kind) as again:
        assert not {h.id for h in again.search_vector(vectors[0], k=20)} & set(ids[:100])
        assert again.search_vector(vectors[150], k=1)[0].id == "r150"


def test_damaged_or_stale_index_file_is_repaired(review_vectors, tmp_path):
    texts, vectors = review_vectors
    path = tmp_path / "h.space"
    with es.Space(path, model=None, dim=384, index="hnsw") as sp:
        sp.add_vectors(vectors[:1000], ids=[f"r{i}" for i in range(1000)])
        sp.search_vector(vectors[0], k=1)
    # another process (index="exact") adds items: the saved HNSW file is now stale
    with es.Space(path, model=None, index="exact") as sp:
        sp.add_vectors(vectors[1000:1200], ids=[f"r{i}" for i in range(1000, 1200)])
    with es.Space(path, model=None, index="hnsw") as sp:
        assert sp.search_vector(vectors[1100], k=1)[0].id == "r1100"
    (path / "index-hnsw.faiss").write_bytes(b"not a faiss index")
    with es.Space(path, model=None, index="hnsw") as sp:
        assert sp.search_vector(vectors[5], k=1)[0].id == "r5"


def test_auto_switches_to_hnsw_above_threshold(review_vectors, tmp_path, monkeypatch):
    import embedspace.search.view as view

    monkeypatch.setattr(view, "AUTO_ANN_THRESHOLD", 500)
    texts, vectors = review_vectors
    with es.Space(tmp_path / "auto.space", model=None, dim=384) as sp:
        sp.add_vectors(vectors[:400], ids=[f"r{i}" for i in range(400)])
        sp.search_vector(vectors[0], k=1)
        assert sp.info()["index"] == "exact"
        sp.add_vectors(vectors[400:800], ids=[f"r{i}" for i in range(400, 800)])
        assert sp.search_vector(vectors[600], k=1)[0].id == "r600"
        assert sp.info()["index"] == "hnsw"


def test_truncated_first_stage_with_full_rescoring(review_vectors, tmp_path):
    texts, vectors = review_vectors
    ids = [f"r{i}" for i in range(len(texts))]
    with (
        es.Space(tmp_path / "e.space", model=None, dim=384, index="exact") as exact,
        es.Space(tmp_path / "t.space", model=None, dim=384, index="truncated", prefix=192) as cut,
    ):
        for sp in (exact, cut):
            sp.add_vectors(vectors, ids=ids)
        queries = vectors[:40] + 0.01
        pairs = [(cut.search_vector(q, k=10), exact.search_vector(q, k=10)) for q in queries]
        overlap = np.mean([len({h.id for h in a} & {h.id for h in b}) / 10 for a, b in pairs])
        assert overlap >= 0.9
        # scores come from the full vectors (second stage), so they equal exact scores
        assert np.isclose(pairs[0][0][0].score, pairs[0][1][0].score, atol=1e-5)
    with pytest.raises(es.InvalidInputError, match="prefix"):
        make_index("truncated", 384, "cosine", prefix=500)


def test_one_table_makes_and_loads_every_kind_and_refuses_the_rest(tmp_path):
    """Unknown kinds raise for make and load alike; kinds never saved are not loaded as
    IVF (the old fallback) but refused."""
    path = tmp_path / "index-truncated.faiss"
    path.write_bytes(b"")
    with pytest.raises(es.InvalidInputError, match="never saved"):
        load_index("truncated", path)
    with pytest.raises(es.InvalidInputError, match="never saved"):
        load_index("exact", path)
    with pytest.raises(es.InvalidInputError, match="index must be one of"):
        load_index("annoy", path)
    with pytest.raises(es.InvalidInputError, match="index must be one of"):
        make_index("annoy", 16, "cosine")
    assert make_index("ivfpq", 384, "cosine").params["pq_m"] == 96  # dimension-derived default
    assert isinstance(make_index("binary", 16, "cosine", nlist=4), BinaryIndex)  # untuned kind
