"""Encoding throughput, measured side by side with sentence-transformers on the same texts.

Medians of repeated runs (this machine is noisy); cosine agreement to the fp32
reference is reported beside every speed so a faster-but-wrong setting cannot hide.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
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


def encoding_throughput(texts: Sequence[str], label: str, repeats: int = 3) -> list[dict[str, Any]]:
    """Sentences/s of our default encoder vs sentence-transformers fp32 (its default)."""
    from ..encoders.registry import load_encoder

    ours = load_encoder("default")
    reference = load_encoder("all-MiniLM-L6-v2-fp32")
    texts = list(texts)
    ref_vectors = reference.encode(texts)
    our_vectors = ours.encode(texts)
    agreement = float(np.mean(np.sum(ref_vectors * our_vectors, axis=1)))
    peer_rate = _median_rate(lambda: reference.encode(texts), len(texts), repeats)
    our_rate = _median_rate(lambda: ours.encode(texts), len(texts), repeats)
    return [
        {
            "texts": label,
            "encoder": "sentence-transformers fp32 (torch, its default)",
            "per_second": round(peer_rate, 1),
            "ratio": 1.0,
            "cosine_to_fp32": 1.0,
        },
        {
            "texts": label,
            "encoder": "embedspace default (ONNX int8)",
            "per_second": round(our_rate, 1),
            "ratio": round(our_rate / peer_rate, 2),
            "cosine_to_fp32": round(agreement, 4),
        },
    ]


def throughput_markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "### Encoding throughput (all-MiniLM-L6-v2, texts per second, median of 3)",
        "",
        "| texts | encoder | texts/s | ratio to peer | mean cosine to fp32 |",
        "|---|---|---:|---:|---:|",
    ]
    lines += [
        f"| {r['texts']} | {r['encoder']} | {r['per_second']} | {r['ratio']}x | {r['cosine_to_fp32']} |"
        for r in rows
    ]
    return "\n".join(lines)
