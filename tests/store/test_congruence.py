"""Congruence: the same searches on an embedded space and on PostgreSQL give the same ids
in the same order, with scores within a tolerance (qdrant-client's tests/congruence_tests
compare its local and remote clients the same way).

Both backends answer the same search primitives and ``search/engine.py`` composes them,
so fusion, filters and re-ranking are one code path; what can differ is only what each
backend computes itself. The corpus is chosen so that it computes the same thing:
content words only, no hyphens or digits, so Postgres' english parser and stop list and
our analyzer keep the same terms, and its Snowball stemmer is ours; every query word
occurs in the corpus, so the local coverage gate is fully open, as Postgres' (which does
not report coverage) always is.
"""

from __future__ import annotations

import uuid

import numpy as np
import pytest

import embedspace as es

DOCS = [
    ("garden", "Tomato seedlings need sunlight, water and rich compost", "home"),
    ("bread", "Sourdough bread baking needs patience, flour, water and salt", "food"),
    ("pasta", "Fresh basil pesto pasta with garlic, pine nuts and parmesan", "food"),
    ("soup", "Hearty winter soup: lentils, carrots, onions and smoked paprika", "food"),
    ("bike", "Bicycle repair: patching punctured tyres and adjusting brakes", "home"),
    ("roof", "Leaking roof repair: replacing cracked tiles ahead of winter storms", "home"),
    ("rome", "Roman empire history: emperors, legions, aqueducts and roads", "history"),
    ("egypt", "Ancient Egypt: pharaohs, pyramids, papyrus and the Nile floods", "history"),
    ("space", "Telescope nights: planets, comets, galaxies and distant nebulae", "science"),
    ("cells", "Cell biology: membranes, ribosomes, mitochondria and proteins", "science"),
    ("budget", "Household budget planning: savings, rent, groceries and bills", "money"),
    ("taxes", "Filing taxes: receipts, deductions, invoices and deadlines", "money"),
    ("chess", "Chess openings: gambits, pawn structures and endgame tactics", "games"),
    ("poker", "Poker strategy: bluffing, pot odds and reading opponents", "games"),
    ("tea", "Green tea brewing: water temperature, leaves and steeping time", "food"),
    ("coffee", "Espresso coffee: grinding beans, tamping and milk foam", "food"),
]
IDS = [d[0] for d in DOCS]
TEXTS = [d[1] for d in DOCS]
META = [{"topic": d[2], "rank": i} for i, d in enumerate(DOCS)]

QUERIES = [
    "winter repair",
    "water baking bread",
    "ancient roman roads",
    "coffee beans tea leaves",
    "planets galaxies telescope",
    "budget savings bills taxes",
]
WHERES = [None, {"topic": "food"}, {"rank": {"$gte": 5}}]
#: Scores agree to float32 rounding (pgvector's and numpy's dot products, SQL and numpy BM25).
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def spaces(postgres_uri, tmp_path_factory):
    """The same items in an embedded space and in a PostgreSQL collection."""
    folder = tmp_path_factory.mktemp("congruence") / "local.space"
    remote = f"{postgres_uri}&collection=c{uuid.uuid4().hex[:12]}"
    with es.Space(folder, progress=False) as local, es.Space(remote, progress=False) as pg:
        for space in (local, pg):
            space.add(TEXTS, ids=IDS, metadata=META)
        yield local, pg


def assert_congruent(local_hits: list[es.Hit], remote_hits: list[es.Hit]) -> None:
    assert [h.id for h in remote_hits] == [h.id for h in local_hits]
    np.testing.assert_allclose(
        [h.score for h in remote_hits], [h.score for h in local_hits], atol=TOLERANCE
    )
    assert [h.chunk for h in remote_hits] == [h.chunk for h in local_hits]


def search_both(spaces, query: str, **options) -> tuple[list[es.Hit], list[es.Hit]]:
    """The same search on both spaces; unfiltered, it must find something (else the
    comparison would prove nothing)."""
    local, pg = spaces
    local_hits = local.search(query, **options)
    if options.get("where") is None:
        assert local_hits, f"{query!r} {options} finds nothing"
    return local_hits, pg.search(query, **options)


@pytest.mark.parametrize("where", WHERES)
@pytest.mark.parametrize("query", QUERIES)
def test_dense(spaces, query, where):
    assert_congruent(*search_both(spaces, query, k=5, where=where))


@pytest.mark.parametrize("where", WHERES)
@pytest.mark.parametrize("query", QUERIES)
def test_sparse(spaces, query, where):
    local_hits, remote_hits = search_both(spaces, query, k=5, mode="sparse", where=where)
    assert_congruent(local_hits, remote_hits)


@pytest.mark.parametrize("fusion", ["convex", "rrf"])
@pytest.mark.parametrize("where", WHERES)
@pytest.mark.parametrize("query", QUERIES)
def test_hybrid(spaces, query, where, fusion):
    assert_congruent(*search_both(spaces, query, k=8, mode="hybrid", where=where, fusion=fusion))


def test_hybrid_convex_weights(spaces):
    for alpha in (0.0, 0.3, 1.0):
        assert_congruent(*search_both(spaces, "winter repair", k=8, mode="hybrid", alpha=alpha))


@pytest.mark.parametrize("mode", ["dense", "sparse", "hybrid"])
def test_rerank(spaces, mode):
    """The cross-encoder re-scores the same first stage the same way."""
    assert_congruent(
        *search_both(spaces, "bicycle roof repair", k=4, mode=mode, rerank=True, rerank_depth=8)
    )


def test_search_vector(spaces):
    local, pg = spaces
    vector = local.vectors(["tea"])
    for where in WHERES:
        assert_congruent(local.search_vector(vector, 5, where), pg.search_vector(vector, 5, where))


def test_no_match_is_empty_on_both(spaces):
    local, pg = spaces
    assert local.search("zzyzx", mode="sparse") == pg.search("zzyzx", mode="sparse") == []
