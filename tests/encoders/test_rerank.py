"""The packaged cross-encoder and search(rerank=...): negation, matched passages, loaders."""

from __future__ import annotations

import json
import shutil

import httpx
import pytest
from typer.testing import CliRunner

import embedspace as es
from embedspace.cli import app
from embedspace.encoders.reranker import DEFAULT_RERANKER_DIR
from embedspace.errors import InvalidInputError, ModelNotFoundError

runner = CliRunner()

REVIEWS = [
    "The product is not good",
    "The product is great",
    "Delivery took three weeks and the box was damaged",
    "The battery lasts two days on a single charge",
    "I returned it and got a refund within a week",
]


@pytest.fixture(scope="module")
def cross():
    return es.reranker("default")


def test_negation_scores_clearly_lower_than_a_paraphrase(cross):
    great, negated = cross.score(
        "The product is good", ["The product is great", "The product is not good"]
    )
    assert great - negated > 0.3, (great, negated)
    # the bi-encoder, by contrast, still calls the negation a close match: fp32 gives
    # 0.734 (paraphrase 0.910); int8 recipes land within ~0.01 of it on any CPU
    enc = es.load_encoder("default")
    vectors = enc.encode(["The product is good", "The product is great", "The product is not good"])
    assert vectors[0] @ vectors[2] > 0.65
    assert vectors[0] @ vectors[1] - vectors[0] @ vectors[2] < great - negated


@pytest.mark.parametrize(
    ("query", "positive", "negative"),
    [
        (
            "A man is playing a guitar",
            "A man is playing an instrument",
            "A man is not playing a guitar",
        ),
        ("My order hasn't arrived", "I haven't received my package", "My order arrived early"),
    ],
)
def test_related_beats_contradicting(cross, query, positive, negative):
    good, bad = cross.score(query, [positive, negative])
    assert good > bad, (good, bad)


def test_relevant_answer_ranks_first(cross):
    docs = [
        "Standard delivery takes three to five working days.",
        "Refunds: if you return an item within 30 days we pay the purchase price back.",
        "Gift cards never expire.",
    ]
    scores = cross.score("I'd like my money back", docs)
    assert max(range(3), key=scores.__getitem__) == 1
    assert all(0.0 <= s <= 1.0 for s in scores)


def test_score_checks_its_input(cross):
    assert cross.score("anything", []) == []
    with pytest.raises(InvalidInputError):
        cross.score("  ", ["doc"])
    with pytest.raises(InvalidInputError):
        cross.score("query", "a single string, not a list")


def test_batched_scores_match_single_scores(cross):
    together = cross.score("The product is good", REVIEWS)
    alone = [cross.score("The product is good", [d])[0] for d in REVIEWS]
    # dynamic int8 quantises activations per batch (padding included), so a score moves
    # a little with its batch-mates: close, not bit-identical (docs/models.md)
    assert together == pytest.approx(alone, abs=0.1)


def test_packaged_model_is_small_and_documented():
    assert (DEFAULT_RERANKER_DIR / "model.onnx").stat().st_size < 30 * 2**20
    config = json.loads((DEFAULT_RERANKER_DIR / "config.json").read_text())
    assert 0.0 < config["rerank_weight"] <= 1.0
    training = json.loads((DEFAULT_RERANKER_DIR / "training.json").read_text())
    assert training["config"]["seed"] is not None and training["dev_claims"]


def test_loads_an_onnx_folder_by_path(tmp_path, cross):
    folder = tmp_path / "my-reranker"
    shutil.copytree(DEFAULT_RERANKER_DIR, folder)
    mine = es.reranker(folder)
    assert mine.score("The product is good", REVIEWS) == pytest.approx(
        cross.score("The product is good", REVIEWS), abs=1e-6
    )


def test_bad_folders_say_what_is_missing(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no cross-encoder"):
        es.reranker(tmp_path / "nowhere")
    (tmp_path / "half").mkdir()
    shutil.copy(DEFAULT_RERANKER_DIR / "model.onnx", tmp_path / "half" / "model.onnx")
    with pytest.raises(ModelNotFoundError, match="tokenizer.json"):
        es.reranker(tmp_path / "half")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="neither"):
        es.reranker(tmp_path / "empty")


def test_loads_a_sentence_transformers_cross_encoder_folder(tmp_path):
    st = pytest.importorskip("sentence_transformers")
    from embedspace.encoders.packaged import minilm_reference_dir

    folder = tmp_path / "st-cross"
    st.CrossEncoder(str(minilm_reference_dir()), num_labels=1, device="cpu").save(str(folder))
    model = es.reranker(folder)
    scores = model.score("The product is good", ["The product is great", "Bananas"])
    assert len(scores) == 2 and all(0.0 <= s <= 1.0 for s in scores)


@pytest.fixture
def review_space(space):
    space.add(REVIEWS, ids=[f"r{i}" for i in range(len(REVIEWS))])
    return space


def test_search_rerank_fixes_negation(review_space):
    hits = review_space.search("The product is good", k=2, mode="hybrid", rerank=True)
    assert hits[0].text == "The product is great"
    assert len(hits) == 2


def test_rerank_weight_one_is_the_cross_encoders_order(review_space, cross):
    hits = review_space.search("The product is good", k=5, rerank=True, rerank_weight=1.0)
    direct = cross.score("The product is good", [h.text for h in hits])
    assert [h.score for h in hits] == pytest.approx(direct, abs=0.1)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_rerank_arguments_are_checked(review_space, tmp_path):
    with pytest.raises(InvalidInputError, match="rerank_depth"):
        review_space.search("good", rerank=True, rerank_depth=0)
    with pytest.raises(InvalidInputError, match="rerank_weight"):
        review_space.search("good", rerank=True, rerank_weight=1.5)
    with pytest.raises(ModelNotFoundError):
        review_space.search("good", rerank=str(tmp_path / "missing"))
    with pytest.raises(InvalidInputError, match="rerank must be"):
        review_space.search("good", rerank=3)


def _long_document(demo_docs) -> tuple[str, str]:
    filler = " ".join(d.text for d in demo_docs[:40] if d.metadata["kind"] == "plot")
    needle = "The lighthouse keeper repaired the broken lamp with a spare bulb from the village."
    return filler + " " + needle, needle


def test_rerank_scores_the_matched_chunk_not_the_start(space, demo_docs):
    text, needle = _long_document(demo_docs)
    space.add(
        [text] + [d.text for d in demo_docs[200:230]], ids=["long"] + [f"d{i}" for i in range(30)]
    )
    query = "who fixed the lamp of the lighthouse"
    for mode in ("hybrid", "sparse"):  # sparse hits carry no span: windows are cut on the fly
        hits = space.search(query, k=31, mode=mode, rerank=True, rerank_depth=31)
        hit = next(h for h in hits if h.id == "long")
        assert hit.chunk is not None and needle in hit.chunk_text, mode
        assert hit.chunk[1] - hit.chunk[0] < len(text) / 10  # a passage, not the document


def test_cli_search_rerank(tmp_path):
    path = str(tmp_path / "cli.space")
    with es.Space(path, progress=False) as sp:
        sp.add(REVIEWS)
    result = runner.invoke(
        app,
        [
            "search",
            path,
            "The product is good",
            "--k",
            "2",
            "--mode",
            "hybrid",
            "--rerank",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert rows[0]["text"] == "The product is great"
    bad = runner.invoke(
        app, ["search", path, "good", "--rerank", "--reranker", str(tmp_path / "x")]
    )
    assert bad.exit_code == 1 and "no cross-encoder" in bad.output


def test_server_search_rerank(server_url):
    plain = httpx.post(
        f"{server_url}/search", json={"query": "a funny animated film", "k": 5}
    ).json()
    reranked = httpx.post(  # the first re-rank loads the cross-encoder: slow on a busy CPU
        f"{server_url}/search",
        json={"query": "a funny animated film", "k": 5, "rerank": True},
        timeout=120,
    ).json()
    assert len(reranked["hits"]) == 5
    assert {h["id"] for h in reranked["hits"]} <= {
        h["id"]
        for h in httpx.post(
            f"{server_url}/search", json={"query": "a funny animated film", "k": 50}
        ).json()["hits"]
    }
    assert len(plain["hits"]) == 5
    bad = httpx.post(f"{server_url}/search", json={"query": "x", "rerank": True, "rerank_depth": 0})
    assert bad.status_code in (400, 422)
