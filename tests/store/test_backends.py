"""One behavioural suite, run against every backend: the embedded folder, Postgres +
pgvector and Milvus (real servers, see tests/backends.py). Moving a space to another
backend changes its URI, not what it does: these tests are that promise."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

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
META = [
    {"genre": "crime", "year": 2019, "tags": {"age": "adult"}, "kids": False},
    {"genre": "food", "year": 2004, "tags": {"age": "adult"}, "kids": False},
    {"genre": "home", "year": 2011, "tags": {"age": "adult"}, "kids": False},
    {"genre": "history", "year": 1998, "tags": {"age": "adult"}, "kids": False, "note": None},
    {"genre": "kids", "year": 2021, "tags": {"age": "child"}, "kids": True},
    {"genre": "money", "year": 2015, "tags": {"age": "adult"}, "kids": False},
]
IDS = [f"b{i}" for i in range(len(BOOKS))]


def _counting(space, monkeypatch) -> list[str]:
    """Record every text the space's encoder embeds (the real encoder still runs). The
    encoder is shared by every space of the process, so the spy is undone after the test."""
    seen: list[str] = []
    encode = space.encoder.encode

    def spy(texts, role="document", **options):
        seen.extend(texts)
        return encode(texts, role=role, **options)

    monkeypatch.setattr(space.encoder, "encode", spy)
    return seen


def test_add_search_get_reopen(location, backend):
    with es.Space(location, progress=False) as space:
        assert space.add(BOOKS, ids=IDS, metadata=META) == IDS
        assert len(space) == 6
        assert space.info()["backend"] == backend
        top = space.search("gripping thriller with a twist ending", k=3)
        assert top[0].id == "b0" and len(top) == 3
        assert top[0].score > top[1].score >= top[2].score
        assert space.get("b3").metadata["genre"] == "history"
    with es.Space(location, progress=False, create=False) as again:
        assert len(again) == 6
        assert again.search("a sleepy bear for children", k=1)[0].id == "b4"
        with pytest.raises(es.ItemNotFoundError):
            again.get("nope")
    with pytest.raises(es.ModelMismatchError):
        es.Space(location, model=None, dim=384)


def test_upsert_embeds_only_what_changed(bspace, encoder, monkeypatch):
    bspace.add(BOOKS, ids=IDS, metadata=META)
    seen = _counting(bspace, monkeypatch)
    before = bspace.vectors(["b1"])
    bspace.add(BOOKS, ids=IDS, metadata=META)  # nothing changed: nothing embedded
    assert seen == [] and len(bspace) == 6
    bspace.add(["A field guide to birds of Europe"], ids=["b1"], metadata=[{"genre": "nature"}])
    assert seen == ["A field guide to birds of Europe"]
    assert len(bspace) == 6 and bspace.get("b1").metadata == {"genre": "nature"}
    after = bspace.vectors(["b1"])
    assert not np.allclose(before, after)
    np.testing.assert_allclose(
        after, encoder.encode(["A field guide to birds of Europe"]), atol=1e-5
    )
    assert bspace.search("ornithology", k=1)[0].id == "b1"
    bspace.add(BOOKS[:1])  # same text, content id: no duplicate on a second add
    bspace.add(BOOKS[:1])
    assert len(bspace) == 7


def test_delete_and_update(bspace):
    bspace.add(BOOKS, ids=IDS, metadata=META)
    assert bspace.delete(["b0", "b1", "missing"]) == 2
    assert len(bspace) == 4
    hits = bspace.search("mystery cookbook", k=10, mode="hybrid")
    assert {h.id for h in hits} <= {"b2", "b3", "b4", "b5"}
    assert all(h.id not in ("b0", "b1") for h in bspace.search("mystery", k=10, mode="sparse"))
    bspace.update("b2", metadata={"genre": "garden"})
    assert bspace.get("b2").metadata == {"genre": "garden"}
    bspace.update("b3", text="Rockets, orbits and the race to the moon")
    assert bspace.search("space exploration", k=1)[0].id == "b3"


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"genre": "food"}, {"b1"}),
        ({"year": {"$gte": 2015}}, {"b0", "b4", "b5"}),
        ({"year": {"$lt": 2005}, "genre": {"$ne": "food"}}, {"b3"}),
        ({"genre": {"$in": ["kids", "money"]}}, {"b4", "b5"}),
        ({"genre": {"$nin": ["kids", "money", "crime"]}}, {"b1", "b2", "b3"}),
        ({"tags.age": "child"}, {"b4"}),
        ({"kids": True}, {"b4"}),
        ({"note": None}, {"b0", "b1", "b2", "b3", "b4", "b5"}),
    ],
)
def test_metadata_filters(bspace, backend, where, expected):
    bspace.add(BOOKS, ids=IDS, metadata=META)
    if backend == "milvus" and None in where.values():
        with pytest.raises(es.NotSupportedError, match="None"):
            bspace.search("a book", where=where)
        return
    for mode in ("dense", "hybrid"):
        assert {h.id for h in bspace.search("a book", k=10, mode=mode, where=where)} == expected
    keyword = {h.id for h in bspace.search("the of a", k=10, mode="sparse", where=where)}
    assert keyword <= expected


def test_bad_filter_is_refused(bspace):
    bspace.add(BOOKS, ids=IDS)
    with pytest.raises(es.InvalidInputError, match="operator"):
        bspace.search("x", where={"year": {"$near": 3}})


def test_sparse_matches_terms_and_only_terms(bspace):
    bspace.add(BOOKS, ids=IDS, metadata=META)
    hits = bspace.search("roman empire", k=10, mode="sparse")
    assert [h.id for h in hits] == ["b3"] and hits[0].score > 0
    hits = bspace.search("family budgeting", k=10, mode="sparse")
    assert {h.id for h in hits} == {"b1", "b5"}
    assert bspace.search("zzyzx qwertyuiop", k=5, mode="sparse") == []


@pytest.mark.parametrize("fusion", ["convex", "rrf"])
def test_hybrid(bspace, fusion):
    bspace.add(BOOKS, ids=IDS, metadata=META)
    hits = bspace.search("Roman chapters", k=3, mode="hybrid", fusion=fusion)
    assert hits[0].id == "b3" and len(hits) == 3
    # a paraphrase with no shared keyword still finds its item through the dense half
    assert bspace.search("whodunit", k=1, mode="hybrid", fusion=fusion)[0].id == "b0"


def test_long_documents_are_chunked(location):
    long_doc = " ".join(["The committee discussed parking permits and road repairs."] * 30)
    long_doc += " Finally, a dragon attacked the castle and the knights fought it off."
    with es.Space(location, progress=False, chunk_tokens=64) as space:
        space.add([long_doc, "A recipe for lemon cake"], ids=["long", "cake"])
        assert space.info()["chunks"] > 2
        hit = space.search("dragon attacks a castle", k=1)[0]
        assert hit.id == "long" and hit.chunk is not None
        assert "dragon" in hit.chunk_text
        assert space.search("lemon cake", k=1)[0].chunk is None


def test_documents_keep_pages_and_sections(location, tmp_path):
    """A document's layout is stored beside its text on every backend: hits, migrations
    and metadata-only updates keep it; it never shows up as metadata."""
    pytest.importorskip("pypdf", reason="the docs extra is not installed")
    from helpers.documents import write_pdf

    pages = [
        [f"Page {n}: the committee discussed parking permits and road repairs."] * 6
        for n in range(1, 6)
    ]
    pages[3] = ["Findings", "A dragon attacked the castle and the knights fought it off."]
    path = write_pdf(tmp_path / "minutes.pdf", pages, outline=[("Findings", 3, 1)])
    with es.Space(location, progress=False, chunk_tokens=64) as space:
        space.add_files([path])
        hit = space.search("dragon attacks a castle", k=1)[0]
        assert (hit.id, hit.page, hit.section) == ("minutes.pdf", 4, "Findings")
        assert set(hit.metadata) == {"path", "format", "pages"}
        space.update("minutes.pdf", metadata={"reviewed": True})
        assert space.get("minutes.pdf").metadata == {"reviewed": True}
        again = space.search("dragon attacks a castle", k=1, mode="hybrid")[0]
        assert (again.page, again.section) == (4, "Findings")
        assert space.add_files([path]).unchanged == 1  # same text, same layout


def test_same_results_as_the_embedded_space(request, location, backend, tmp_path, demo_docs):
    """On 300 real documents, a remote backend ranks like the embedded space: dense top-5
    identical (HNSW is exact at this size), keyword top-5 mostly shared (Postgres' and our
    stemmers differ slightly)."""
    if backend == "sqlite":
        pytest.skip("the embedded space is the reference")
    reviews = [d for d in demo_docs if d.metadata["kind"] != "plot"]
    docs = reviews[:: len(reviews) // 300][:300]
    texts, ids = [d.text for d in docs], [d.id for d in docs]
    queries = ["a clever heist thriller", "a romantic comedy", "a boring war film", "great acting"]
    with es.Space(tmp_path / "ref.space", progress=False) as ref:
        ref.add(texts, ids=ids)
        expected = {q: [h.id for h in ref.search(q, k=5)] for q in queries}
        expected_kw = {q: [h.id for h in ref.search(q, k=5, mode="sparse")] for q in queries}
    with es.Space(location, progress=False) as space:
        space.add(texts, ids=ids)
        for q in queries:
            assert [h.id for h in space.search(q, k=5)] == expected[q]
            got_kw = [h.id for h in space.search(q, k=5, mode="sparse")]
            assert len(set(got_kw) & set(expected_kw[q])) >= 3, (q, got_kw, expected_kw[q])


def test_own_vectors(location):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(50, 16)).astype(np.float32)
    with es.Space(location, model=None, dim=16, progress=False) as space:
        ids = space.add_vectors(vectors, ids=[f"v{i}" for i in range(50)])
        hits = space.search_vector(vectors[7], k=3)
        assert hits[0].id == "v7" and hits[0].score == pytest.approx(1.0, abs=1e-5)
        assert len(ids) == len(space) == 50
        unit = vectors[3] / np.linalg.norm(vectors[3])  # a cosine space hands back unit vectors
        np.testing.assert_allclose(space.vectors(["v3"])[0], unit, atol=1e-6)


def test_failed_ingest_resumes_without_duplicates(location, demo_docs, monkeypatch):
    """An ingest that dies mid-way (the encoder fails on the 4th batch) keeps whole batches;
    running it again embeds only what is missing and ends with each item once."""
    docs = [d for d in demo_docs if d.metadata["kind"] != "plot"][:400]
    texts, ids = [d.text for d in docs], [d.id for d in docs]
    with es.Space(location, progress=False, batch_size=50) as space:
        encode, calls = space.encoder.encode, []

        def failing(batch, role="document", **options):
            calls.append(len(batch))
            if len(calls) == 4:
                raise RuntimeError("worker lost")
            return encode(batch, role=role, **options)

        monkeypatch.setattr(space.encoder, "encode", failing)
        with pytest.raises(RuntimeError, match="worker lost"):
            space.add(texts, ids=ids)
        assert len(space) == 150
    with es.Space(location, progress=False, batch_size=50) as space:
        seen = _counting(space, monkeypatch)
        space.add(texts, ids=ids)
        # only the 250 items that were never written are embedded again
        assert {t for t in texts[150:] if t in seen} == set(texts[150:]) and len(seen) == 250
        assert len(space) == 400 and sorted(space.ids()) == sorted(ids)
        assert space.search(docs[7].text, k=1)[0].id == docs[7].id


KILLED_INGEST = textwrap.dedent(
    """
    import sys
    import embedspace as es
    from embedspace.ingest.demo_corpus import demo_corpus
    docs = [d for d in demo_corpus() if d.metadata["kind"] != "plot"][:1000]
    space = es.Space(sys.argv[1], batch_size=100, progress=False)
    space.add([d.text for d in docs], ids=[d.id for d in docs], metadata=[d.metadata for d in docs])
    print("done", len(space))
    """
)


def test_sigkill_mid_ingest_converges(location, backend):
    """kill -9 of the writing process: the backend keeps whole batches only, and a re-run
    finishes the job with no duplicates."""
    if backend == "sqlite":
        pytest.skip("the embedded space's twin is test_crash_and_concurrency.py")
    if backend == "milvus":
        pytest.skip(
            "Milvus Lite lets one process open its file and this test needs two; "
            "test_failed_ingest_resumes_without_duplicates covers resuming on Milvus"
        )
    proc = subprocess.Popen([sys.executable, "-c", KILLED_INGEST, location])
    deadline = time.time() + 300
    count = 0
    while count < 300 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
        try:
            with es.Space(location, progress=False, create=False) as space:
                count = len(space)
        except es.EmbedspaceError:
            count = 0
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "ingest finished before we could kill it"
    with es.Space(location, progress=False) as space:
        partial = len(space)
        assert 0 < partial < 1000 and partial % 100 == 0
    done = subprocess.run(
        [sys.executable, "-c", KILLED_INGEST, location], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    with es.Space(location, progress=False) as space:
        ids = space.ids()
        assert len(ids) == len(set(ids)) == 1000 == space.info()["chunks"]


# -- what a backend does not do: a clear NotSupportedError (docs/scale.md lists them) --
def test_unsupported_operations_say_so(location, backend, tmp_path):
    if backend == "sqlite":
        with es.Space(location, index="ivf", nlist=4, progress=False) as space:
            space.add(BOOKS)
            assert space.search("bear", k=1, sparse_model="tf-idf", mode="sparse")
        return
    with pytest.raises(es.NotSupportedError, match="index='ivf'"):
        es.Space(location, index="ivf")
    with pytest.raises(es.NotSupportedError, match="nprobe"):
        es.Space(location, nprobe=4)
    with es.Space(location, progress=False) as space:
        space.add(BOOKS)
        with pytest.raises(es.NotSupportedError, match="sparse_model"):
            space.search("bear", mode="sparse", sparse_model="tf-idf")
        image = tmp_path / "x.jpg"
        image.write_bytes(b"not used")
        with pytest.raises(es.NotSupportedError, match="thumbnails"):
            space.add_images([image])
