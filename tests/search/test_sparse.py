"""The 'before embeddings' ladder as real scorers: one-hot, bag-of-words, TF-IDF, BM25."""

from __future__ import annotations

import numpy as np
import pytest

from embedspace.errors import InvalidInputError
from embedspace.scoring.sparse import (
    PLAIN_ANALYZER,
    QUERY_ANALYZER,
    SEARCH_ANALYZER,
    SPARSE_MODELS,
    BagOfWordsModel,
    Bm25Model,
    OneHotModel,
    TfIdfModel,
    cosine_sparse,
    sparse_model,
)
from embedspace.search.sparse import SparseSearcher

CORPUS = [
    "The cat sat on the mat",
    "The dog chased the cat around the garden",
    "Photosynthesis converts light into chemical energy in plants",
    "The product is good",
    "The product is not good",
    "Stock markets fell sharply on Monday",
]


def _pair_cosine(model, a: str, b: str) -> float:
    model.fit(CORPUS)
    va, vb = model.transform([a]), model.transform([b])
    return cosine_sparse(va, vb)


def test_analyzers():
    assert PLAIN_ANALYZER("The Cats, the DOGS!") == ["the", "cats", "the", "dogs"]
    assert SEARCH_ANALYZER("The cats were running") == ["cat", "were", "run"]


def test_bag_of_words_counts_and_negation_blindness():
    model = BagOfWordsModel().fit(CORPUS)
    vec = model.transform(["the cat sat on the mat"]).toarray()[0]
    assert vec[model.vocabulary["the"]] == pytest.approx(2 * vec[model.vocabulary["cat"]])
    # "not good" vs "good": almost identical count vectors (the seed's lesson)
    assert _pair_cosine(BagOfWordsModel(), "The product is good", "The product is not good") > 0.85


def test_one_hot_is_blind_to_synonyms():
    assert _pair_cosine(OneHotModel(), "happy dog", "joyful puppy") == 0.0


def test_tfidf_downweights_common_words():
    model = TfIdfModel().fit(CORPUS)
    idf = model.idf()
    assert idf[model.vocabulary["photosynthesis"]] > idf[model.vocabulary["the"]]
    # sharing only "the" counts for less under TF-IDF than under bag-of-words
    a, b = "the garden", "the mat"
    assert _pair_cosine(TfIdfModel(), a, b) < _pair_cosine(BagOfWordsModel(), a, b)


def test_bm25_ranks_keyword_match_first_and_respects_bound():
    model = Bm25Model().fit(CORPUS)
    scores = model.scores("photosynthesis in plants")
    assert int(np.argmax(scores)) == 2
    assert scores.max() <= model.max_score("photosynthesis in plants") + 1e-6
    assert model.scores("zzzz unknown words").max() == 0.0


def test_bm25_bound_counts_words_the_corpus_has_never_seen():
    """The bound is over every query word, unseen ones at the idf of a word no document
    has: one matching word of four earns a fraction of its credit alone, not all of it."""
    model = Bm25Model().fit(CORPUS)
    alone, diluted = "photosynthesis", "photosynthesis quokka zebra yodel"
    best = model.scores(diluted).max()
    assert best == pytest.approx(model.scores(alone).max())
    assert best / model.max_score(diluted) < best / model.max_score(alone) / 3
    assert model.bound(alone).coverage == 1.0
    assert model.bound(diluted).coverage < 0.35
    assert model.bound("zzzz unknown words").coverage == 0.0


def test_bm25_gives_function_words_and_one_letter_tokens_no_credit():
    model = Bm25Model().fit([*CORPUS, "It's what they haven't done: s t a"])
    assert QUERY_ANALYZER("What's the cat doing? It hasn't eaten") == ["cat", "eaten"]
    for query in ("what is it, and how?", "s t", "!!! ???"):
        assert model.scores(query).max() == 0.0
        assert model.bound(query).total == 0.0 and model.bound(query).coverage == 0.0
    # documents still index those words: only a query is not credited for them
    assert "haven" in model.vocabulary


def test_unfitted_and_unknown_models_raise():
    with pytest.raises(InvalidInputError, match="fit"):
        Bm25Model().scores("anything")
    with pytest.raises(InvalidInputError, match="unknown sparse model"):
        sparse_model("word2vec")


@pytest.mark.parametrize("name", sorted(SPARSE_MODELS))
def test_keyword_index_catches_up_by_analysing_only_changed_texts(name, demo_docs):
    """After deletes, edits and adds, the updated searcher scores exactly like one built
    from scratch, and only the new or changed texts were analysed again."""
    texts = [d.text for d in demo_docs[:400]]
    first = SparseSearcher(name).updated(np.arange(len(texts)), texts)
    rng = np.random.default_rng(7)
    keep = np.sort(rng.permutation(len(texts))[:340])  # 60 deleted
    rowids, current = keep.copy(), [texts[i] for i in keep]
    for i in rng.choice(len(current), 25, replace=False):
        current[i] = current[i].upper() + " quokka"  # 25 edited (new words too)
    rowids = np.concatenate([rowids, 1000 + np.arange(15)])  # 15 added
    current += [f"A brand new review number {i} about a quokka heist" for i in range(15)]

    caught_up = first.updated(rowids, current)
    fresh = SparseSearcher(name).updated(rowids, current)
    assert caught_up.analysed == 40 and fresh.analysed == len(current)
    for query in ("quokka heist", "a detective investigates a murder", "love story", "zzzz"):
        got, want = caught_up.item_scores(query), fresh.item_scores(query)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(
            caught_up.normalised(got, query), fresh.normalised(want, query), atol=1e-6
        )
    # words whose every document is gone score nothing, as if never seen
    gone = SparseSearcher(name).updated(np.array([0]), ["only the quokka stays"])
    emptied = caught_up.updated(np.array([0]), ["only the quokka stays"])
    assert np.allclose(
        emptied.item_scores("detective murder quokka"), gone.item_scores("detective murder quokka")
    )
    assert len(emptied.model.vocabulary) < len(caught_up.model.vocabulary)  # and are dropped
