"""Contextual token vectors, pooling choices and the seeds' comparison of averaged word
vectors with the trained bi-encoder, on the packaged models and gensim's Lee corpus."""

from __future__ import annotations

import numpy as np
import pytest

import embedspace as es
from benchmarks.sentences import pair_spearman, read_lee_pairs


def _bank(text: str) -> np.ndarray:
    tokens, vectors = es.token_vectors(text)
    return vectors[tokens.index("bank")]


def test_token_vectors_are_one_per_token_with_specials():
    tokens, vectors = es.token_vectors("I sat by the river bank")
    assert tokens == ["[CLS]", "i", "sat", "by", "the", "river", "bank", "[SEP]"]
    assert vectors.shape == (len(tokens), 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_bank_depends_on_context_but_glove_has_one_vector():
    river = _bank("I sat by the river bank")
    money = _bank("I deposited money at the bank")
    loan = _bank("The bank approved my loan")
    assert float(river @ money) < 0.9  # same word, different vectors
    assert float(money @ loan) > float(river @ money)  # same sense is closer
    # GloVe: one vector per word, whatever the sentence, halfway between the two senses.
    glove = es.words()
    assert glove.similarity("bank", "river") > 0.3 and glove.similarity("bank", "money") > 0.3


def test_pooling_choices_give_distinct_spaces_with_their_own_ids():
    text = ["Refunds are issued within 30 days"]
    mean, cls, maxed = (es.embed(text, pooling=p)[0] for p in ("mean", "cls", "max"))
    np.testing.assert_allclose(mean, es.embed(text)[0], atol=1e-6)
    assert float(mean @ cls) < 0.95 and float(mean @ maxed) < 0.95
    ids = {es.load_encoder("default", pooling=p).model_id for p in ("mean", "cls", "max")}
    assert len(ids) == 3  # a space can never mix vectors of two poolings
    assert es.load_encoder("all-MiniLM-L6-v2+cls") is es.load_encoder("default", pooling="cls")
    tokens, vectors = es.token_vectors(text[0])
    np.testing.assert_allclose(cls, vectors[0], atol=1e-5)  # CLS pooling = the first token


def test_bad_pooling_options_are_embedspace_errors():
    with pytest.raises(es.InvalidInputError, match="pooling"):
        es.embed(["x"], pooling="median")
    with pytest.raises(es.InvalidInputError, match="unknown model option"):
        es.load_encoder("default+median")
    with pytest.raises(es.InvalidInputError, match="pools its own"):
        es.load_encoder("glove", pooling="cls")
    with pytest.raises(es.InvalidInputError, match="token vectors"):
        es.token_vectors("a river bank", model="glove")


def test_bi_encoder_tracks_human_similarity_better_than_averaged_word_vectors():
    """The seeds: averaging word vectors 'works okayish'; a trained bi-encoder does better."""
    pairs = read_lee_pairs()
    assert len(pairs) == 1225
    glove = pair_spearman("glove", pairs)
    dense = pair_spearman("default", pairs)
    assert 0.3 < glove.spearman < dense.spearman  # measured: 0.42 vs 0.51
