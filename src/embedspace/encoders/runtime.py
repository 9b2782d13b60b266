"""One way to open an ONNX Runtime CPU session, so every model we run (text encoders,
cross-encoders) gets the settings measured to be fastest on small CPUs."""

from __future__ import annotations

import os
from pathlib import Path


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
