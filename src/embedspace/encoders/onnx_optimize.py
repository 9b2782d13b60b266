"""Build the fast int8 ONNX model of a BERT folder, once, into a cache folder.

Recipe (measured in docs/benchmarks.md, "Encoding throughput"): write the fp32 weights
as a fused graph (``bert_onnx.py``: one ``Attention`` kernel per layer instead of ~20
small ops), then quantise it dynamically to int8 (per-channel weights, activations
scaled per batch) so ONNX Runtime runs ``QAttention`` and integer MatMuls on VNNI.
The feed-forward down-projections (4h -> h) stay fp32: their inputs come out of GELU
with outliers that a per-tensor activation scale handles badly; quantising them too
lowered mean cosine to fp32 from 0.996 to 0.992.

Starting from the fp32 safetensors (not the packaged int8 file) keeps the only
approximation the quantisation we choose. The result is cached under
``$EMBEDSPACE_CACHE`` (default ``~/.cache/embedspace``), keyed by the weights'
fingerprint and this recipe's version, and written atomically (built in a temporary
folder beside it, then renamed) so concurrent first uses are safe.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from ..errors import MissingDependencyError
from .bert_onnx import write_bert_onnx
from .text import file_fingerprint

RECIPE = "fq1"


def cache_dir() -> Path:
    root = os.environ.get("EMBEDSPACE_CACHE") or Path.home() / ".cache" / "embedspace"
    return Path(root) / "models"


def fast_int8_model(folder: Path, name: str) -> tuple[Path, str]:
    """Path of the fast int8 model of BERT ``folder`` (built on first use) and its id tag."""
    tag = f"{file_fingerprint(Path(folder) / 'model.safetensors')}-{RECIPE}"
    target = cache_dir() / f"{name}-{tag}.onnx"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        build_fast_int8(folder, target)
    return target, tag


def build_fast_int8(folder: Path, target: Path) -> Path:
    """Write ``folder``'s transformer to ``target`` as fused dynamic-int8 ONNX (atomically)."""
    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise MissingDependencyError("building the fast int8 model needs the onnx package") from exc
    target = Path(target)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        fp32 = write_bert_onnx(folder, Path(tmp) / "fp32.onnx")
        keep_fp32 = [n.name for n in onnx.load(str(fp32)).graph.node if n.name.endswith("_down")]
        quantized = Path(tmp) / "model.onnx"
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # the quantiser logs a generic pre-processing hint
        try:
            quantize_dynamic(
                str(fp32),
                str(quantized),
                per_channel=True,
                weight_type=QuantType.QInt8,
                op_types_to_quantize=["MatMul", "Attention"],
                nodes_to_exclude=keep_fp32,
                # Fused-kernel outputs have no ONNX shape inference: they are float32.
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
        finally:
            root.setLevel(level)
        os.replace(quantized, target)
    return target
