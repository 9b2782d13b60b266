"""The packaged image tower's parts: the WordNet concept table, the ConSE recipe and the
trained bridge, and how the default tower combines them."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

import embedspace as es
from embedspace.encoders.bridge import shipped_bridge
from embedspace.encoders.concepts import concept_table
from embedspace.encoders.image import (
    SHIPPED_RECIPE,
    ConceptImageEncoder,
    ImageNetClassifier,
    Recipe,
)
from embedspace.encoders.registry import load_encoder, load_image_encoder


@pytest.fixture(scope="module")
def classifier():
    return ImageNetClassifier()


def test_the_concept_table_is_imagenets_classes_with_their_wordnet_synsets(classifier):
    table = concept_table()
    assert table.names == classifier.labels  # the same 1,000 classes, in the same order
    tabby = table.texts[table.names.index("tabby cat")]
    assert "a cat with a grey or tawny coat" in tabby and "a kind of domestic cat" in tabby
    animal = table.node_names.index("animal")
    below = {table.names[i] for i in np.flatnonzero(table.membership[animal])}
    assert {"tabby cat", "goldfish", "ostrich"} <= below and "espresso" not in below
    cat = table.node_names.index("cat")
    assert 0 < table.specificity[animal] < table.specificity[cat] < 1


def test_hypernyms_are_credited_their_classes_mass_times_specificity():
    table = concept_table()
    probs = np.zeros((1, len(table.names)), np.float32)
    probs[0, table.names.index("tabby cat")] = 0.6
    probs[0, table.names.index("Egyptian Mau")] = 0.3
    credited = table.credit(probs, 0.5)
    assert credited.shape == (1, len(table.names) + len(table.node_names))
    cat = len(table.names) + table.node_names.index("cat")
    assert credited[0, cat] == pytest.approx(0.9 * 0.5 * table.specificity[cat - len(table.names)])
    assert table.credit(probs, 0.0) is probs  # weight 0: the classes alone


def test_recipes_have_distinct_ids_and_the_first_keeps_its_old_one(classifier):
    text = load_encoder("default")
    first = ConceptImageEncoder(text, classifier)
    assert first.model_id == f"conse-top10-names:{classifier.model_id}>{text.model_id}"
    other = ConceptImageEncoder(text, classifier, recipe=Recipe(text="wordnet", hypernyms=0.5))
    assert other.model_id.startswith("conse-top10-wordnet-h0.5:")


def test_wordnet_hypernyms_let_generic_words_find_photos(classifier):
    """With hypernyms credited, "an animal" is closer to the cat than to the coffee and
    the rocket, and "food" closer to the coffee than to the cat."""
    text = load_encoder("default")
    encoder = ConceptImageEncoder(text, classifier, recipe=Recipe(text="wordnet", hypernyms=0.5))
    cat, coffee, rocket = encoder.encode_images([data.chelsea(), data.coffee(), data.rocket()])
    animal, food = text.encode(["an animal", "food"], role="query")
    assert animal @ cat > max(animal @ coffee, animal @ rocket)
    assert food @ coffee > food @ cat


def test_the_default_tower_is_the_shipped_mix_and_others_get_conse_alone():
    bridge = shipped_bridge()
    tower = load_image_encoder("default")
    assert isinstance(tower, ConceptImageEncoder) and tower.bridge == bridge
    assert tower.recipe == SHIPPED_RECIPE and f"+bridge-{bridge.tag}" in tower.model_id
    assert 0 < bridge.mix < 1 and bridge.text_model_id == load_encoder("default").model_id
    glove = load_image_encoder("glove-6b-50d")  # the bridge's targets are MiniLM's
    assert isinstance(glove, ConceptImageEncoder) and glove.bridge is None


def test_the_bridge_runs_on_numpy_into_unit_vectors(classifier):
    logits, features = classifier.forward([data.coffee(), data.rocket()])
    assert features.shape == (2, 1280)
    np.testing.assert_allclose(logits, classifier.logits([data.coffee(), data.rocket()]), atol=1e-4)
    projected = shipped_bridge().project(features)
    assert projected.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(projected, axis=1), 1.0, atol=1e-5)
    assert es.embed_images([data.coffee()]).shape == (1, 384)
