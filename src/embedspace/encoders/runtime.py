"""How every transformer we run on ONNX Runtime (text encoders, cross-encoders) is fed:
one CPU session set-up, one way to cut tokenised texts into batches, one way to pad them,
one way to spread the batches over the cores, each measured to be fastest on small CPUs."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:
    from onnxruntime import InferenceSession

#: Padded tokens per batch. Why a token budget rather than a fixed count: a batch's
#: activations should stay near its core's caches. With one batch per core
#: (``run_batches``), on 2 Zen 4 cores a budget of 256-384 tokens (one 256-token text
#: per batch) encoded ~8% more such texts/s than 512 and ~15% more than 1,024, and short
#: texts (~27 tokens, ~9 to a batch) ran as fast as with larger budgets.
BATCH_TOKENS = 256

Batch = TypeVar("Batch")
Result = TypeVar("Result")


def cpu_workers(threads: int | None = None) -> int:
    """How many batches run at once: ``threads``, else ``EMBEDSPACE_THREADS`` (which caps
    it per process, e.g. one per Ray ingest worker), else every core this process may use."""
    env_threads = int(os.environ.get("EMBEDSPACE_THREADS") or 0)
    if threads or env_threads:
        return max(1, threads or env_threads)
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1  # pragma: no cover - platforms without affinity


def cpu_session(model_file: str | Path) -> InferenceSession:
    """An ``onnxruntime.InferenceSession`` on the CPU that runs each call on the calling
    thread alone; ``run_batches`` gives each core a batch of its own.

    Why one thread per batch rather than ONNX Runtime's threads inside each op: each of a
    batch's ~100 ops pays a hand-off and leaves a thread idle at its end. On 2 cores, one
    batch per core gained ~8% on short texts and ~5% on 256-token texts when the host ran
    fast, ~1.5x and ~1.35x when it ran slow (docs/architecture.md), and a lone short query
    took 1.1 ms instead of 1.4. Why no memory arena: concurrent runs contended for it
    (~10% slower). Why one shared session: the weights stay in memory once (a second
    session cost ~60-80 MB for ~4% more speed).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = False
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(
        str(model_file),
        options,
        providers=["CPUExecutionProvider"],
        # The fused SkipLayerNormalization CPU kernel ran ~5x slower than the
        # LayerNormalization it would replace (see encoders/bert_onnx.py).
        disabled_optimizers=["SkipLayerNormFusion"],
    )


def run_batches(
    work: Callable[[Batch], Result], batches: Iterable[Batch], workers: int
) -> Iterator[tuple[Batch, Result]]:
    """``(batch, work(batch))`` for every batch, in order, up to ``workers`` batches at a
    time on threads of their own (``InferenceSession.run`` releases the GIL and is
    thread-safe). A lone batch, or one worker, runs on the calling thread. At most two
    batches per worker are in flight, so a million texts do not become a million futures."""
    batches = list(batches)
    if workers <= 1 or len(batches) <= 1:
        yield from zip(batches, map(work, batches), strict=True)
        return
    threads = min(workers, len(batches))
    with ThreadPoolExecutor(threads) as pool:
        in_flight: deque[tuple[Batch, Future[Result]]] = deque()
        for batch in batches:
            in_flight.append((batch, pool.submit(work, batch)))
            if len(in_flight) >= 2 * threads:
                done, future = in_flight.popleft()
                yield done, future.result()
        while in_flight:
            done, future = in_flight.popleft()
            yield done, future.result()


def length_batches(
    lengths: Sequence[int], max_items: int, max_tokens: int = BATCH_TOKENS, workers: int = 1
) -> Iterator[np.ndarray]:
    """Indices of texts in batches of similar length (sorted, so padding is minimal),
    each with at most ``max_items`` texts and ``max_tokens`` padded tokens (a text
    longer than the budget still gets a batch of its own). Few texts are cut into at
    least ``workers`` batches where they can be, so every worker gets one."""
    max_items = max(1, min(max_items, -(-len(lengths) // max(1, workers))))
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
