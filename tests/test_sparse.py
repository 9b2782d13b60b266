"""The 'before embeddings' ladder as real scorers: one-hot, bag-of-words, TF-IDF, BM25."""

from __future__ import annotations

import numpy as np
import pytest

from embedspace.encoders.sparse import (
    PLAIN_ANALYZER,
    SEARCH_ANALYZER,
    BagOfWordsModel,
    Bm25Model,
    OneHotModel,
    TfIdfModel,
    cosine_sparse,
    sparse_model,
)
from embedspace.errors import InvalidInputError

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


def test_unfitted_and_unknown_models_raise():
    with pytest.raises(InvalidInputError, match="fit"):
        Bm25Model().scores("anything")
    with pytest.raises(InvalidInputError, match="unknown sparse model"):
        sparse_model("word2vec")
