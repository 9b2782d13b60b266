"""Static word vectors: the seeds' word examples and the standard quality checks, on the
packaged GloVe 6B 50d and the evaluation sets that ship in gensim's wheel."""

from __future__ import annotations

import numpy as np
import pytest

import embedspace as es
from benchmarks.words import (
    analogy_accuracy,
    gensim_test_data,
    read_analogies,
    read_pairs,
    similarity_spearman,
)


@pytest.fixture(scope="session")
def glove():
    return es.words()


@pytest.mark.parametrize(
    ("a", "b", "c", "expected"),
    [
        ("king", "man", "woman", "queen"),
        ("Paris", "France", "Italy", "rome"),
        ("walking", "walk", "swim", "swimming"),
    ],
)
def test_seed_analogies(glove, a, b, c, expected):
    answers = glove.analogy(a, b, c)
    assert answers[0][0] == expected and len(answers) == 10
    assert not {a.lower(), b.lower(), c.lower()} & {w for w, _ in answers}  # inputs excluded
    assert glove.analogy(a, b, c, k=3, method="mul")[0][0] == expected


def test_analogy_scores_are_ranked_and_restrict_limits_answers(glove):
    answers = glove.analogy("king", "man", "woman", k=5, restrict=5000)
    assert answers[0][0] == "queen"
    scores = [s for _, s in answers]
    assert scores == sorted(scores, reverse=True)
    top = set(glove.vocabulary(5000))
    assert all(w in top for w, _ in answers)
    assert all(
        w in glove.vocabulary(50) for w, _ in glove.analogy("king", "man", "woman", restrict=50)
    )
    assert glove.vocabulary(3) == ["the", ",", "."] and len(glove.vocabulary()) == len(glove)
    with pytest.raises(es.InvalidInputError, match="method"):
        glove.analogy("king", "man", "woman", method="sub")
    with pytest.raises(es.InvalidInputError, match="restrict"):
        glove.analogy("king", "man", "woman", restrict=0)


def test_the_matrix_is_memory_mapped_not_copied(glove):
    """Loading maps the 400k x 50 matrix instead of reading it (speed lives in benchmarks,
    not in timed unit tests): the array is a memmap and answers like the cached one."""
    from embedspace.encoders.registry import _load_glove

    fresh = _load_glove()
    assert isinstance(fresh._matrix, np.memmap)
    assert fresh.similarity("cat", "dog") == pytest.approx(glove.similarity("cat", "dog"))


def test_most_similar_king_has_royalty_and_never_the_word_itself(glove):
    neighbours = glove.most_similar("king", k=5)
    words = [w for w, _ in neighbours]
    assert {"queen", "prince"} <= set(words)
    assert "king" not in words
    scores = [s for _, s in neighbours]
    assert scores == sorted(scores, reverse=True) and all(0 < s <= 1 for s in scores)


def test_most_similar_accepts_a_vector(glove):
    assert glove.most_similar(glove.vector("dog"), k=1)[0][0] == "dog"


def test_closeness_means_similarity(glove):
    assert glove.similarity("cat", "dog") > glove.similarity("cat", "car") + 0.3
    assert glove.similarity("dog", "puppy") > glove.similarity("dog", "refrigerator")


def test_word_similarity_tracks_human_judgements(glove):
    ws353 = similarity_spearman(glove, read_pairs(gensim_test_data("wordsim353.tsv")))
    simlex = similarity_spearman(glove, read_pairs(gensim_test_data("simlex999.txt")))
    assert ws353.covered == ws353.pairs == 353
    assert ws353.spearman > 0.45  # published GloVe 6B 50d: ~0.50
    assert simlex.covered == 999 and simlex.spearman > 0.2  # published: ~0.26


def test_google_analogies_accuracy(glove):
    sections = read_analogies(gensim_test_data("questions-words.txt"))
    assert len(sections) == 14
    results = {name: analogy_accuracy(glove, qs) for name, qs in sections.items()}
    assert results["capital-common-countries"].accuracy > 0.7
    assert results["family"].accuracy > 0.6
    correct = sum(r.correct for r in results.values())
    answered = sum(r.answered for r in results.values())
    assert answered > 14_000 and 0.45 < correct / answered < 0.55  # published: ~0.50


def test_sentence_vector_is_mean_of_word_vectors(glove):
    vectors = glove.encode(["cat dog", "Cat, DOG!", "qwzxv"])
    expected = (glove.vector("cat") + glove.vector("dog")) / 2
    np.testing.assert_allclose(vectors[0], expected / np.linalg.norm(expected), atol=1e-6)
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-6)
    assert not vectors[2].any()  # no known word: no direction rather than a made-up one


def test_word_averages_lose_word_order(glove):
    """The seeds' caveat: averaging 'works okayish but loses word order'."""
    a, b = glove.encode(["the dog bit the man", "the man bit the dog"])
    assert es.cosine(a, b) == pytest.approx(1.0, abs=1e-6)


def test_unknown_word_is_an_embedspace_error(glove):
    with pytest.raises(es.UnknownWordError, match="not among the 400,000 words") as info:
        glove.vector("qwzxvplk")
    assert isinstance(info.value, es.EmbedspaceError) and isinstance(info.value, KeyError)
    with pytest.raises(es.InvalidInputError):
        glove.most_similar("king", k=0)


def test_glove_is_a_packaged_model_and_a_space_encoder(glove, tmp_path):
    assert "glove-6b-50d" in {m.name for m in es.models()}
    assert es.load_encoder("glove") is glove
    with es.Space(tmp_path / "glove.space", model="glove", progress=False) as space:
        space.add(["a kitten sleeps on the sofa", "stock markets fell sharply today"])
        assert space.search("cat", k=1)[0].text.startswith("a kitten")
    with pytest.raises(es.ModelNotFoundError):
        es.words("default")
