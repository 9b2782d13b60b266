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


def test_done_means_labels_with_and_without_a_prompt_template():
    """ISSUE 2's check: mixed phrasings, one of them CLIP-style, must not capture the photos."""
    labels = ["a photo of a cat", "a cup of coffee", "a rocket", "a photo of a dog", "a car"]
    for name, expected in (
        ("chelsea", "a photo of a cat"),
        ("coffee", "a cup of coffee"),
        ("rocket", "a rocket"),
    ):
        assert es.classify(getattr(data, name)(), labels)[0].label == expected, name


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

    # the cat photo and the kitten sentence come first, in either order: with the bridge
    # mixed in, the photo's cosine to "a cat" (0.39) is close to the sentence's (0.40);
    # bare-name ConSE put it at 0.70, the photo being the embedding of "tabby cat"
    hits = space.search("a cat", k=2)
    assert "chelsea.png" in {h.id for h in hits}
    assert "My kitten naps on the windowsill" in {h.text for h in hits}
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


def _save(image: np.ndarray, path, **params) -> None:
    from PIL import Image

    Image.fromarray(image).save(path, **params)


def test_formats_orientation_and_transparency(tower, tmp_path):
    """Same photo as JPEG, WebP, GIF, greyscale PNG, RGBA PNG and a sideways JPEG whose
    EXIF says "rotate": every one is read upright and recognised as the cat."""
    from PIL import Image

    cat = data.chelsea()
    _save(cat, tmp_path / "cat.jpg", quality=90)
    _save(cat, tmp_path / "cat.webp")
    Image.fromarray(cat).convert("P").save(tmp_path / "cat.gif")
    _save(np.asarray(Image.fromarray(cat).convert("L")), tmp_path / "grey.png")
    rgba = np.dstack([cat, np.full(cat.shape[:2], 255, np.uint8)])
    rgba[:40, :40, 3] = 0  # a transparent corner
    _save(rgba, tmp_path / "cat-rgba.png")
    sideways = Image.fromarray(cat).rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    sideways.save(tmp_path / "sideways.jpg", exif=exif)

    from embedspace.encoders.image import to_rgb

    assert to_rgb(tmp_path / "sideways.jpg").size == (cat.shape[1], cat.shape[0])  # upright
    assert to_rgb(tmp_path / "cat-rgba.png").getpixel((0, 0)) == (255, 255, 255)  # white
    files = sorted(tmp_path.iterdir())
    labels = ["a cat", "a cup of coffee", "a rocket"]
    for file, vector in zip(files, es.embed_images(files), strict=True):
        best = es.classify(str(file), labels)[0]
        assert best.label == "a cat", file.name
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


def test_corrupt_and_truncated_files_are_skipped_and_nothing_is_lost(space, tmp_path):
    io.imsave(tmp_path / "coffee.png", data.coffee(), check_contrast=False)
    whole = tmp_path / "whole.jpg"
    _save(data.rocket(), whole, quality=90)
    (tmp_path / "truncated.jpg").write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    (tmp_path / "garbage.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    report = space.add_images([tmp_path])
    assert report.added == 2 and len(report.skipped) == 2
    assert any("truncated.jpg" in s for s in report.skipped)
    assert any("garbage.png" in s for s in report.skipped)
    assert {h.id for h in space.search("a cup of coffee", k=5)} == {"coffee.png", "whole.jpg"}
    with pytest.raises(es.UnsupportedFileError, match="truncated.jpg") as info:
        es.embed_images([tmp_path / "truncated.jpg"])
    assert isinstance(info.value, es.EmbedspaceError)


def test_ids_metadata_and_thumbnails(space, photo_dir):
    from PIL import Image

    files = [photo_dir / "chelsea.png", photo_dir / "coffee.png"]
    report = space.add_images(
        files, ids=["cat-photo", "coffee-photo"], metadata=[{"by": "a"}, {"by": "b"}]
    )
    assert report.added == 2
    item = space.get("cat-photo")
    assert item.metadata["by"] == "a" and item.metadata["modality"] == "image"
    thumbnail = space.path / item.metadata["thumbnail"]
    with Image.open(thumbnail) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) <= 256
    assert space.search("a cup of coffee", k=1)[0].id == "coffee-photo"
    with pytest.raises(es.InvalidInputError, match="ids"):
        space.add_images(files, ids=["only-one"])
    with pytest.raises(es.InvalidInputError, match="metadata"):
        space.add_images(files, metadata=[{"by": "a"}])


def test_thumbnails_go_with_the_last_item_that_uses_them(space, photo_dir, tmp_path):
    import shutil

    cat, coffee = photo_dir / "chelsea.png", photo_dir / "coffee.png"
    space.add_images([cat, cat, coffee], ids=["cat", "same-cat", "coffee"])
    folder = space.path / "thumbnails"
    thumb = {i: space.path / space.get(i).metadata["thumbnail"] for i in ("cat", "coffee")}
    assert len(list(folder.iterdir())) == 2  # one file per distinct image
    space.delete("cat")
    assert thumb["cat"].is_file()  # "same-cat" still shows it
    space.delete(["same-cat"])
    assert not thumb["cat"].exists() and thumb["coffee"].is_file()
    space.add_images([photo_dir / "rocket.png"], ids=["coffee"])  # the id gets a new image
    assert not thumb["coffee"].exists() and len(list(folder.iterdir())) == 1
    assert space.check().ok and not space.check().notes

    # check notes what a crash leaves behind; repair removes strays and makes lost ones again
    shutil.copy(
        space.path / space.get("coffee").metadata["thumbnail"], folder / ("0" * 32 + ".jpg")
    )
    (space.path / space.get("coffee").metadata["thumbnail"]).unlink()
    notes = space.check().notes
    assert any("no item uses" in n for n in notes) and any("thumbnail missing" in n for n in notes)
    repaired = space.check(repair=True)
    assert len(repaired.repaired) == 2 and not repaired.notes
    assert [p.name for p in folder.iterdir()] == [
        space.get("coffee").metadata["thumbnail"].split("/")[-1]
    ]


def test_space_classify_takes_an_id_a_text_or_an_image_path(space, photo_dir):
    space.add_images([photo_dir / "rocket.png"])
    labels = ["a cat", "a cup of coffee", "a rocket"]
    assert space.classify("rocket.png", labels)[0].label == "a rocket"  # an id
    assert space.classify(str(photo_dir / "chelsea.png"), labels)[0].label == "a cat"  # a path
    assert space.classify("I need my morning espresso", labels)[0].label == "a cup of coffee"
    assert space.classify(data.coffee(), labels)[0].label == "a cup of coffee"  # an array


def test_space_classify_explicit_forms_never_guess(space, photo_dir):
    """text= is a text even when it names an image file or a stored id; image= and id=
    say what they are; the positional guess gives the same as the explicit form."""
    space.add_images([photo_dir / "rocket.png"])
    labels = ["a cat", "a cup of coffee", "a rocket"]
    by_id = space.classify(id="rocket.png", labels=labels)
    assert by_id == space.classify("rocket.png", labels) and by_id[0].label == "a rocket"
    photo = str(photo_dir / "chelsea.png")
    assert space.classify(image=photo, labels=labels) == space.classify(photo, labels)
    as_text = space.classify(text=photo, labels=labels)
    expected = es.cosine(
        space.encoder.encode([photo], role="document"), space.encoder.encode(labels, role="query")
    )[0]
    assert {p.label: p.score for p in as_text} == pytest.approx(
        dict(zip(labels, expected.tolist(), strict=True)), abs=1e-5
    )
    assert space.classify(text="rocket.png", labels=labels) != by_id  # a text, not the id
    assert space.classify(image=data.coffee(), labels=labels)[0].label == "a cup of coffee"
    with pytest.raises(es.ItemNotFoundError):
        space.classify(id="no such item", labels=labels)
    with pytest.raises(es.InvalidInputError, match="exactly one"):
        space.classify(text="a cat", id="rocket.png", labels=labels)
    with pytest.raises(es.InvalidInputError, match="not both"):
        space.classify("a cat", labels, text="a cat")
    with pytest.raises(es.InvalidInputError, match="labels"):
        space.classify(text="a cat")


def test_classify_predictions_unpack_as_label_score_pairs():
    ranked = es.classify(text="I love my new puppy", labels=["a dog", "a car"])
    label, score = ranked[0]
    assert (label, score) == (ranked[0].label, ranked[0].score) and label == "a dog"
    assert [tuple(p) for p in ranked] == [(p.label, p.score) for p in ranked]
    photo = es.classify(image=data.coffee(), labels=["a cup of coffee", "a rocket"])
    assert photo == es.classify(data.coffee(), ["a cup of coffee", "a rocket"])


def test_cli_search_finds_the_coffee_photo_in_a_mixed_space(photo_dir, tmp_path):
    import json

    from typer.testing import CliRunner

    from embedspace.cli import app

    runner = CliRunner()
    space = str(tmp_path / "mixed.space")
    notes = tmp_path / "notes.txt"
    notes.write_text("Quarterly revenue grew by four percent.")
    assert runner.invoke(app, ["add", space, str(notes)]).exit_code == 0
    result = runner.invoke(app, ["add-images", space, str(photo_dir), "--json"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["search", space, "a cup of coffee", "--k", "3", "--json"])
    assert result.exit_code == 0, result.output
    top = json.loads(result.output.splitlines()[0])
    assert top["id"] == "coffee.png" and top["metadata"]["modality"] == "image"
