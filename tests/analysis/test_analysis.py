"""Duplicates, clusters, outliers, recommendations and bulk zero-shot labels, on the real
packaged model: the seeds' support tickets, short topic sets written here, and real movie
texts from the demo corpus with off-topic items planted among them."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from helpers.tickets import TICKETS, TOPIC_LABELS
from typer.testing import CliRunner

import embedspace as es
from embedspace.analysis.clusters import (
    HDBSCAN_COMPONENTS,
    hdbscan_labels,
    nearest_cluster_for_noise,
    reduced_for_density,
)
from embedspace.analysis.duplicates import best_f1_threshold, steady_f1_threshold
from embedspace.analysis.neighbours import _hnsw_searcher, knn_graph
from embedspace.analysis.outliers import outlier_scores
from embedspace.cli import app
from embedspace.encoders.calibration import calibration
from embedspace.errors import EmbedspaceWarning, InvalidInputError, ItemNotFoundError

runner = CliRunner()

TOPIC_OF = {"delivery": 0, "crash": 1, "login": 2}

OFF_TOPIC = [
    "Preheat the oven to 200 degrees and knead the dough for ten minutes.",
    "To reset your router, hold the power button down for thirty seconds.",
    "Quarterly tax returns are due on the fifteenth of April.",
    "Install the printer driver before you connect the USB cable.",
    "The mitochondria is the powerhouse of the cell.",
]


def _json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def tickets(tmp_path_factory):
    path = tmp_path_factory.mktemp("analysis") / "tickets.space"
    with es.Space(path, progress=False) as sp:
        sp.add(list(TICKETS.values()), ids=list(TICKETS))
    return path


@pytest.fixture(scope="module")
def movies_with_planted(tmp_path_factory, demo_docs):
    """160 real plots and reviews, plus five off-topic texts planted among them."""
    path = tmp_path_factory.mktemp("analysis") / "movies.space"
    docs = demo_docs[:: len(demo_docs) // 160][:160]
    with warnings.catch_warnings(), es.Space(path, progress=False) as sp:
        warnings.simplefilter("ignore", EmbedspaceWarning)  # a few long plots are chunked
        sp.add(
            [d.text for d in docs], ids=[d.id for d in docs], metadata=[d.metadata for d in docs]
        )
        sp.add(OFF_TOPIC, ids=[f"planted-{i}" for i in range(len(OFF_TOPIC))])
    return path


# -- duplicates ------------------------------------------------------------------------------
def test_default_threshold_is_calibrated_for_the_packaged_model(encoder):
    record = calibration(encoder.model_id)
    assert record is not None, "run: python -m benchmarks.duplicates --record"
    # MiniLM puts real paraphrases around 0.6-0.75: a 0.9 cut would find nothing
    assert 0.5 < record["duplicate_threshold"] < 0.85
    assert "MRPC train" in record["duplicate_source"]


def test_seed_paraphrases_pair_up_with_the_default_threshold(tickets):
    with warnings.catch_warnings(), es.Space(tickets, progress=False) as sp:
        warnings.simplefilter("error", EmbedspaceWarning)  # calibrated: no fallback warning
        groups = sp.duplicates()
    grouped = [set(g) for g in groups]
    assert any({"delivery-1", "delivery-2"} <= g for g in grouped)
    assert any({"crash-1", "crash-2"} <= g for g in grouped)
    for g in grouped:  # paraphrases of one problem never join another problem
        assert len({i.split("-")[0] for i in g}) == 1, g
    for g in groups:
        assert g.ids == list(g) and len(g) >= 2 and not g.exact
        assert all(p[2] >= g.pairs[-1][2] for p in g.pairs)  # best pair first


def test_a_strict_threshold_finds_fewer_pairs(tickets):
    with es.Space(tickets, progress=False) as sp:
        loose = sum(len(g.pairs) for g in sp.duplicates(0.5))
        strict = sum(len(g.pairs) for g in sp.duplicates(0.95))
        with pytest.raises(InvalidInputError, match="between -1 and 1"):
            sp.duplicates(1.5)
    assert loose > strict == 0


def test_exact_copies_are_grouped_by_content_hash(space):
    space.add(["Where is my refund?"] * 3 + ["Totally different text"], ids=["a", "b", "c", "d"])
    groups = space.duplicates(0.99)
    assert len(groups) == 1
    assert set(groups[0]) == {"a", "b", "c"} and groups[0].exact and groups[0].score == 1.0


def _planted_vectors(n=400, dim=32, seed=0):
    """Random unit vectors, every 10th with a near copy (cosine ~0.97)."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n, dim)).astype(np.float32)
    copies = base[::10] + 0.25 * rng.standard_normal((n // 10, dim)).astype(np.float32) / np.sqrt(
        dim / 16
    )
    vectors = np.concatenate([base, copies])
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _brute_force_pairs(vectors, threshold):
    sims = vectors @ vectors.T
    i, j = np.nonzero(np.triu(sims >= threshold, k=1))
    return {(int(a), int(b)) for a, b in zip(i, j, strict=True)}


@pytest.mark.parametrize("index", ["exact", "hnsw"])
def test_duplicates_match_brute_force_on_own_vectors(tmp_path, index):
    vectors = _planted_vectors()
    ids = [str(i) for i in range(len(vectors))]
    with es.Space(tmp_path / "v.space", model=None, dim=vectors.shape[1], index=index) as sp:
        sp.add_vectors(vectors, ids=ids)
        with pytest.warns(EmbedspaceWarning, match="no calibrated duplicate threshold"):
            sp.duplicates()  # no model: documented fallback, with a warning
        groups = sp.duplicates(0.9)
        assert sp.info()["index"] == index
    found = {tuple(sorted((int(a), int(b)))) for g in groups for a, b, _ in g.pairs}
    truth = _brute_force_pairs(vectors, 0.9)
    assert len(truth) >= 35
    assert found == truth


def test_neighbour_graph_exact_and_hnsw_agree():
    vectors = _planted_vectors(n=600)
    exact = knn_graph(vectors, 5)
    approx = knn_graph(vectors, 5, searcher=_hnsw_searcher(vectors))
    assert (exact.indices != np.arange(len(vectors))[:, None]).all()  # never itself
    recall = np.mean(
        [len(set(a) & set(b)) / 5 for a, b in zip(exact.indices, approx.indices, strict=True)]
    )
    assert recall > 0.95
    rows = np.arange(len(vectors))[:, None]
    np.testing.assert_allclose(
        exact.scores,
        np.einsum("ikd,id->ik", vectors[exact.indices], vectors[rows[:, 0]]),
        atol=1e-5,
    )
    assert (np.diff(exact.scores, axis=1) <= 1e-6).all()  # best first


def test_best_f1_threshold():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    labels = np.array([1, 1, 0, 1, 0, 0])
    threshold, f1 = best_f1_threshold(scores, labels)
    assert 0.5 < threshold < 0.6 and f1 == pytest.approx(6 / 7)  # tp 3, fp 1, fn 0


def test_steady_threshold_is_the_middle_of_a_flat_f1_optimum():
    """On MRPC-shaped cosines (2,700 paraphrases, 1,300 not) F1 is flat near its best, so
    small moves of the cosines (what other batch-mates do to int8 vectors) make its argmax
    jump; the steady threshold (middle of the near-best cuts) moves far less."""
    rng = np.random.default_rng(0)
    scores = np.r_[rng.normal(0.7, 0.1, 2700), rng.normal(0.5, 0.12, 1300)]
    labels = np.r_[np.ones(2700, bool), np.zeros(1300, bool)]
    steady, f1 = steady_f1_threshold(scores, labels)
    assert best_f1_threshold(scores, labels)[1] - 0.005 <= f1
    moved = []
    for _ in range(30):
        noisy = scores + rng.normal(0, 0.003, len(scores))
        moved.append((steady_f1_threshold(noisy, labels)[0], best_f1_threshold(noisy, labels)[0]))
    steady_spread, argmax_spread = np.ptp(np.array(moved), axis=0)
    assert steady_spread < argmax_spread / 2 and abs(np.mean(moved, axis=0)[0] - steady) < 0.005


# -- clusters --------------------------------------------------------------------------------
def test_kmeans_finds_the_three_topics_and_names_them(tickets):
    with es.Space(tickets, progress=False) as sp:
        clusters = sp.clusters(k=3)
        auto = sp.clusters()
    assert sorted(c.size for c in clusters) == [4, 4, 4]
    for c in clusters:
        assert len({i.split("-")[0] for i in c}) == 1, c.ids
        assert c.central[0] in c.ids and len(c.central) == 3
        assert len(c.terms) == 3 and c.label == ", ".join(c.terms)
    labels = " ".join(c.label for c in clusters)
    assert "password" in labels and "camera" in labels or "app" in labels
    assert [c.id for c in clusters] == [0, 1, 2]
    assert 2 <= len(auto) <= 6 and sum(c.size for c in auto) == len(TICKETS)


def test_hdbscan_finds_the_topics_and_leaves_off_topic_items_as_noise(tmp_path):
    with es.Space(tmp_path / "t.space", progress=False) as sp:
        sp.add(list(TICKETS.values()) + OFF_TOPIC, ids=list(TICKETS) + [f"x{i}" for i in range(5)])
        clusters = sp.clusters(method="hdbscan", min_size=4)
        with pytest.raises(InvalidInputError, match="leave k unset"):
            sp.clusters(k=3, method="hdbscan")
        with pytest.raises(InvalidInputError, match="method must be one of"):
            sp.clusters(method="spectral")
    assert len(clusters) == 3
    for c in clusters:  # one topic per cluster, all of it
        topics = {i.split("-")[0] for i in c.ids if not i.startswith("x")}
        assert len(topics) == 1
        topic = topics.pop()
        assert {i for i in TICKETS if i.startswith(topic)} <= set(c.ids)
    noise = {f"x{i}" for i in range(5)} - {i for c in clusters for i in c.ids}
    assert len(noise) >= 4  # the router "reset" text may sit with the password resets
    assert "hasn" not in " ".join(c.label for c in clusters)  # contractions are no label


def test_hdbscan_noise_can_join_its_nearest_cluster(tmp_path):
    with es.Space(tmp_path / "t.space", progress=False) as sp:
        sp.add(list(TICKETS.values()) + OFF_TOPIC, ids=list(TICKETS) + [f"x{i}" for i in range(5)])
        kept = sp.clusters(method="hdbscan", min_size=4)
        joined = sp.clusters(method="hdbscan", min_size=4, noise="nearest")
        with pytest.raises(InvalidInputError, match="noise must be one of"):
            sp.clusters(method="hdbscan", noise="drop")
    assert sum(c.size for c in joined) == len(TICKETS) + len(OFF_TOPIC)  # every item placed
    assert len(joined) == len(kept)
    by_members = {frozenset(i for i in c.ids if not i.startswith("x")): c for c in joined}
    for c in kept:  # the clusters' own members stay together; only noise was added
        on_topic = frozenset(i for i in c.ids if not i.startswith("x"))
        assert set(c.ids) <= set(by_members[on_topic].ids)


def test_noise_joins_the_cluster_with_the_closest_centre():
    matrix = np.array([[1, 0], [0.98, 0.2], [0, 1], [0.2, 0.98], [0.9, 0.44], [0.3, 0.95]])
    matrix = (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)
    labels = np.array([0, 0, 1, 1, -1, -1])
    assert nearest_cluster_for_noise(matrix, labels).tolist() == [0, 0, 1, 1, 0, 1]
    assert nearest_cluster_for_noise(matrix, np.full(6, -1)).tolist() == [-1] * 6


def test_hdbscan_works_on_principal_components_of_large_high_dimensional_sets():
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(12, 384))
    topic = rng.integers(0, 12, 1200)
    vectors = centres[topic] + 0.9 * rng.normal(size=(1200, 384))  # overlapping shells
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    reduced = reduced_for_density(vectors)
    assert reduced.shape == (1200, HDBSCAN_COMPONENTS)
    np.testing.assert_allclose(np.linalg.norm(reduced, axis=1), 1.0, rtol=1e-5)
    small = vectors[:150]  # too few items to estimate 50 directions: left as they are
    assert reduced_for_density(small) is small
    labels = hdbscan_labels(vectors, 5)
    found = labels >= 0
    assert len(set(labels[found])) == 12 and found.mean() > 0.8
    for cluster in set(labels[found]):  # every cluster is one planted topic
        assert len(set(topic[labels == cluster])) == 1


# -- outliers --------------------------------------------------------------------------------
@pytest.mark.parametrize("by", ["lof", "knn"])
def test_planted_off_topic_items_come_out_on_top(movies_with_planted, by):
    with es.Space(movies_with_planted, progress=False) as sp:
        top = sp.outliers(k=20, by=by, limit=len(OFF_TOPIC) + 1)
    planted = {f"planted-{i}" for i in range(len(OFF_TOPIC))}
    # All five among the top six of 165 items, the first four all planted: LOF can put one
    # odd real review (a near tie) between them; k-NN distance ranks them exactly first.
    assert planted <= {o.id for o in top}
    assert {o.id for o in top[:4]} <= planted
    assert all(o.score == (o.lof if by == "lof" else o.knn_distance) for o in top)


def test_lof_matches_scikit_learn():
    from sklearn.neighbors import LocalOutlierFactor

    vectors = _planted_vectors(n=300, seed=3)
    ours = outlier_scores(knn_graph(vectors, 10))[1]
    reference = LocalOutlierFactor(n_neighbors=10, metric="cosine").fit(vectors)
    np.testing.assert_allclose(ours, -reference.negative_outlier_factor_, rtol=1e-3)


# -- recommendations -------------------------------------------------------------------------
def test_recommend_from_history_excludes_seen_items(tickets):
    with es.Space(tickets, progress=False) as sp:
        hits = sp.recommend(["delivery-1"], k=3)
        assert "delivery-1" not in [h.id for h in hits]
        assert hits[0].id == "delivery-2"
        assert all(h.id.startswith("delivery") for h in hits)
        liked = sp.recommend(["delivery-1", "login-1"], k=4, exclude=["delivery-2"])
        assert {"delivery-1", "login-1", "delivery-2"}.isdisjoint(h.id for h in liked)
        assert {h.id.split("-")[0] for h in liked} == {"delivery", "login"}


def test_dislikes_push_the_profile_away(tickets):
    with es.Space(tickets, progress=False) as sp:
        plain = sp.recommend(["login-3"], k=11)
        pushed = sp.recommend(["login-3"], ["delivery-1"], k=10)
    rank = {h.id: r for r, h in enumerate(plain)}
    rank_pushed = {h.id: r for r, h in enumerate(pushed)}
    # "the reset email never arrives" is half delivery: disliking a delivery ticket sinks them
    assert rank_pushed["delivery-2"] > rank["delivery-2"]
    assert all(h.id != "delivery-1" for h in pushed)


def test_recommend_from_a_typed_description_and_texts(tickets):
    with es.Space(tickets, progress=False) as sp:
        by_query = sp.recommend(query="my photos make the app quit", k=2)
        by_text = sp.recommend(["my photos make the app quit"], k=2)
        assert {h.id.split("-")[0] for h in by_query} == {"crash"}
        assert [h.id for h in by_text] == [h.id for h in by_query]
        with pytest.raises(InvalidInputError, match="need something liked"):
            sp.recommend([], ["login-1"])
        with pytest.raises(InvalidInputError, match="diversity"):
            sp.recommend(["login-1"], diversity=2)


def test_diversity_spreads_results_over_topics(tickets):
    with es.Space(tickets, progress=False) as sp:
        focused = sp.recommend(query="problems with my account and my order", k=4)
        varied = sp.recommend(query="problems with my account and my order", k=4, diversity=0.7)
    topics = lambda hits: {h.id.split("-")[0] for h in hits}  # noqa: E731
    assert len(topics(varied)) >= len(topics(focused))
    assert len(topics(varied)) >= 2
    assert all(a.score >= b.score for a, b in zip(focused, focused[1:], strict=False))


# -- bulk zero-shot --------------------------------------------------------------------------
def test_classify_all_labels_every_ticket(tickets):
    with es.Space(tickets, progress=False) as sp:
        labelled = sp.classify_all(TOPIC_LABELS)
        some = sp.classify_all(TOPIC_LABELS, ["crash-1", "login-2"])
        single = sp.classify("crash-1", TOPIC_LABELS)
        with pytest.raises(ItemNotFoundError):
            sp.classify_all(TOPIC_LABELS, ["nope"])
        with pytest.raises(InvalidInputError, match="at least two"):
            sp.classify_all(["one"])
    correct = sum(
        ranked[0].label == TOPIC_LABELS[TOPIC_OF[id_.split("-")[0]]]
        for id_, ranked in labelled.items()
    )
    assert len(labelled) == len(TICKETS) and correct >= 11
    assert list(some) == ["crash-1", "login-2"]
    assert some["crash-1"][0].label == single[0].label
    assert some["crash-1"][0].score == pytest.approx(single[0].score, abs=1e-5)


# -- command line ----------------------------------------------------------------------------
def test_cli_dupes_cluster_outliers_recommend(tickets):
    space = str(tickets)
    result = runner.invoke(app, ["dupes", space, "--json"])
    assert result.exit_code == 0, result.output
    groups = _json_lines(result.output)
    assert any({"delivery-1", "delivery-2"} <= set(g["ids"]) for g in groups)

    result = runner.invoke(app, ["cluster", space, "--k", "3", "--json", "--members"])
    assert result.exit_code == 0, result.output
    assert sorted(c["size"] for c in _json_lines(result.output)) == [4, 4, 4]
    result = runner.invoke(
        app,
        [
            "cluster",
            space,
            "--method",
            "hdbscan",
            "--min-size",
            "3",
            "--noise",
            "nearest",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert sum(c["size"] for c in _json_lines(result.output)) == len(TICKETS)

    result = runner.invoke(app, ["outliers", space, "--k", "3", "--limit", "2", "--json"])
    assert result.exit_code == 0, result.output
    rows = _json_lines(result.output)
    assert [r["rank"] for r in rows] == [1, 2] and rows[0]["lof"] >= rows[1]["lof"]

    result = runner.invoke(
        app, ["recommend", space, "--liked", "crash-1", "-d", "login-1", "-k", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert _json_lines(result.output)[0]["id"] == "crash-2"

    result = runner.invoke(app, ["dupes", space, "--threshold", "3"])
    assert result.exit_code == 1 and "between -1 and 1" in result.output


def test_cli_classify_a_space_and_still_a_text(tickets):
    space = str(tickets)
    labels = [arg for label in TOPIC_LABELS for arg in ("--labels", label)]
    result = runner.invoke(app, ["classify", space, *labels, "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in _json_lines(result.output)}
    assert len(rows) == len(TICKETS)
    assert rows["login-2"]["label"] == "a login or password problem"
    assert set(rows["login-2"]["scores"]) == set(TOPIC_LABELS)

    result = runner.invoke(
        app, ["classify", space, "crash-1", "my parcel is late", *labels, "--json"]
    )
    rows = {r["id"]: r["label"] for r in _json_lines(result.output)}
    assert rows == {"crash-1": "an app that crashes", "my parcel is late": "a late delivery"}

    result = runner.invoke(
        app, ["classify", "my parcel is late", "-l", "a late delivery", "-l", "a cat", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert _json_lines(result.output)[0]["label"] == "a late delivery"
