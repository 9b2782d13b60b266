"""CLIP on torch vs its ONNX export (fp32 and r7 int8): texts/s, images/s, agreement.

No package ships CLIP weights, so the model is a *randomly initialised* CLIP shaped like
a small ViT-B/32 (``SHAPE``: 224-pixel images in 32-pixel patches, 256 wide, 4 layers in
each tower, 77 text tokens; ViT-B/32 itself is 768 wide with 12 layers). Random weights
run the same operations at the same cost as trained ones, so the speed ratios between
runtimes are what carries over to real weights; absolute rates scale with the model's
size, and the int8 cosines of trained weights (whose activations have outliers) may be
lower or higher: the export measures them again for each model and keeps int8 only
where they stay >= 0.99.

Speed: interleaved rounds (torch, ONNX fp32, ONNX int8, each on one thread and on every
core, again), the best round of each, with the encoders' own batching (torch: batches of
32 texts or images, one at a time on its threads, sdpa attention; ONNX: single-threaded
batches, one per worker, texts sorted by length in batches of <= 256 padded tokens, 8
images a batch). Inputs: 256 review snippets from the demo corpus
(truncated at 77 tokens) and 48 synthetic images of eight sizes (their preprocessing,
resize + crop + normalise, is inside the timing, as a user sees it).

    python -m benchmarks.run --only clip
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from embedspace.encoders.artifacts import verify_folder
from embedspace.encoders.clip import OnnxClipEncoder
from embedspace.encoders.clip_base import TwoTowers
from embedspace.encoders.cpu import describe
from embedspace.encoders.packaged import minilm_reference_dir
from embedspace.errors import EmbedspaceWarning
from embedspace.ingest.demo_corpus import demo_corpus

SHAPE = {"hidden": 256, "intermediate": 1024, "layers": 4, "heads": 4, "image": 224,
         "patch": 32, "projection": 256, "tokens": 77}  # fmt: skip
ROUNDS = 3


def save_random_clip(folder: Path) -> Path:
    """A random CLIP of ``SHAPE`` with the packaged MiniLM tokenizer (30,522 word pieces:
    CLIP's own BPE tokenizer does not ship in any package here)."""
    import torch
    import transformers

    tower = {"hidden_size": SHAPE["hidden"], "intermediate_size": SHAPE["intermediate"],
             "num_hidden_layers": SHAPE["layers"], "num_attention_heads": SHAPE["heads"]}  # fmt: skip
    config = transformers.CLIPConfig(
        text_config={**tower, "vocab_size": 30522, "max_position_embeddings": SHAPE["tokens"],
                     "bos_token_id": 101, "eos_token_id": 102, "pad_token_id": 0},
        vision_config={**tower, "image_size": SHAPE["image"], "patch_size": SHAPE["patch"]},
        projection_dim=SHAPE["projection"],
    )  # fmt: skip
    torch.manual_seed(0)
    transformers.CLIPModel(config).save_pretrained(folder)
    transformers.PreTrainedTokenizerFast(
        tokenizer_file=str(minilm_reference_dir() / "tokenizer.json"),
        pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]",
        model_max_length=SHAPE["tokens"],
    ).save_pretrained(folder)  # fmt: skip
    return folder


def _inputs() -> tuple[list[str], list[np.ndarray]]:
    from embedspace.encoders.clip_export import check_images

    texts = [d.text for d in demo_corpus() if d.metadata["kind"] != "plot"][:256]
    return texts, check_images() * 6


def _cosines(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    row = (a * b).sum(axis=1)
    return float(row.mean()), float(row.min())


#: (row label, runtime, threads): each runtime on one core and on all of them, since
#: on a shared machine torch's own threads can lose more to the other jobs than they win.
RUNS = [("torch", "torch", 1), ("torch", "torch", 0), ("ONNX fp32", "fp32", 1),
        ("ONNX fp32", "fp32", 0), ("ONNX r7 int8", "int8", 1), ("ONNX r7 int8", "int8", 0)]  # fmt: skip


def _best_rates(
    encoders: dict[tuple[str, int], Callable[[], Any]], count: int
) -> dict[tuple[str, int], float]:
    best = dict.fromkeys(encoders, 0.0)
    for _ in range(ROUNDS):
        for key, run in encoders.items():
            start = time.perf_counter()
            run()
            best[key] = max(best[key], count / (time.perf_counter() - start))
    return best


def measure() -> dict[str, Any]:
    import torch

    from embedspace.encoders.clip_export import export_clip
    from embedspace.encoders.clip_torch import TorchClipEncoder

    cores = os.cpu_count() or 1
    texts, images = _inputs()
    with tempfile.TemporaryDirectory() as tmp:
        source = save_random_clip(Path(tmp) / "clip")
        manifests: dict[str, dict[str, Any]] = {}
        for precision in ("fp32", "int8"):
            (Path(tmp) / precision).mkdir()
            manifests[precision] = export_clip(source, Path(tmp) / precision, precision)
        reference = TorchClipEncoder(str(source))

        def encoder(runtime: str, threads: int) -> TwoTowers:
            if runtime == "torch":
                return reference
            folder = verify_folder(Path(tmp) / runtime)
            return OnnxClipEncoder(folder, str(source), threads=threads or cores)

        encoders = {(runtime, threads): encoder(runtime, threads) for _, runtime, threads in RUNS}

        def timed(key: tuple[str, int], work: Callable[[TwoTowers], Any]) -> Callable[[], Any]:
            def run() -> Any:
                torch.set_num_threads(key[1] or cores)  # only the torch rows use it
                return work(encoders[key])

            return run

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EmbedspaceWarning)  # texts cut at 77 tokens
            text_vectors = {k[0]: e.encode(texts) for k, e in encoders.items() if k[1] == 0}
            text_rates = _best_rates(
                {k: timed(k, lambda e: e.encode(texts)) for k in encoders}, len(texts)
            )
        image_vectors = {k[0]: e.encode_images(images) for k, e in encoders.items() if k[1] == 0}
        image_rates = _best_rates(
            {k: timed(k, lambda e: e.encode_images(images)) for k in encoders}, len(images)
        )
        sizes = {
            p: sum((Path(tmp) / p / f).stat().st_size for f in ("text.onnx", "vision.onnx"))
            for p in manifests
        }
    return {
        "cores": cores,
        "texts": len(texts),
        "images": len(images),
        "text_rates": text_rates,
        "image_rates": image_rates,
        "agreement": {
            (tower, a, b): _cosines(vectors[a], vectors[b])
            for tower, vectors in (("text", text_vectors), ("image", image_vectors))
            for a, b in (("torch", "fp32"), ("fp32", "int8"))
        },
        "checks": manifests["int8"]["checks"],
        "sizes_mb": {p: size / 1e6 for p, size in sizes.items()},
    }


def clip_markdown(result: dict[str, Any], cpu: str) -> str:
    rates_t, rates_i = result["text_rates"], result["image_rates"]
    torch_t = max(rates_t[("torch", 1)], rates_t[("torch", 0)])
    torch_i = max(rates_i[("torch", 1)], rates_i[("torch", 0)])
    rows = [
        "| runtime | threads | texts/s | vs best torch | images/s | vs best torch | graphs |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, runtime, threads in RUNS:
        key = (runtime, threads)
        size = f"{result['sizes_mb'][runtime]:.0f} MB" if runtime in result["sizes_mb"] else "-"
        rows.append(
            f"| {label} | {threads or result['cores']} | {rates_t[key]:,.0f} "
            f"| {rates_t[key] / torch_t:.2f}x | {rates_i[key]:,.1f} "
            f"| {rates_i[key] / torch_i:.2f}x | {size} |"
        )
    agreement = result["agreement"]

    def pair(tower: str, a: str, b: str) -> str:
        mean, worst = agreement[(tower, a, b)]
        return f"mean {mean:.6f}, min {worst:.6f}"

    checks = result["checks"]
    shape = ", ".join(f"{k} {v}" for k, v in SHAPE.items())
    return "\n".join(
        [
            "### CLIP on ONNX: torch vs the cached export (random weights)",
            "",
            f"{cpu}, {describe()}; {result['cores']} cores. **The model is randomly initialised** "
            f"(no package ships CLIP weights): a CLIP shaped like a small ViT-B/32 ({shape}; "
            "ViT-B/32 is 768 wide with 12 layers per tower), MiniLM's word-piece tokenizer. "
            "Random weights cost what trained ones cost, so the **ratios** carry over to "
            "real weights, not the absolute rates, and not the int8 cosines (the export "
            "measures those again on each model and keeps int8 only where they stay >= 0.99).",
            "",
            f"{result['texts']} review snippets (cut at 77 tokens), {result['images']} "
            "synthetic images of eight sizes (preprocessing included); best of "
            f"{ROUNDS} interleaved rounds. torch: transformers' sdpa attention, batches of "
            "32, on 1 thread and on every core; ONNX: one single-threaded batch per worker "
            "(1, or one per core). The machine is shared with other jobs: trust the ratios "
            "measured side by side here over the absolute rates.",
            "",
            *rows,
            "",
            f"Agreement (cosine per item): text tower ONNX fp32 vs torch {pair('text', 'torch', 'fp32')}; "
            f"int8 vs fp32 {pair('text', 'fp32', 'int8')}. Image tower fp32 vs torch "
            f"{pair('image', 'torch', 'fp32')}; int8 vs fp32 {pair('image', 'fp32', 'int8')}. "
            "The export's own check inputs (12 texts, 8 images): worst int8 cosine "
            f"text {checks['text']['int8_min_cosine_vs_fp32']:.4f}, "
            f"vision {checks['vision']['int8_min_cosine_vs_fp32']:.4f}; fp32 max |diff| vs torch "
            f"{checks['text']['fp32_max_abs_diff_vs_torch']:.1e} / "
            f"{checks['vision']['fp32_max_abs_diff_vs_torch']:.1e}.",
            "",
            "Command: `python -m benchmarks.run --only clip` (`benchmarks/clip_onnx.py`).",
        ]
    )


if __name__ == "__main__":
    import platform

    print(clip_markdown(measure(), platform.processor()))
