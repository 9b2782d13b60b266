"""How every transformer we run on ONNX Runtime (text encoders, cross-encoders) is fed:
one CPU session set-up, one way to cut tokenised texts into batches, one way to pad them,
each measured to be fastest on small CPUs."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: Padded tokens per batch. Why a token budget rather than a fixed count: a batch's
#: activations should stay near the CPU's caches. On 2 Zen 4 cores, 256-token texts ran
#: ~20% faster two at a time than 32 at a time, while short texts (~27 tokens) still
#: fill batches of ~20 (docs/benchmarks.md, "Encoding throughput").
BATCH_TOKENS = 512


def cpu_session(model_file: str | Path, threads: int | None = None):
    """An ``onnxruntime.InferenceSession`` on the CPU with ``threads`` intra-op threads
    (default: ``EMBEDSPACE_THREADS``, which caps it per process, e.g. one thread per Ray
    ingest worker, else every core)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    env_threads = int(os.environ.get("EMBEDSPACE_THREADS") or 0)
    options.intra_op_num_threads = threads or env_threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Smaller work blocks for the thread pool: with 2 threads, ~30% more short texts/s
    # (ragged batches of few tokens left one thread idle at the end of each op).
    options.add_session_config_entry("session.dynamic_block_base", "4")
    return ort.InferenceSession(
        str(model_file),
        options,
        providers=["CPUExecutionProvider"],
        # The fused SkipLayerNormalization CPU kernel ran ~5x slower than the
        # LayerNormalization it would replace (see encoders/bert_onnx.py).
        disabled_optimizers=["SkipLayerNormFusion"],
    )


def length_batches(
    lengths: Sequence[int], max_items: int, max_tokens: int = BATCH_TOKENS
) -> Iterator[np.ndarray]:
    """Indices of texts in batches of similar length (sorted, so padding is minimal),
    each with at most ``max_items`` texts and ``max_tokens`` padded tokens (a text
    longer than the budget still gets a batch of its own)."""
    order = np.argsort(lengths, kind="stable")
    start = 0
    while start < len(order):
        end = start + 1
        # sorted ascending: the next text is the longest, so it sets the padded width
        while (
            end < len(order)
            and end - start < max_items
            and (end + 1 - start) * lengths[order[end]] <= max_tokens
        ):
            end += 1
        yield order[start:end]
        start = end


def padded_feeds(
    batch: Sequence[Any], input_names: set[str]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The BERT-style inputs of ``batch`` (``tokenizers`` encodings), right-padded to its
    longest and limited to the inputs the model has, plus the attention mask (pooling
    needs it even when the model does not take it)."""
    width = max(len(e.ids) for e in batch)
    ids = np.zeros((len(batch), width), dtype=np.int64)
    mask, types = np.zeros_like(ids), np.zeros_like(ids)
    for row, encoding in enumerate(batch):
        n = len(encoding.ids)
        ids[row, :n], mask[row, :n], types[row, :n] = encoding.ids, 1, encoding.type_ids
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return {name: value for name, value in feeds.items() if name in input_names}, mask
