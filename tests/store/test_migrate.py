"""Migration between backends: folder -> Postgres -> folder, no re-embedding, verified."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import embedspace as es
from embedspace.cli import app


def test_folder_to_postgres_to_folder(tmp_path, postgres_uri, demo_docs, monkeypatch):
    docs = demo_docs[:: len(demo_docs) // 120][:120]  # plots (chunked) and reviews
    first = tmp_path / "first.space"
    with es.Space(first, progress=False, chunk_tokens=128) as space:
        space.add(
            [d.text for d in docs], ids=[d.id for d in docs], metadata=[d.metadata for d in docs]
        )
        info = space.info()
        expected = [h.id for h in space.search("a haunted house", k=5, where={"kind": "plot"})]
        vectors = space.vectors([d.id for d in docs[:10]])
    assert info["chunks"] > info["items"] == 120

    def no_encoding(*args, **kwargs):
        raise AssertionError("migration must not re-embed")

    remote = f"{postgres_uri}&collection=migrated"
    monkeypatch.setattr(type(es.load_encoder("default")), "encode", no_encoding)
    report = es.migrate(first, remote, batch_size=50, progress=False)
    assert (report.items, report.chunks, report.copied) == (120, info["chunks"], 120)
    assert report.spot_checks == 5 and report.spot_check_note == ""
    again = es.migrate(first, remote, batch_size=50, progress=False)  # resumable: no-op
    assert (again.copied, again.skipped) == (0, 120)
    monkeypatch.undo()

    back = tmp_path / "back.space"
    result = CliRunner().invoke(app, ["migrate", remote, str(back), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["items"] == 120

    for location in (remote, back):
        with es.Space(location, progress=False, create=False) as space:
            assert space.info()["model_id"] == info["model_id"]
            assert space.info()["chunks"] == info["chunks"]
            assert [
                h.id for h in space.search("a haunted house", k=5, where={"kind": "plot"})
            ] == expected
            np.testing.assert_allclose(space.vectors([d.id for d in docs[:10]]), vectors, atol=1e-6)
            assert space.get(docs[3].id).metadata == docs[3].metadata


def test_migrate_refuses_a_different_space(tmp_path):
    with es.Space(tmp_path / "a.space", progress=False) as a:
        a.add(["one text"])
    with es.Space(tmp_path / "b.space", model=None, dim=8, progress=False) as b:
        b.add_vectors(np.ones((1, 8), dtype=np.float32))
    with pytest.raises(es.ModelMismatchError):
        es.migrate(tmp_path / "a.space", tmp_path / "b.space", progress=False)
    with pytest.raises(es.NotASpaceError):
        es.migrate(tmp_path / "missing.space", tmp_path / "c.space", progress=False)


def test_folder_to_milvus_and_back(tmp_path, milvus_uri, demo_docs):
    docs = [d for d in demo_docs if d.metadata["kind"] != "plot"][:80]
    source = tmp_path / "src.space"
    with es.Space(source, progress=False) as space:
        space.add(
            [d.text for d in docs], ids=[d.id for d in docs], metadata=[d.metadata for d in docs]
        )
        expected = [h.id for h in space.search("a fun family film", k=5)]
    remote = f"{milvus_uri}/migrated"
    report = es.migrate(source, remote, batch_size=25, progress=False)
    assert (report.items, report.copied, report.spot_checks) == (80, 80, 5)
    with es.Space(remote, progress=False, create=False) as space:
        assert [h.id for h in space.search("a fun family film", k=5)] == expected
        assert space.get(docs[0].id).metadata == docs[0].metadata
    back = es.migrate(remote, tmp_path / "back.space", batch_size=30, progress=False)
    assert (back.items, back.copied, back.spot_checks) == (80, 80, 5)
    with es.Space(tmp_path / "back.space", progress=False) as space:
        assert [h.id for h in space.search("a fun family film", k=5)] == expected


@pytest.mark.parametrize("remote", ["postgres", "milvus"])
def test_named_vectors_travel_with_a_migration(tmp_path, request, remote):
    source = tmp_path / "named.space"
    texts = ["a cat asleep on the sofa", "the central bank raised rates", "rain all week"]
    with es.Space(source, progress=False, vectors={"words": "glove"}) as space:
        space.add(texts, ids=["cat", "bank", "rain"])
        expected = space.info()["vectors"]
        ranked = [h.id for h in space.search("kitten", k=3, using="words")]
    uri = request.getfixturevalue(f"{remote}_uri")
    there = f"{uri}&collection=named" if remote == "postgres" else f"{uri}/named"
    es.migrate(source, there, progress=False)
    back = es.migrate(there, tmp_path / "back.space", progress=False)
    assert back.items == 3
    for location in (there, tmp_path / "back.space"):
        with es.Space(location, progress=False, create=False) as space:
            assert space.info()["vectors"] == expected
            assert [h.id for h in space.search("kitten", k=3, using="words")] == ranked
