"""es.compare and `embedspace compare`: the seeds' lessons about representations, as
numbers from the real packaged models and a real reference corpus."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import embedspace as es
from embedspace.cli import app

KEYS = ["integer-id", "one-hot", "bag-of-words", "tf-idf", "mean-glove", "dense"]


def test_keys_are_the_six_representations_in_order():
    scores = es.compare("The cat sat on the mat", "A dog lay on the rug")
    assert list(scores) == KEYS
    assert all(isinstance(v, float) and -1.0 <= v <= 1.0 + 1e-6 for v in scores.values())


def test_dense_sees_paris_and_france_one_hot_does_not():
    scores = es.compare("Paris is beautiful", "France is lovely")
    assert scores["one-hot"] == pytest.approx(0.0, abs=1e-9)
    assert scores["bag-of-words"] == pytest.approx(0.0, abs=1e-9)
    assert scores["dense"] > 0.6  # measured 0.72
    assert scores["mean-glove"] > 0.8  # word vectors know the words are related


@pytest.mark.parametrize(
    ("a", "b"),
    [("I love cats", "I hate cats"), ("The product is good", "The product is not good")],
)
def test_negation_blindness(a, b):
    """Opposite meanings, yet the dense model still calls them similar."""
    scores = es.compare(a, b)
    assert scores["dense"] > 0.7  # measured 0.81 and 0.73
    assert scores["mean-glove"] > 0.9
    assert 0.5 < scores["one-hot"] < 1.0  # the changed word is visible to sparse models


def test_word_order_is_invisible_to_bags_and_averages():
    scores = es.compare("dog bites man", "man bites dog")
    for key in ("one-hot", "bag-of-words", "tf-idf", "mean-glove"):
        assert scores[key] == pytest.approx(1.0, abs=1e-6), key
    assert scores["dense"] < 0.99  # the transformer sees order (a little): measured 0.90
    assert scores["integer-id"] < 0.99  # ids see order, for no meaningful reason


def test_integer_ids_invent_similarity():
    """As 1-d vectors of ids, any two one-word texts point the same way."""
    unrelated = es.compare("cat", "refrigerator")
    assert unrelated["integer-id"] == pytest.approx(1.0)
    assert unrelated["dense"] < 0.5 and unrelated["one-hot"] == 0.0


def test_tf_idf_uses_corpus_rarity():
    """Sharing a rare word ("cats") weighs more than sharing a common one ("love")."""
    rare = es.compare("I love cats", "I hate cats")["tf-idf"]
    common = es.compare("I love cats", "I love dogs")["tf-idf"]
    assert rare > common


def test_empty_text_is_an_embedspace_error():
    with pytest.raises(es.InvalidInputError, match="two texts"):
        es.compare("", "France is lovely")


def test_cli_compare_table_and_json():
    runner = CliRunner()
    result = runner.invoke(app, ["compare", "dog bites man", "man bites dog", "--json"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.output)
    assert row["bag-of-words"] == pytest.approx(1.0) and set(KEYS) <= set(row)
    result = runner.invoke(app, ["compare", "Paris is beautiful", "France is lovely"])
    assert result.exit_code == 0 and "tf-idf" in result.output and "dense" in result.output
