"""The real-CLIP path's plumbing, on a tiny randomly initialised CLIPModel built and saved
inside the test (no download). Random weights: this checks shapes, loading, the shared
Space API and reopening, not quality; quality needs real CLIP weights."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data, io

import embedspace as es
from embedspace.encoders.packaged import minilm_reference_dir
from embedspace.encoders.registry import load_image_encoder

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-clip")
    config = transformers.CLIPConfig(
        text_config={
            "vocab_size": 30522,  # the packaged MiniLM tokenizer's vocabulary
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 64,
            "bos_token_id": 101,
            "eos_token_id": 102,
            "pad_token_id": 0,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=16,
    )
    torch.manual_seed(0)
    transformers.CLIPModel(config).save_pretrained(folder)
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_file=str(minilm_reference_dir() / "tokenizer.json"),
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
    )
    tokenizer.save_pretrained(folder)
    return folder


def test_clip_embeds_texts_and_images_in_one_space(tiny_clip):
    clip = es.load_encoder(f"clip:{tiny_clip}")
    assert clip.dim == 16 and clip.modalities == ("text", "image")
    texts = clip.encode(["a cat", "a cup of coffee", "a cat"])
    images = clip.encode_images([data.chelsea(), data.coffee()])
    assert texts.shape == (3, 16) and images.shape == (2, 16)
    np.testing.assert_allclose(np.linalg.norm(images, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(texts[0], texts[2], atol=1e-6)  # deterministic
    assert not np.allclose(images[0], images[1])  # different photos, different vectors
    assert load_image_encoder(clip) is clip  # CLIP is its own image tower (no ConSE)
    np.testing.assert_allclose(
        es.embed_images([data.chelsea()], model=clip)[0], images[0], atol=1e-6
    )


def test_a_space_uses_clip_for_text_and_images_and_reopens(tiny_clip, tmp_path):
    photo = tmp_path / "chelsea.png"
    io.imsave(photo, data.chelsea(), check_contrast=False)
    path = tmp_path / "clip.space"
    with es.Space(path, model=f"clip:{tiny_clip}", progress=False) as space:
        space.add(["a note about cats"])
        assert space.add_images([photo]).added == 1
        assert space.dim == 16 and len(space) == 2
        hits = space.search("a cat", k=2)
        assert {h.id for h in hits} == {"chelsea.png", space.add(["a note about cats"])[0]}
        assert len(space.classify("chelsea.png", ["a cat", "a dog"])) == 2
    with es.Space(path, progress=False) as space:  # reopens with its own model by name
        assert space.encoder.model_id.startswith(f"clip:{tiny_clip}@")


def test_missing_clip_model_is_an_embedspace_error(tmp_path):
    with pytest.raises(es.ModelNotFoundError, match="CLIP"):
        es.load_encoder(f"clip:{tmp_path / 'nothing-here'}")
