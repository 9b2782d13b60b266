"""Postgres specifics the shared suite cannot see: the query plan and BM25 in SQL."""

from __future__ import annotations

import numpy as np
import pytest

import embedspace as es
from embedspace.scoring.sparse import Bm25Model


def test_dense_search_walks_the_hnsw_index(postgres_uri):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(300, 8)).astype(np.float32)
    with es.Space(f"{postgres_uri}&collection=plan", model=None, dim=8, progress=False) as space:
        space.add_vectors(vectors, metadata=[{"group": i % 4} for i in range(300)])
        with space._store._transaction() as cur:
            cur.execute("SET LOCAL enable_seqscan = off")  # small table: force the choice
            cur.execute(
                "EXPLAIN " + space._backend.native.dense_sql("TRUE"), [vectors[0], vectors[0], 10]
            )
            plan = "\n".join(row[0] for row in cur.fetchall())
        assert "Index Scan using chunks_hnsw" in plan, plan
        hits = space.search_vector(vectors[0], k=5)
        assert len(hits) == 5 and hits[0].score == pytest.approx(1.0, abs=1e-5)
        # with a filter the planner may walk the index (iterative scan) or scan the
        # filtered rows exactly; either way k hits that pass the filter come back
        exact = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        allowed = np.flatnonzero(np.isin(np.arange(300) % 4, [1, 2]))
        best = allowed[np.argsort(-(exact[allowed] @ exact[3]))[:5]]
        hits = space.search_vector(vectors[3], k=5, where={"group": {"$in": [1, 2]}})
        assert [h.metadata["group"] for h in hits] == [int(i) % 4 for i in best]
        assert [round(h.score, 5) for h in hits] == [
            round(float(exact[i] @ exact[3]), 5) for i in best
        ]


def test_bm25_in_sql_matches_the_formula(postgres_uri):
    """Scores equal Okapi BM25 computed by hand from the same lexemes (Postgres' english
    stemmer): idf = ln(1 + (N - df + 0.5) / (df + 0.5)), k1 = 0.9, b = 0.4."""
    texts = ["cats chase mice", "dogs chase cats and cats run", "birds sing", "mice eat cheese"]
    with es.Space(f"{postgres_uri}&collection=bm25", progress=False) as space:
        space.add(texts, ids=["a", "b", "c", "d"])
        got = {h.id: h.score for h in space.search("cats", mode="sparse", k=10)}
        k1, b = Bm25Model().k1, Bm25Model().b
        lengths = {"a": 3, "b": 5, "c": 2, "d": 3}  # 'and' is a stop word
        avg = sum(lengths.values()) / 4
        idf = np.log(1 + (4 - 2 + 0.5) / (2 + 0.5))
        for item, tf in (("a", 1), ("b", 2)):
            expected = idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[item] / avg))
            assert got[item] == pytest.approx(expected, rel=1e-6)
        assert set(got) == {"a", "b"}
        space.delete(["a"])  # corpus statistics follow deletes
        after = space.search("cats", mode="sparse", k=10)[0].score
        n, avg = 3, (5 + 2 + 3) / 3
        idf = np.log(1 + (n - 1 + 0.5) / (1 + 0.5))
        assert after == pytest.approx(
            idf * 2 * (k1 + 1) / (2 + k1 * (1 - b + b * 5 / avg)), rel=1e-6
        )


def test_locations_are_checked_and_passwords_hidden():
    with pytest.raises(es.InvalidInputError, match="scheme"):
        es.Space("mongodb://localhost/books")
    with pytest.raises(es.InvalidInputError, match="collection"):
        es.Space("postgresql://u@localhost/db?collection=bad-name!")
    with pytest.raises(es.InvalidInputError, match="collection name"):
        es.Space("milvus://localhost:19530")
    with pytest.raises(es.BackendError) as failed:  # nothing listens on port 1
        es.Space("postgresql://app:s3cret@127.0.0.1:1/db?collection=books&connect_timeout=3")
    assert "s3cret" not in str(failed.value)


def test_cli_takes_a_postgres_uri(postgres_uri, tmp_path):
    import json

    from typer.testing import CliRunner

    from embedspace.cli import app

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "bear.txt").write_text("A children's picture book about a sleepy bear")
    (notes / "rome.txt").write_text("The history of the Roman empire in twelve chapters")
    uri = f"{postgres_uri}&collection=cli"
    runner = CliRunner()
    added = runner.invoke(app, ["add", uri, str(notes), "--json"])
    assert added.exit_code == 0, added.output
    found = runner.invoke(app, ["search", uri, "bedtime story", "--k", "1", "--json"])
    assert json.loads(found.output.strip().splitlines()[-1])["id"] == "bear.txt"
    info = json.loads(runner.invoke(app, ["info", uri, "--json"]).output.strip().splitlines()[-1])
    assert (info["backend"], info["items"], info["index"]) == ("postgres", 2, "pgvector-hnsw")
