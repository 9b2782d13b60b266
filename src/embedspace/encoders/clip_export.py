"""Export a CLIP/SigLIP folder's two towers to ONNX, once, checked (needs torch).

Steps, each measured rather than trusted, the figures kept in the export's manifest:

1. ``torch.onnx.export(dynamo=True)`` of each tower (eager attention) with a dynamic batch
   axis (and sequence axis for CLIP's text); inputs ``input_ids`` [+ ``attention_mask``]
   -> ``text_embeds``, ``pixel_values`` -> ``image_embeds`` (the projected features,
   normalised later in numpy). The fp32 graphs must match torch on ``CHECK_TEXTS`` and
   ``check_images()`` to ``FP32_TOLERANCE``, and the tokenizer file must give
   transformers' token ids on every check text, or the export fails.
2. Every ``MatMul`` by a constant weight rewritten with the default text model's int8
   recipe (``recipes.rowwise_int8_linear``, r7: per-row activation scales, 7-bit
   per-column weights), so a vector depends on its own input alone, never on its
   batch-mates. Each tower keeps its int8 graph only where the worst cosine to fp32 on
   the check inputs is at least ``INT8_MIN_COSINE`` (``precision="auto"``); else fp32.
3. ``text.onnx``, ``vision.onnx``, ``tokenizer.json``, ``inputs.json`` and
   ``manifest.json`` (sizes, sha256, the checks) written into the folder given, which
   ``clip_cache`` renames into place.

The check images are synthetic (gradients, stripes, noise, discs in several sizes and
aspect ratios) because the wheel ships no photos: they exercise every patch but are not
what users embed, so the int8 cosine is a floor check, not a quality figure.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import EmbedspaceError
from .artifacts import write_manifest
from .bert_onnx import GraphWriter
from .clip_cache import EXPORT_RECIPE
from .clip_torch import (
    CHECK_TEXTS,
    Reference,
    load_reference,
    text_module,
    torch_stack,
    vision_module,
)
from .recipes import rowwise_int8_linear

Precision = Literal["auto", "fp32", "int8"]
#: Keep a tower's int8 graph when its worst cosine to fp32 on the check inputs is this.
INT8_MIN_COSINE = 0.99
#: Largest |difference| allowed between the fp32 graphs' features and torch's.
FP32_TOLERANCE = 1e-4
FILES = ("text.onnx", "vision.onnx", "tokenizer.json", "inputs.json")


class ExportError(EmbedspaceError, RuntimeError):
    """An export did not reproduce its source model (it is never cached)."""


def check_images() -> list[np.ndarray]:
    """Eight deterministic RGB images of different sizes and content."""
    rng = np.random.default_rng(0)
    out = []
    for index, (height, width) in enumerate(
        [
            (224, 224),
            (300, 200),
            (150, 400),
            (97, 131),
            (480, 640),
            (256, 256),
            (64, 48),
            (333, 500),
        ]
    ):
        y, x = np.mgrid[0:height, 0:width].astype(np.float32)
        kind = index % 4
        if kind == 0:  # colour gradients
            image = np.stack([x / width, y / height, 1 - x / width], axis=-1)
        elif kind == 1:  # stripes
            image = np.stack([np.sin(x / (3 + index)), np.cos(y / 5), np.sin((x + y) / 7)], -1)
            image = image * 0.5 + 0.5
        elif kind == 2:  # noise
            image = rng.random((height, width, 3), dtype=np.float32)
        else:  # a disc on a background
            disc = (x - width / 2) ** 2 + (y - height / 2) ** 2 < (min(height, width) / 3) ** 2
            image = np.where(disc[..., None], [0.9, 0.2, 0.1], [0.1, 0.4, 0.8])
        out.append((np.clip(image, 0, 1) * 255).astype(np.uint8))
    return out


def export_clip(folder: Path, into: Path, precision: Precision = "auto") -> dict[str, Any]:
    """Write ``folder``'s export into the folder ``into``; returns its manifest."""
    torch, _ = torch_stack()  # first: without torch, the error names the extra

    reference = load_reference(Path(folder))
    into = Path(into)
    _check_tokenizer(reference)
    reference.tokenizer.save(str(into / "tokenizer.json"))
    texts = reference.text.feeds(reference.text.ids(reference.tokenizer, CHECK_TEXTS))
    pixels = reference.image.batch(check_images())
    text_tower = text_module(reference.model, reference.text.with_mask)
    vision_tower = vision_module(reference.model)
    with torch.inference_mode():
        torch_text = text_tower(**{k: torch.from_numpy(v) for k, v in texts.items()}).numpy()
        torch_images = vision_tower(torch.from_numpy(pixels)).numpy()
    _export_text(text_tower, reference, into / "text.onnx")
    _export_vision(vision_tower, pixels, into / "vision.onnx")
    checks = {
        "text": _finish(into / "text.onnx", texts, torch_text, "text_embeds", precision),
        "vision": _finish(
            into / "vision.onnx", {"pixel_values": pixels}, torch_images, "image_embeds", precision
        ),
    }
    inputs = {"text": reference.text.to_dict(), "image": reference.image.to_dict()}
    (into / "inputs.json").write_text(json.dumps(inputs, indent=2) + "\n", encoding="utf-8")
    return write_manifest(
        into,
        FILES,
        {
            "kind": "clip-onnx",
            "recipe": EXPORT_RECIPE,
            "source": str(reference.folder),
            "model_type": reference.model_type,
            "fingerprint": reference.fingerprint,
            "dim": reference.dim,
            "max_tokens": reference.text.max_length,
            "precision": {tower: check["precision"] for tower, check in checks.items()},
            "checks": checks,
            "check_inputs": f"{len(CHECK_TEXTS)} texts, {len(pixels)} synthetic images",
            "exported_with": {
                name: metadata.version(name) for name in ("torch", "transformers", "onnx")
            },
        },
    )


def _check_tokenizer(reference: Reference) -> None:
    """The tokenizer file must give transformers' ids (SigLIP's padding included)."""
    recipe = reference.text
    ours = recipe.feeds(recipe.ids(reference.tokenizer, CHECK_TEXTS))["input_ids"]
    theirs = reference.hf_tokenizer(
        CHECK_TEXTS,
        padding="max_length" if recipe.pad_to_max else True,
        truncation=True,
        max_length=recipe.max_length,
        return_tensors="np",
    )["input_ids"]
    if ours.shape != theirs.shape or not np.array_equal(ours, theirs):
        raise ExportError(
            f"the tokenizers form of {reference.folder}'s tokenizer gives other token ids than "
            "transformers' tokenizer on the check texts, so an ONNX run would not reproduce "
            "the model; save the folder with a tokenizer.json that matches"
        )


def _export_text(tower: Any, reference: Reference, target: Path) -> None:
    import torch

    # Two texts of different lengths: a batch axis of 2 and a sequence axis longer than
    # it, so the exporter specialises neither.
    feeds = reference.text.feeds(reference.text.ids(reference.tokenizer, CHECK_TEXTS[1:3]))
    batch = torch.export.Dim("batch")
    names = list(feeds)
    if reference.text.with_mask:
        sequence = torch.export.Dim("sequence", max=reference.text.max_length)
        shapes = {name: {0: batch, 1: sequence} for name in names}
    else:  # SigLIP: always padded to max_length
        shapes = {name: {0: batch} for name in names}
    _export(tower, tuple(torch.from_numpy(v) for v in feeds.values()), names, "text_embeds",
            shapes, target)  # fmt: skip


def _export_vision(tower: Any, pixels: np.ndarray, target: Path) -> None:
    import torch

    example = (torch.from_numpy(pixels[:2]),)
    shapes = {"pixel_values": {0: torch.export.Dim("batch")}}
    _export(tower, example, ["pixel_values"], "image_embeds", shapes, target)


def _export(
    tower: Any,
    example: tuple[Any, ...],
    inputs: list[str],
    output: str,
    shapes: dict[str, dict[int, Any]],
    target: Path,
) -> None:
    import onnx
    import torch

    # The exporter prints its progress and warns about tracing details: not for users.
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            tower, example, str(target), dynamo=True, input_names=inputs,
            output_names=[output], dynamic_shapes=shapes, external_data=False, verbose=False,
        )  # fmt: skip
    graph = onnx.load(str(target))
    # The exporter's recorded intermediate shapes are hints that ONNX's own shape
    # inference can contradict after the int8 rewrite; ONNX Runtime infers its own.
    del graph.graph.value_info[:]
    onnx.save(graph, str(target))


def _run(path: Path, feeds: dict[str, np.ndarray]) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


def _worst_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float((a * b).sum(axis=1).min())


def _finish(
    path: Path,
    feeds: dict[str, np.ndarray],
    reference: np.ndarray,
    output: str,
    precision: Precision,
) -> dict[str, Any]:
    """Check the fp32 graph against torch, try the int8 rewrite, keep the chosen one."""
    import onnx

    fp32 = _run(path, feeds)
    difference = float(np.abs(fp32 - reference).max())
    if not difference <= FP32_TOLERANCE:
        raise ExportError(
            f"the exported {output} differ from torch's by {difference:.2e} "
            f"(> {FP32_TOLERANCE}); the export is not used"
        )
    int8_path = path.with_suffix(".int8.onnx")
    onnx.save(rowwise_int8_matmuls(onnx.load(str(path))), str(int8_path))
    int8_cosine = _worst_cosine(_run(int8_path, feeds), fp32)
    keep_int8 = precision == "int8" or (precision == "auto" and int8_cosine >= INT8_MIN_COSINE)
    if keep_int8:
        int8_path.replace(path)
    else:
        int8_path.unlink()
    return {
        "precision": "int8" if keep_int8 else "fp32",
        "fp32_max_abs_diff_vs_torch": difference,
        "int8_min_cosine_vs_fp32": round(int8_cosine, 6),
    }


def rowwise_int8_matmuls(model: Any) -> Any:
    """``model`` (an ``onnx.ModelProto``) with every MatMul by a constant 2-D weight
    replaced by the r7 int8 recipe's nodes; other ops (the patch convolution, the final
    projection's Gemm, attention's activation-by-activation MatMuls) stay float."""
    from onnx import helper, numpy_helper

    graph = model.graph
    weights = {init.name: init for init in graph.initializer}
    writer, linear = GraphWriter(), rowwise_int8_linear(weight_bits=7)
    nodes = []
    for node in graph.node:
        weight = weights.get(node.input[1]) if node.op_type == "MatMul" else None
        if weight is None or len(weight.dims) != 2:
            nodes.append(node)
            continue
        matrix = numpy_helper.to_array(weight).astype(np.float32)
        start = len(writer.nodes)
        zero = np.zeros(matrix.shape[1], np.float32)
        product, _ = linear(writer, node.input[0], matrix, zero, f"{node.output[0]}_r7")
        for written in writer.nodes[start:]:
            _axes_as_input(written, writer)
        nodes += writer.nodes[start:]
        nodes.append(
            helper.make_node("Identity", [product], [node.output[0]], name=product + "_out")
        )
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input}
    kept = [init for init in [*graph.initializer, *writer.inits] if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    if not any(opset.domain == "com.microsoft" for opset in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model


def _axes_as_input(node: Any, writer: GraphWriter) -> None:
    """The recipe writes ReduceMax's axes as an attribute (opset < 18); the exporter's
    graphs are opset 18+, where they are an input."""
    axes = next((a for a in node.attribute if a.name == "axes"), None)
    if node.op_type == "ReduceMax" and axes is not None:
        node.input.append(writer.init(f"{node.output[0]}_axes", np.array(axes.ints, np.int64)))
        node.attribute.remove(axes)
