"""Encoding throughput, measured side by side with sentence-transformers on the same texts.

Peers: sentence-transformers with its default (torch fp32) and with the fastest CPU
setting we found for it (bf16 autocast on CPUs with AVX-512 BF16). Medians of repeated
runs (this machine is noisy); cosine agreement to fp32 is reported beside every speed so
a faster-but-wrong setting cannot hide.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import Any

import numpy as np


def _median_rate(fn: Callable[[], Any], n_items: int, repeats: int) -> float:
    fn()  # warm-up: graph optimisation, allocator, caches
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return n_items / statistics.median(times)


def _st_runner(bf16: bool) -> Callable[[list[str]], np.ndarray]:
    import torch

    from ..encoders.registry import load_encoder

    model = load_encoder("all-MiniLM-L6-v2-fp32")._model  # the SentenceTransformer itself

    def run(texts: list[str]) -> np.ndarray:
        context = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext()
        with context, torch.inference_mode():
            vectors = model.encode(texts, batch_size=32, convert_to_numpy=True)
        vectors = vectors.astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    return run


def encoding_throughput(texts: Sequence[str], label: str, repeats: int = 3) -> list[dict[str, Any]]:
    """Texts/s of each configuration, and the ratios to the peer's default and fastest."""
    from ..encoders.registry import load_encoder

    texts = list(texts)
    configs: list[tuple[str, Callable[[list[str]], np.ndarray]]] = [
        ("sentence-transformers fp32 (its default)", _st_runner(bf16=False)),
        ("sentence-transformers bf16 autocast (its fastest here)", _st_runner(bf16=True)),
        ("embedspace default (ONNX, fused dynamic int8)", load_encoder("default").encode),
        (
            "embedspace all-MiniLM-L6-v2-w8 (ONNX, int8 weights, fp32 compute)",
            load_encoder("all-MiniLM-L6-v2-w8").encode,
        ),
    ]
    reference = configs[0][1](texts)
    rows = []
    for name, run in configs:
        agreement = float(np.mean(np.sum(reference * run(texts), axis=1)))
        rate = _median_rate(lambda run=run: run(texts), len(texts), repeats)
        rows.append(
            {
                "texts": label,
                "encoder": name,
                "per_second": round(rate, 1),
                "cosine_to_fp32": round(agreement, 4),
            }
        )
    default_rate, fastest_rate = (
        rows[0]["per_second"],
        max(rows[0]["per_second"], rows[1]["per_second"]),
    )
    for row in rows:
        row["vs_default"] = round(row["per_second"] / default_rate, 2)
        row["vs_fastest"] = round(row["per_second"] / fastest_rate, 2)
    return rows


def throughput_markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "### Encoding throughput (all-MiniLM-L6-v2, texts per second, median of 3)",
        "",
        "Target: >= 4x the peer's default and >= 1.3x its fastest, at cosine >= 0.99 to fp32.",
        "",
        "| texts | encoder | texts/s | vs ST default | vs ST fastest | mean cosine to fp32 |",
        "|---|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['texts']} | {r['encoder']} | {r['per_second']} | {r['vs_default']}x | {r['vs_fastest']}x | "
        f"{r['cosine_to_fp32']} |"
        for r in rows
    ]
    return "\n".join(lines)
