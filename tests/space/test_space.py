"""The Space facade: add, search, filters, upserts, deletes, reopen, chunking."""

from __future__ import annotations

import numpy as np
import pytest

import embedspace as es

BOOKS = [
    "A nail-biting mystery that subverts expectations",
    "A gentle cookbook of Italian family recipes",
    "An introduction to gardening for small balconies",
    "The history of the Roman empire in twelve chapters",
    "A children's picture book about a sleepy bear",
    "Practical guide to personal finance and budgeting",
]
DOCS = [
    "How to train a neural network",
    "Great pizza recipes in Italy",
    "Machine learning fundamentals",
]


def test_seed_semantic_search(space):
    space.add(DOCS)
    hits = space.search("deep learning basics", k=3)
    texts = [h.text for h in hits]
    assert texts.index("Machine learning fundamentals") < texts.index(
        "Great pizza recipes in Italy"
    )
    assert texts.index("How to train a neural network") in (0, 1)
    assert all(isinstance(h, es.Hit) for h in hits)


def test_seed_bookstore_thriller(space):
    space.add(BOOKS)
    top = space.search("gripping thriller with a twist ending", k=1)[0]
    assert top.text == "A nail-biting mystery that subverts expectations"


def test_add_returns_ids_and_reopen_gives_same_space(space_path):
    with es.Space(space_path) as sp:
        ids = sp.add(BOOKS, metadata=[{"n": i} for i in range(len(BOOKS))])
        assert len(ids) == len(BOOKS) == len(sp)
    with es.Space(space_path) as again:
        assert len(again) == len(BOOKS)
        assert again.get(ids[0]).text == BOOKS[0]
        assert again.search("bear", k=1)[0].id == ids[4]


def test_ids_in_insertion_order_and_filtered_by_where(space):
    space.add(BOOKS[:4], ids=["d", "c", "b", "a"], metadata=[{"n": i} for i in range(4)])
    assert space.ids() == ["d", "c", "b", "a"]
    assert space.ids(where={"n": {"$gte": 2}}) == ["b", "a"]
    assert space.ids(where={"n": 99}) == []


def test_same_text_twice_does_not_duplicate(space):
    space.add(BOOKS)
    space.add(BOOKS)
    assert len(space) == len(BOOKS)


def test_upsert_by_id(space, encoder):
    space.add(["old text about cats"], ids=["doc"])
    before = space.vectors(["doc"])
    space.add(["old text about cats"], ids=["doc"])  # same text: no-op
    np.testing.assert_array_equal(space.vectors(["doc"]), before)
    space.add(["new text about rockets"], ids=["doc"])  # new text: re-embedded
    assert len(space) == 1
    assert space.get("doc").text == "new text about rockets"
    np.testing.assert_allclose(
        space.vectors(["doc"]), encoder.encode(["new text about rockets"]), atol=1e-5
    )


def test_update_and_delete(space):
    ids = space.add(BOOKS, ids=[f"b{i}" for i in range(len(BOOKS))])
    space.update("b0", metadata={"genre": "crime"})
    assert space.get("b0").metadata == {"genre": "crime"}
    space.update("b1", text="A field guide to birds of Europe")
    assert space.search("ornithology", k=1)[0].id == "b1"
    assert space.delete(ids[:2]) == 2
    assert len(space) == len(BOOKS) - 2
    assert all(h.id not in ids[:2] for h in space.search("birds mystery", k=10))
    with pytest.raises(es.ItemNotFoundError):
        space.get("b0")
    with pytest.raises(es.ItemNotFoundError):
        space.update("nope", text="x")


def test_metadata_filters(space):
    space.add(
        BOOKS,
        metadata=[{"lang": "en" if i % 2 else "de", "year": 2000 + i} for i in range(len(BOOKS))],
    )
    hits = space.search("a book", k=10, where={"lang": "en"})
    assert hits and all(h.metadata["lang"] == "en" for h in hits)
    hits = space.search("a book", k=10, where={"year": {"$gte": 2004}})
    assert {h.metadata["year"] for h in hits} == {2004, 2005}
    hits = space.search("a book", k=10, where={"year": {"$in": [2001, 2003]}}, mode="hybrid")
    assert {h.metadata["year"] for h in hits} <= {2001, 2003}
    with pytest.raises(es.InvalidInputError, match="operator"):
        space.search("a book", where={"year": {"$regex": "x"}})
    with pytest.raises(es.InvalidInputError):
        space.search("a book", where={"bad key') OR 1=1 --": 1})


def test_k_larger_than_space_returns_everything(space):
    space.add(BOOKS)
    assert len(space.search("anything at all", k=1000)) == len(BOOKS)
    with pytest.raises(es.InvalidInputError, match="k must be"):
        space.search("x", k=0)


def test_long_documents_are_chunked_and_hit_points_at_best_chunk(space):
    filler = " ".join(
        f"The committee discussed agenda item number {i} at length." for i in range(120)
    )
    needle = "The octopus escaped from the aquarium by squeezing through a drain pipe."
    document = filler + " " + needle + " " + filler
    space.add([document, "A short note about taxes"], ids=["long", "short"])
    assert space.info()["chunks"] > 3
    hit = space.search("how did the octopus get out of the aquarium", k=1)[0]
    assert hit.id == "long"
    assert hit.chunk is not None and needle in hit.chunk_text
    # the item's vector weighs every chunk: the unit mean of the stored chunk vectors
    space.refresh()
    table = space._view.table
    chunks = table.matrix[
        table.item_of_chunk == np.searchsorted(table.items, space._store.rowids(["long"])[0])
    ]
    mean = chunks.mean(axis=0) / np.linalg.norm(chunks.mean(axis=0))
    item, twice = space.vectors(["long"]), space.vectors(["short", "long", "long"])
    np.testing.assert_allclose(item[0], mean, atol=1e-6)
    np.testing.assert_array_equal(twice[1:], np.vstack([item, item]))
    assert float(chunks[0] @ mean) < 0.99  # not just the first chunk


def test_model_mismatch_is_refused(space_path, tmp_path):
    with es.Space(space_path) as sp:
        sp.add(BOOKS[:2])
    with pytest.raises(es.ModelMismatchError, match="all-MiniLM-L6-v2"):
        es.Space(space_path, model=None, dim=384)


def test_not_a_space(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "notes.txt").write_text("hello")
    with pytest.raises(es.NotASpaceError, match="not an embedspace space"):
        es.Space(tmp_path / "folder")
    (tmp_path / "file.space").write_text("x")
    with pytest.raises(es.NotASpaceError, match="is a file"):
        es.Space(tmp_path / "file.space")
    broken = tmp_path / "broken.space"
    broken.mkdir()
    (broken / "space.sqlite").write_bytes(b"garbage that is not sqlite")
    with pytest.raises(es.NotASpaceError, match="not a SQLite database"):
        es.Space(broken)
    with pytest.raises(es.NotASpaceError, match="no space"):
        es.Space(tmp_path / "missing.space", create=False)


def test_bad_input_writes_nothing(space):
    with pytest.raises(es.InvalidInputError, match="empty"):
        space.add(["fine", ""])
    with pytest.raises(es.InvalidInputError, match="empty"):
        space.add(["  \n\t "])
    with pytest.raises(es.InvalidInputError, match="ids repeat"):
        space.add(["a", "b"], ids=["x", "x"])
    with pytest.raises(es.InvalidInputError, match="metadata"):
        space.add(["a"], metadata=[{"bad": float("nan")}])
    assert len(space) == 0
    with pytest.raises(es.InvalidInputError, match="query is empty"):
        space.search("   ")
    with pytest.raises(es.InvalidInputError, match="mode"):
        space.search("x", mode="magic")


def test_huge_query_works(space):
    space.add(BOOKS)
    with pytest.warns(es.EmbedspaceWarning, match="truncated"):
        hits = space.search("mystery " * 20_000, k=2, mode="hybrid")  # 160k characters
    assert hits[0].text == BOOKS[0]


def test_bring_your_own_vectors(tmp_path):
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(50, 8)).astype(np.float32)
    with es.Space(tmp_path / "own.space", model=None, dim=8, metric="euclidean") as sp:
        ids = sp.add_vectors(
            vectors,
            ids=[f"v{i}" for i in range(50)],
            metadata=[{"even": i % 2 == 0} for i in range(50)],
        )
        hits = sp.search_vector(vectors[7] + 0.001, k=3)
        assert hits[0].id == ids[7] and hits[0].score <= 0  # negative distance
        assert all(
            h.metadata["even"] for h in sp.search_vector(vectors[7], k=5, where={"even": True})
        )
        with pytest.raises(es.InvalidInputError, match="8-d"):
            sp.add_vectors(np.ones((1, 9)))
        with pytest.raises(es.InvalidInputError, match="NaN"):
            sp.add_vectors(np.full((1, 8), np.nan))
        with pytest.raises(es.InvalidInputError, match="needs a model"):
            sp.search("text query")
    with es.Space(tmp_path / "own.space", model=None) as again:
        assert again.dim == 8 and again.metric == "euclidean" and len(again) == 50
