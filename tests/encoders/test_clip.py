"""Real CLIP and SigLIP on ONNX, on tiny randomly initialised models built and saved inside
the test (no download). Random weights: this checks the export (ONNX vs torch), the
inputs (vs transformers' processors), the cache and the shared Space API, not quality;
quality needs real weights."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data, io

import embedspace as es
from embedspace.encoders.artifacts import verify_folder
from embedspace.encoders.clip import OnnxClipEncoder, load_clip
from embedspace.encoders.clip_cache import export_dir
from embedspace.encoders.packaged import minilm_reference_dir
from embedspace.encoders.registry import load_image_encoder

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from embedspace.encoders.clip_export import export_clip  # noqa: E402
from embedspace.encoders.clip_torch import TorchClipEncoder  # noqa: E402

SRC = Path(es.__file__).resolve().parent.parent
TEXTS = ["a cat", "a cup of coffee on a table", "x", "a cat", "word " * 100]


def _photos() -> list[np.ndarray]:
    """Photos of several sizes and aspects, a greyscale one and a tiny one."""
    return [data.chelsea(), data.coffee(), data.astronaut()[:, 100:300], data.camera(),
            np.full((1, 1, 3), 200, np.uint8), data.rocket()]  # fmt: skip


def _save_tiny(folder: Path, kind: str, seed: int = 0) -> Path:
    text = {
        "vocab_size": 30522,  # the packaged MiniLM tokenizer's vocabulary
        "hidden_size": 32,
        "intermediate_size": 37,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "max_position_embeddings": 24,
        "bos_token_id": 101,
        "eos_token_id": 102,
        "pad_token_id": 0,
    }
    vision = {"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2,
              "num_attention_heads": 2, "image_size": 32, "patch_size": 8}  # fmt: skip
    torch.manual_seed(seed)
    if kind == "clip":
        config = transformers.CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)
        transformers.CLIPModel(config).save_pretrained(folder)
        processor = transformers.CLIPImageProcessorPil(
            size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
        )
    else:
        config = transformers.SiglipConfig(text_config=text, vision_config=vision)
        transformers.SiglipModel(config).save_pretrained(folder)
        processor = transformers.SiglipImageProcessorPil(
            size={"height": 32, "width": 32}, resample=2
        )
    processor.save_pretrained(folder)
    transformers.PreTrainedTokenizerFast(
        tokenizer_file=str(minilm_reference_dir() / "tokenizer.json"),
        pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]",
        model_max_length=24,
    ).save_pretrained(folder)  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EMBEDSPACE_CACHE", str(root))
        yield root


@pytest.fixture(scope="module", params=["clip", "siglip"])
def tiny(request, tmp_path_factory, cache):
    return _save_tiny(tmp_path_factory.mktemp(f"tiny-{request.param}"), request.param)


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory, cache):
    return _save_tiny(tmp_path_factory.mktemp("tiny-clip-space"), "clip")


def _fp32_export(folder: Path, into: Path) -> OnnxClipEncoder:
    into.mkdir()
    export_clip(folder, into, precision="fp32")
    return OnnxClipEncoder(verify_folder(into), str(folder))


def test_fp32_onnx_towers_agree_with_torch(tiny, tmp_path):
    onnx = _fp32_export(tiny, tmp_path / "export")
    reference = TorchClipEncoder(str(tiny))
    assert onnx.precision == {"text": "fp32", "vision": "fp32"}
    assert onnx.model_id == reference.model_id  # same vectors, same space
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the 100-word text is truncated, with a warning
        np.testing.assert_allclose(onnx.encode(TEXTS), reference.encode(TEXTS), atol=1e-4)
    photos = _photos()
    np.testing.assert_allclose(
        onnx.encode_images(photos), reference.encode_images(photos), atol=1e-4
    )


def test_torch_reference_is_the_transformers_model(tiny):
    """The reference's inputs are transformers' own: same ids, same pixels, same vectors."""
    reference = TorchClipEncoder(str(tiny))
    model = transformers.AutoModel.from_pretrained(tiny).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny)
    processor = transformers.AutoImageProcessor.from_pretrained(tiny)
    siglip = reference.model_type == "siglip"
    tokens = tokenizer(TEXTS, padding="max_length" if siglip else True, truncation=True,
                       max_length=reference.max_tokens, return_tensors="pt")  # fmt: skip
    if siglip:
        del tokens["attention_mask"]  # SigLIP's tokenizer gives none (pads to max_length)
    tokens.pop("token_type_ids", None)
    rgb = [Image.fromarray(p).convert("RGB") for p in _photos()]
    pixels = processor(images=rgb, return_tensors="np")["pixel_values"]
    np.testing.assert_allclose(reference.image_recipe.batch(rgb), pixels, atol=1e-5)
    with torch.inference_mode():
        texts = model.get_text_features(**tokens).pooler_output.numpy()
        images = model.get_image_features(pixel_values=torch.from_numpy(pixels)).pooler_output
    unit = lambda v: v / np.linalg.norm(v, axis=1, keepdims=True)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(reference.encode(TEXTS), unit(texts), atol=1e-5)
    np.testing.assert_allclose(reference.encode_images(rgb), unit(images.numpy()), atol=1e-5)


def test_clip_scheme_exports_once_and_int8_follows_the_measured_cosine(tiny):
    encoder = load_clip(str(tiny))
    manifest = json.loads((encoder.export_folder / "manifest.json").read_text())
    for tower in ("text", "vision"):
        check = manifest["checks"][tower]
        assert check["fp32_max_abs_diff_vs_torch"] <= 1e-4
        expected = "int8" if check["int8_min_cosine_vs_fp32"] >= 0.99 else "fp32"
        assert manifest["precision"][tower] == expected == encoder.precision[tower]
    assert encoder.export_folder == export_dir(tiny)
    reference = TorchClipEncoder(str(tiny))
    cosines = (encoder.encode(TEXTS[:4]) * reference.encode(TEXTS[:4])).sum(axis=1)
    assert cosines.min() >= 0.98  # int8 or fp32, close to torch on other texts too
    # a text's vector does not depend on its batch-mates (per-row int8 scales)
    np.testing.assert_array_equal(encoder.encode(["a cat"])[0], encoder.encode(TEXTS[:4])[0])
    alone = encoder.encode_images([data.chelsea()])[0]
    np.testing.assert_array_equal(alone, encoder.encode_images(_photos())[0])


def test_loading_the_cached_export_imports_no_torch(tiny, cache):
    load_clip(str(tiny))  # exported (or already) in this module's cache
    script = (
        "import sys, numpy as np, embedspace as es\n"
        f"e = es.load_encoder('clip:{tiny}')\n"
        "v = e.encode(['a cat']); w = e.encode_images([np.zeros((40, 50, 3), np.uint8)])\n"
        "assert v.shape == (1, e.dim) and w.shape == (1, e.dim)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')))\n"
    )
    env = {**os.environ, "EMBEDSPACE_CACHE": str(cache), "PYTHONPATH": str(SRC)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_changed_weights_rebuild(tmp_path, cache):
    folder = _save_tiny(tmp_path / "model", "clip", seed=1)
    first = load_clip(str(folder))
    _save_tiny(folder, "clip", seed=2)  # new weights in the same folder
    second = load_clip(str(folder))
    assert second.export_folder != first.export_folder
    assert second.model_id != first.model_id
    assert not np.allclose(first.encode(["a cat"]), second.encode(["a cat"]))


def test_a_damaged_cache_is_rebuilt(tmp_path, cache):
    folder = _save_tiny(tmp_path / "model", "clip", seed=3)
    expected = load_clip(str(folder)).encode(["a cat"])
    graph = export_dir(folder) / "vision.onnx"
    graph.write_bytes(graph.read_bytes()[:1000])  # an interrupted copy
    with pytest.warns(es.EmbedspaceWarning, match="damaged"):
        rebuilt = load_clip(str(folder))
    np.testing.assert_array_equal(rebuilt.encode(["a cat"]), expected)
    assert rebuilt.encode_images([data.chelsea()]).shape == (1, rebuilt.dim)


def test_export_without_torch_names_the_extra(tmp_path, cache, monkeypatch):
    folder = _save_tiny(tmp_path / "model", "clip", seed=4)
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(es.MissingDependencyError, match=r"embedspace\[train\]"):
        load_clip(str(folder))


def test_models_lists_cached_exports(tiny):
    from typer.testing import CliRunner

    from embedspace.cli import app

    encoder = load_clip(str(tiny))
    listed = {m.name: m for m in es.models()}
    info = listed[f"clip:{tiny}"]
    assert info.available and info.dim == encoder.dim and info.max_tokens == 24
    assert info.size_mb is not None and "ONNX" in info.source
    done = CliRunner().invoke(app, ["models", "--json"])
    rows = [json.loads(line) for line in done.output.splitlines()]
    assert any(row["name"] == f"clip:{tiny}" and row["dim"] == encoder.dim for row in rows)


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


def test_a_hub_id_in_the_hugging_face_cache_loads_offline(tiny_clip, tmp_path, monkeypatch):
    from huggingface_hub import constants

    repo = tmp_path / "hub" / "models--someone--tiny-clip"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("a" * 40)
    shutil.copytree(tiny_clip, repo / "snapshots" / ("a" * 40))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    encoder = load_clip("someone/tiny-clip")
    assert encoder.model_id.startswith("clip:someone/tiny-clip@")
    assert encoder.export_folder.name.startswith("clip-models--someone--tiny-clip-")
    np.testing.assert_allclose(
        encoder.encode(["a cat"]), load_clip(str(tiny_clip)).encode(["a cat"]), atol=1e-6
    )
    with pytest.raises(es.ModelNotFoundError, match="Hugging Face cache"):
        load_clip("someone/not-downloaded")


def test_missing_clip_model_is_an_embedspace_error(tmp_path):
    with pytest.raises(es.ModelNotFoundError, match="CLIP"):
        es.load_encoder(f"clip:{tmp_path / 'nothing-here'}")


def test_other_model_types_are_refused_clearly(tmp_path, cache):
    config = transformers.BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                     intermediate_size=8, vocab_size=100)  # fmt: skip
    transformers.BertModel(config).save_pretrained(tmp_path)
    with pytest.raises(es.InvalidInputError, match="'bert'.*clip or siglip"):
        load_clip(str(tmp_path))
