"""Images and text in one space, on the packaged image tower and scikit-image's photos."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data, io

import embedspace as es
from embedspace.encoders.registry import load_image_encoder

PHOTOS = ("chelsea", "coffee", "rocket", "camera", "page")
#: What each photo shows, phrased as a person would search for it.
CAPTIONS = {
    "chelsea": "a cat",
    "coffee": "a cup of coffee",
    "rocket": "a rocket",
    "camera": "a man with a camera",
    "page": "a page of printed text",
}


@pytest.fixture(scope="module")
def tower():
    return load_image_encoder("default")


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    for name in PHOTOS:
        io.imsave(folder / f"{name}.png", getattr(data, name)(), check_contrast=False)
    return folder


def test_image_vectors_are_unit_length_in_the_text_space(tower, encoder):
    vectors = es.embed_images([data.chelsea(), data.coffee()])
    assert vectors.shape == (2, encoder.dim) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert tower.model_id.endswith(encoder.model_id)


def test_word_sentence_and_photo_share_a_neighbourhood(encoder):
    """The seeds: the word, a sentence about it and a photo of it land close together."""
    photo = es.embed_images([data.chelsea()])[0]
    cat, sentence, car, stocks = es.embed(
        ["cat", "a kitten playing", "car", "stock markets fell sharply today"]
    )
    assert es.cosine(photo, cat) > es.cosine(photo, car) + 0.1
    assert es.cosine(photo, sentence) > es.cosine(photo, stocks) + 0.1


def test_zero_shot_picks_each_photos_caption():
    labels = list(CAPTIONS.values()) + ["a dog", "a car", "a beach"]
    for name, caption in CAPTIONS.items():
        predictions = es.classify(getattr(data, name)(), labels)
        assert predictions[0].label == caption, (name, predictions[:3])
        assert [p.score for p in predictions] == sorted(
            (p.score for p in predictions), reverse=True
        )


def test_zero_shot_works_on_text_too():
    best = es.classify("I love my new puppy", ["a dog", "a car", "a beach"])[0]
    assert best.label == "a dog"


def test_concepts_say_what_the_tower_saw(tower):
    (coffee,) = tower.concepts([data.coffee()], k=3)
    assert coffee[0][0] == "espresso" and 0.5 < coffee[0][1] <= 1.0


def test_space_holds_texts_and_images_together(space, photo_dir):
    (photo_dir / "broken.jpg").write_text("not an image")
    space.add(["My kitten naps on the windowsill", "Stock markets fell sharply today"])
    report = space.add_images([photo_dir])
    assert (report.added, len(report.skipped)) == (len(PHOTOS), 1)
    assert "broken.jpg" in report.skipped[0]

    hits = space.search("a cat", k=2)
    assert [h.id for h in hits][0] == "chelsea.png"
    assert hits[1].text == "My kitten naps on the windowsill"
    for name, caption in CAPTIONS.items():
        assert space.search(caption, k=1, where={"modality": "image"})[0].id == f"{name}.png"

    item = space.get("coffee.png")
    assert item.metadata["modality"] == "image"
    assert item.metadata["path"] == str((photo_dir / "coffee.png").resolve())
    assert space.classify("chelsea.png", ["a dog", "a cat", "a car"])[0].label == "a cat"
    assert space.search_image(data.rocket(), k=1)[0].id == "rocket.png"

    (photo_dir / "notes.txt").write_text("Cats sleep most of the day.")
    assert space.sync(photo_dir).deleted == 0  # syncing the folder's texts keeps its images
    assert len(space) == 2 + len(PHOTOS) + 1


def test_re_adding_images_embeds_only_what_changed(space, photo_dir, tmp_path):
    assert space.add_images([photo_dir / "*.png"]).added == len(PHOTOS)
    assert space.add_images([photo_dir / "*.png"]).unchanged == len(PHOTOS)
    changed = tmp_path / "coffee.png"
    io.imsave(changed, data.rocket(), check_contrast=False)  # same id, new picture
    report = space.add_images([changed])
    assert (report.updated, report.unchanged) == (1, 0)
    assert space.search("a rocket", k=1)[0].id in {"coffee.png", "rocket.png"}
    assert space.classify("coffee.png", ["a cup of coffee", "a rocket"])[0].label == "a rocket"


def test_bad_image_inputs_raise_embedspace_errors(space, tmp_path):
    with pytest.raises(es.InvalidInputError, match="no file matches"):
        space.add_images([tmp_path / "*.jpg"])
    with pytest.raises(es.UnsupportedFileError):
        es.embed_images([tmp_path])
    with pytest.raises(es.InvalidInputError, match="list of images"):
        es.embed_images(data.coffee())
    with pytest.raises(es.InvalidInputError, match="two distinct labels"):
        es.classify("a puppy", ["a dog"])
