"""Named vectors and re-embedding, one behavioural suite over every backend (the folder,
Postgres + pgvector, Milvus Lite: tests/helpers/backends.py). The second model is a
packaged one: GloVe 6B 50d as a text encoder (mean of word vectors, 50 d) or a
truncated MiniLM (``default+dim=128``)."""

from __future__ import annotations

import pytest

import embedspace as es
from embedspace.errors import InvalidInputError, ModelMismatchError, ModelNotFoundError

TEXTS = [
    "the cat sat on the mat by the window",
    "stock markets fell sharply after the bank report",
    "a recipe for tomato soup with fresh basil",
    "the football team won the championship final",
    "volcanoes erupt when magma rises to the surface",
]
IDS = [f"t{i}" for i in range(len(TEXTS))]
QUERIES = {  # query -> the id it must find first under either model
    "kitten on a rug": "t0",
    "shares dropped on wall street": "t1",
    "cooking soup": "t2",
    "soccer match victory": "t3",
    "lava from a volcano": "t4",
}


def _top_ids(space: es.Space, using: str | None = None) -> dict[str, str]:
    return {q: space.search(q, k=1, using=using)[0].id for q in QUERIES}


def test_declared_named_vector_is_searched_by_name(location):
    with es.Space(location, progress=False, vectors={"words": "glove"}) as space:
        space.add(TEXTS, ids=IDS, metadata=[{"n": n} for n in range(len(TEXTS))])
        vectors = {v["name"]: v for v in space.info()["vectors"]}
        assert vectors["words"]["dim"] == 50 and not vectors["words"]["main"]
        assert vectors["words"]["model_id"].startswith("glove-6b-50d@")
        main = space.vector_name
        assert vectors[main]["main"] and vectors[main]["dim"] == 384
        words = space.search("kitten on a rug", k=5, using="words")
        default = space.search("kitten on a rug", k=5)
        assert words[0].id == default[0].id == "t0"
        # the two vectors give different scores: they really are two models
        assert abs(words[0].score - default[0].score) > 1e-3
        assert space.search("kitten", k=1, using=main)[0].id == default[0].id
        hybrid = space.search("volcano lava", k=2, mode="hybrid", using="words")
        assert hybrid[0].id == "t4" and hybrid[0].score > hybrid[1].score
        filtered = space.search("cat", k=5, using="words", where={"n": {"$gte": 3}})
        assert {h.id for h in filtered} == {"t3", "t4"}
    with es.Space(location, progress=False, create=False) as again:  # persisted
        assert [v["name"] for v in again.info()["vectors"]] == [main, "words"]
        assert again.search("lava from a volcano", k=1, using="words")[0].id == "t4"


def test_unknown_vector_name_lists_the_ones_there(location):
    with es.Space(location, progress=False, vectors={"words": "glove"}) as space:
        space.add(TEXTS[:2])
        with pytest.raises(InvalidInputError, match="no vector named 'nope'") as caught:
            space.search("cat", using="nope")
        assert "words" in str(caught.value) and space.vector_name in str(caught.value)
        with pytest.raises(InvalidInputError, match="no vector named"):
            space.duplicates(using="nope")


def test_vector_added_later_covers_old_and_new_items(location):
    with es.Space(location, progress=False) as space:
        space.add(TEXTS[:3], ids=IDS[:3])
        assert space.add_vector("small", "default+dim=128") == 3
        space.add(TEXTS[3:], ids=IDS[3:])  # written after: embedded under both
        assert _top_ids(space, using="small") == QUERIES
        space.update("t2", text="a quick guide to baking sourdough bread")
        assert space.search("baking bread", k=1, using="small")[0].id == "t2"
        space.delete(["t4"])
        assert "t4" not in {h.id for h in space.search("volcano", k=10, using="small")}
        with pytest.raises(InvalidInputError, match="already has a vector named 'small'"):
            space.add_vector("small", "glove")
        space.drop_vector("small")
        assert [v["name"] for v in space.info()["vectors"]] == [space.vector_name]


def test_analyses_take_using(location):
    with es.Space(location, progress=False, vectors={"words": "glove"}) as space:
        space.add([*TEXTS, TEXTS[0] + "!"], ids=[*IDS, "dup"])
        groups = space.duplicates(using="words", threshold=0.95)
        assert any({"t0", "dup"} <= set(g) for g in groups)
        clusters = space.clusters(k=2, using="words")
        assert sorted(i for c in clusters for i in c.ids) == sorted([*IDS, "dup"])
        assert len(space.outliers(k=3, using="words")) == 6


def test_reembed_to_another_dimension_keeps_old_as_named(location):
    with es.Space(location, progress=False) as space:
        space.add(TEXTS, ids=IDS)
        old = space.vector_name
        report = space.reembed("glove", keep_old=True)
        assert (report.reembedded, report.items, report.dim) == (5, 5, 50)
        assert report.kept_old == old and space.dim == 50
        assert space.model_id.startswith("glove-6b-50d@")
        assert _top_ids(space) == _top_ids(space, using=old) == QUERIES
        vectors = {v["name"]: v for v in space.info()["vectors"]}
        assert vectors[old]["dim"] == 384 and vectors[space.vector_name]["main"]
        assert space.info()["reembed"] is None
        space.add(["dogs bark at the postman"], ids=["d"])  # new writes: both models
        assert space.search("barking dog", k=1, using=old)[0].id == "d"
    with es.Space(location, progress=False, create=False) as again:
        assert again.dim == 50 and len(again) == 6
        assert again.search("dog", k=1)[0].id == "d"
        with pytest.raises(ModelMismatchError):  # the old model no longer opens it
            es.Space(location, model="all-MiniLM-L6-v2", progress=False, create=False)


def test_reembed_drops_old_vectors_by_default(location):
    with es.Space(location, progress=False) as space:
        space.add(TEXTS, ids=IDS)
        space.reembed("default+dim=128")
        assert [v["dim"] for v in space.info()["vectors"]] == [128]
        assert _top_ids(space) == QUERIES


def test_reembed_to_a_model_that_does_not_load_writes_nothing(location):
    with es.Space(location, progress=False) as space:
        space.add(TEXTS, ids=IDS)
        before = (space.generation, space.info()["vectors"])
        with pytest.raises(ModelNotFoundError):
            space.reembed("no-such-model")
        assert (space.generation, space.info()["vectors"]) == before
        assert space.info()["reembed"] is None
        assert _top_ids(space) == QUERIES


def test_a_format_2_space_opens_and_gains_named_vectors(tmp_path):
    """A space written before named vectors (format 2: no named_chunks table) opens,
    is migrated in place and takes a named vector."""
    import sqlite3

    path = tmp_path / "old.space"
    with es.Space(path, progress=False) as space:
        space.add(TEXTS, ids=IDS)
    db = sqlite3.connect(path / "space.sqlite")
    db.execute("DROP TABLE named_chunks")
    db.execute("UPDATE meta SET value = '2' WHERE key = 'format_version'")
    db.commit()
    db.close()
    with es.Space(path, progress=False, create=False) as space:
        assert _top_ids(space) == QUERIES
        space.add_vector("words", "glove")
        assert _top_ids(space, using="words") == QUERIES
    db = sqlite3.connect(path / "space.sqlite")
    assert db.execute("SELECT value FROM meta WHERE key = 'format_version'").fetchone() == ("3",)
    db.close()


def test_reembed_carries_images_through_their_files(photo_space_path, tmp_path):
    """Image items are embedded again from their files by the new model's image tower;
    a search by words still finds the photo, and the space still takes new images."""
    import shutil

    path = tmp_path / "mixed.space"
    shutil.copytree(photo_space_path, path)
    with es.Space(path, progress=False, create=False) as space:
        before = space.search("a cat", k=1)[0].id
        report = space.reembed("default+dim=128")
        assert report.items == len(space) and space.dim == 128
        assert space.search("a cat", k=1)[0].id == before == "chelsea.png"
        photo = space.get("coffee.png").metadata["path"]
        assert space.search_image(photo, k=1)[0].id == "coffee.png"


def test_a_space_from_an_older_image_tower_catches_up_by_reembedding(photo_space_path, tmp_path):
    """An upgrade that changes the image tower: the space refuses new images and says
    how to bring its own over; re-embedding with the same text model does it."""
    import shutil
    import sqlite3

    path = tmp_path / "mixed.space"
    shutil.copytree(photo_space_path, path)
    db = sqlite3.connect(path / "space.sqlite")
    db.execute("UPDATE meta SET value = 'old-tower@0' WHERE key = 'image_model_id'")
    db.commit()
    db.close()
    photo = str(tmp_path / "again.png")
    with es.Space(path, progress=False, create=False) as space:
        shutil.copy(space.get("coffee.png").metadata["path"], photo)
        with pytest.raises(ModelMismatchError, match="reembed"):
            space.add_images([photo])
        report = space.reembed("default")
        assert report.reembedded == len(space)
        assert space.add_images([photo]).added == 1  # the current tower is the space's now
        assert space.search_image(photo, k=2)[0].id in {"coffee.png", "again.png"}
        with pytest.raises(InvalidInputError, match="already uses"):
            space.reembed("default")  # nothing to catch up any more


def test_add_vectors_is_refused_beside_named_vectors(location):
    import numpy as np

    with es.Space(location, progress=False, vectors={"words": "glove"}) as space:
        with pytest.raises(InvalidInputError, match="named vectors"):
            space.add_vectors(np.ones((1, 384), dtype=np.float32), ids=["v"])
        assert len(space) == 0


def test_reopening_with_another_model_for_a_named_vector_is_refused(location):
    with es.Space(location, progress=False, vectors={"words": "glove"}) as space:
        space.add(TEXTS[:1])
    with es.Space(location, progress=False, vectors={"words": "glove"}) as space:
        assert len(space) == 1  # the same declaration reopens it
    with pytest.raises(ModelMismatchError, match="'words'"):
        es.Space(location, progress=False, vectors={"words": "default+dim=64"})


def test_milvus_swap_carries_over_writes_that_reached_the_old_collection(milvus_uri, monkeypatch):
    """Milvus has no transactions: a write and a delete that reach the old collection
    while the new one is being filled must be in the new one after the swap."""
    from embedspace.ingest.hashing import text_hash
    from embedspace.store.base import ChunkRecord
    from embedspace.store.named import PENDING

    with es.Space(f"{milvus_uri}/swap", model="glove", progress=False) as space:
        space.add(TEXTS, ids=IDS)
        store, new_text = space._store, "volcanic ash fell over the harbour town"
        fill, written = store._copy_with, []

        def fill_then_write(collection, name, ids):
            fill(collection, name, ids)
            if not written:  # a writer that checked the model id before the flip
                written.append(True)
                record = store.get(["t1"])[0]
                record.text, record.text_hash = new_text, text_hash(new_text)
                for vectors, model in ((record.chunks, "glove"), (None, "default")):
                    vector = es.embed([new_text], model=model)[0]
                    chunk = [ChunkRecord(0, len(new_text), vector)]
                    if vectors is None:
                        record.named = {PENDING: chunk}
                    else:
                        record.chunks = chunk
                store.upsert([record])
                store.delete(["t3"])

        monkeypatch.setattr(store, "_copy_with", fill_then_write)
        space.reembed("default")
        assert space.dim == 384 and len(space) == 4
        assert space.get("t1").text == new_text
        assert space.search("ash from a volcano", k=1)[0].id in {"t1", "t4"}
        assert "t3" not in {h.id for h in space.search("football", k=10)}
        assert space.info()["chunks"] == 4
