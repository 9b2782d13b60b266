"""Hybrid search must be safe to leave on: it keeps dense accuracy on paraphrases and
small FAQs, and catches exact keywords dense search misses."""

from __future__ import annotations

import math
import warnings

import pytest

import embedspace as es
from benchmarks.shop_faq import SHOP_ANSWERS, SHOP_QUESTIONS
from embedspace.search.hybrid import GATE_START, keyword_gate

FAQ = {
    "refund": "Refunds: if you return an item within 30 days we pay the purchase price back to your card.",
    "cancel": "To cancel an order that has not shipped yet, open My Orders and choose Cancel.",
    "shipping": "Standard delivery takes three to five working days; express arrives the next day.",
    "password": "Forgot your password? Use the reset link on the sign-in page.",
    "giftcard": "Gift cards never expire and can be used for any product in the store.",
    "warranty": "All electronics carry a two year manufacturer warranty against defects.",
    "address": "You can change the delivery address until the parcel leaves our warehouse.",
    "stores": "Our shops are open from nine in the morning until eight in the evening.",
}
# Paraphrased questions that share (almost) no words with their answer.
PARAPHRASES = {
    "I'd like my money back": "refund",
    "how do I stop my purchase before it is sent": "cancel",
    "when will my parcel get here": "shipping",
    "I can't log in anymore": "password",
    "does my voucher have a time limit": "giftcard",
    "my laptop broke after a year, is it covered": "warranty",
    "what time do you open": "stores",
}


@pytest.fixture
def faq_space(space):
    space.add(list(FAQ.values()), ids=list(FAQ))
    return space


def _accuracy(space, **kwargs) -> float:
    hits = [space.search(q, k=1, **kwargs)[0].id == want for q, want in PARAPHRASES.items()]
    return sum(hits) / len(hits)


def test_hybrid_keeps_dense_accuracy_on_paraphrases(faq_space):
    dense = _accuracy(faq_space, mode="dense")
    assert dense >= 5 / 7
    # the default fusion may lose at most one of the seven paraphrases to keyword noise
    assert _accuracy(faq_space, mode="hybrid") >= dense - 1 / 7
    assert faq_space.search("I'd like my money back", k=1, mode="hybrid")[0].id == "refund"


@pytest.fixture
def shop_space(space):
    space.add(list(SHOP_ANSWERS.values()), ids=list(SHOP_ANSWERS))
    return space


def test_small_faq_hybrid_keeps_dense_top1(shop_space):
    """The issue's case: 24 short shop answers, 48 paraphrased customer questions. The
    old bound (only the query words the corpus has) let one incidental match win: hybrid
    top-1 fell from ~0.8 to ~0.5. Now it may lose at most two questions to dense."""

    def top1(**kwargs) -> float:
        return sum(
            shop_space.search(q, k=1, **kwargs)[0].id == want for q, want in SHOP_QUESTIONS
        ) / len(SHOP_QUESTIONS)

    assert top1(mode="hybrid") >= top1(mode="dense") - 2 / len(SHOP_QUESTIONS)


@pytest.mark.parametrize("fusion", ["convex", "rrf"])
def test_a_query_whose_words_mostly_match_nothing_ranks_as_dense(shop_space, fusion):
    # "parcel" occurs in one unrelated answer; "still", "shown" nowhere; the rest are
    # function words and the "t" of "hasn't", which earn nothing
    query = "my parcel still hasn't shown up"
    dense = [h.id for h in shop_space.search(query, k=24, mode="dense")]
    assert [h.id for h in shop_space.search(query, k=24, mode="hybrid", fusion=fusion)] == dense


def test_keyword_gate_opens_with_query_coverage():
    assert keyword_gate(0.0) == keyword_gate(GATE_START) == 0.0
    assert 0.0 < keyword_gate((1 + GATE_START) / 2) < 1.0
    assert keyword_gate(1.0) == keyword_gate(None) == 1.0


def test_rrf_gives_no_keyword_credit_to_non_matching_items(faq_space):
    hits = faq_space.search("warranty", k=8, mode="hybrid", fusion="rrf")
    assert hits[0].id == "warranty"
    sparse_ids = {h.id for h in faq_space.search("warranty", k=8, mode="sparse")}
    assert sparse_ids == {"warranty"}  # only the item that contains the word


def test_hybrid_finds_exact_codes_dense_misses(space):
    # Support tickets where only an error code tells them apart: keywords matter.
    tickets = [f"Printer shows error E-{code} and stops printing" for code in range(4000, 4040)]
    space.add(tickets, ids=[f"t{code}" for code in range(4000, 4040)])
    query = "error E-4031 on my printer"
    assert space.search(query, k=1, mode="sparse")[0].id == "t4031"
    assert space.search(query, k=1, mode="hybrid")[0].id == "t4031"
    assert space.search(query, k=1, mode="hybrid", fusion="rrf")[0].id == "t4031"


def test_fusion_arguments_are_checked(faq_space):
    with pytest.raises(es.InvalidInputError, match="fusion"):
        faq_space.search("x", mode="hybrid", fusion="max")
    with pytest.raises(es.InvalidInputError, match="alpha"):
        faq_space.search("x", mode="hybrid", alpha=2.0)


def test_keyword_search_follows_writes_like_a_fresh_space(faq_space, tmp_path):
    """The keyword index is caught up after writes, not rebuilt: after a delete, an edit
    and an add, keyword results equal those of a space built afresh. (Only keyword
    scores are compared: the fresh space embeds its texts in other batches, which moves
    int8 dense scores by a few thousandths.)"""
    queries = [*PARAPHRASES, "warranty refund", "laptop repairs", "delivery address"]
    for query in queries:  # build the keyword index before the writes
        faq_space.search(query, mode="hybrid")
    faq_space.delete("warranty")
    faq_space.update("refund", text="Refunds and returns: we refund the price within 30 days.")
    faq_space.add(["Our warranty desk repairs broken laptops for free."], ids=["repairs"])
    with es.Space(tmp_path / "fresh.space", progress=False) as fresh:
        items = faq_space.items(faq_space.ids())
        fresh.add([it.text for it in items], ids=[it.id for it in items])
        for query in queries:
            got = [(h.id, round(h.score, 5)) for h in faq_space.search(query, mode="sparse")]
            want = [(h.id, round(h.score, 5)) for h in fresh.search(query, mode="sparse")]
            assert got == want, query
    assert faq_space.search("warranty", k=1, mode="hybrid")[0].id == "repairs"
    assert faq_space.search("refund returns", k=1, mode="sparse")[0].id == "refund"


MODES = ("dense", "sparse", "hybrid")


def _check_ranking(space, query: str, mode: str, k: int = 10) -> list[str]:
    """Search twice: no error, finite scores, best first, the same ranking both times."""
    hits = space.search(query, k=k, mode=mode)
    again = space.search(query, k=k, mode=mode)
    scores = [h.score for h in hits]
    assert all(math.isfinite(s) for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert [h.id for h in hits] == [h.id for h in again]
    return [h.id for h in hits]


@pytest.mark.parametrize("query", ["the of and to", "?!... ---", "it's what they haven't"])
def test_a_query_of_stop_words_or_punctuation_ranks_as_dense(faq_space, query):
    dense = _check_ranking(faq_space, query, "dense")
    assert len(dense) == len(FAQ)
    assert _check_ranking(faq_space, query, "sparse") == []  # no word to match
    assert _check_ranking(faq_space, query, "hybrid") == dense


def test_a_query_longer_than_the_model_window(faq_space):
    query = " ".join(["how do I get a refund for the item I returned"] * 120)  # ~1,300 tokens
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", es.EmbedspaceWarning)  # truncation is reported
        for mode in MODES:
            assert _check_ranking(faq_space, query, mode)[0] == "refund"


def test_a_corpus_of_one_document(space):
    space.add(["Gift cards never expire."], ids=["only"])
    for mode in MODES:
        assert _check_ranking(space, "do gift cards expire?", mode) == ["only"]
    assert _check_ranking(space, "a parcel that never came", "dense") == ["only"]
    assert _check_ranking(space, "a parcel that never came", "hybrid") == ["only"]


def test_a_corpus_of_identical_documents(space):
    ids = [f"copy{n}" for n in range(6)]
    space.add(["Refunds are paid within 30 days."] * len(ids), ids=ids)
    for mode in MODES:
        ranked = _check_ranking(space, "when are refunds paid", mode)
        assert sorted(ranked) == ids
        scores = {round(h.score, 4) for h in space.search("when are refunds paid", mode=mode)}
        assert len(scores) == 1  # a tie, ranked the same way every time
