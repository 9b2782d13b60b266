"""Build the fast int8 ONNX model of a BERT folder, once, into a cache folder.

Recipe (measured in docs/benchmarks.md, "Encoding throughput"): write the fp32 weights
as a fused graph (``bert_onnx.py``: one ``Attention`` kernel per layer instead of ~20
small ops), then quantise every projection dynamically to int8 (per-channel weights,
activations scaled per batch) so ONNX Runtime runs ``QAttention`` and integer MatMuls on
VNNI. Trade-off, measured on 2,000 review snippets / 150 plot summaries: keeping the
feed-forward down-projections (4h -> h) fp32, whose GELU-output inputs have outliers a
per-tensor scale handles badly, keeps mean cosine to fp32 at 0.996 instead of 0.992 but
runs at ~55% of the speed (they were a third of the time in fp32). ONNX Runtime's 8-bit
``MatMulNBits`` (block-wise activation scales) reached 0.998 at ~50% for every projection,
0.996 at ~80% for the down-projections alone. 0.992 is above the 0.99 we hold the default
to, so the default takes the speed; the price is a larger batch-mate effect (a text
alone vs in a batch: cosine min 0.974 instead of 0.981; docs/architecture.md).

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

RECIPE = "fq2"


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
                # Fused-kernel outputs have no ONNX shape inference: they are float32.
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
        finally:
            root.setLevel(level)
        os.replace(quantized, target)
    return target
