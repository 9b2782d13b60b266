"""Int8 recipes for the default text model: per-row activation scales, weights by column.

Why per row: ONNX Runtime's dynamic quantisation scales a whole activation tensor by one
number, computed over every text in the batch and its padding, so a text's vector
depended on its batch-mates (alone vs in a batch of 64: cosine min 0.974). Here each
token's activations get a scale of their own (``ReduceMax`` over the hidden axis, then
``MatMulIntegerToFloat`` with an (rows, 1) scale), so a row's integers, and hence its
vector, depend on that row alone.

Why 7-bit weights by default: on CPUs without VNNI, ONNX Runtime's u8 x s8 kernels use
``vpmaddubsw``, which adds two u8 x s8 products into a saturating int16. With unsigned
activations up to 255 and weights within +-64 the sum stays below 32,767, so every x86
kernel (AVX2, AVX-512, VNNI, AMX) and ARM's dot products compute the same exact int32
sums: the same vectors on every CPU. Full 8-bit weights are exact only on VNNI/AMX/ARM.
"""

from __future__ import annotations

import numpy as np

from .bert_onnx import MS, GraphWriter, LinearWriter

#: Below this an activation row is treated as all zeros (its scale would divide by zero).
_TINY = np.float32(1e-12)


def weight_codes(weight: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 codes of an (in, out) matrix with one scale per output column."""
    qmax = 2 ** (bits - 1) - 1
    scale = np.maximum(np.abs(weight).max(axis=0), _TINY) / qmax
    codes = np.clip(np.rint(weight / scale), -qmax, qmax).astype(np.int8)
    return codes, scale.astype(np.float32)


def rowwise_int8_linear(weight_bits: int) -> LinearWriter:
    """A ``LinearWriter`` with per-row u8 activations and per-column int8 weights."""

    def write(
        g: GraphWriter,
        x: str,
        weight: np.ndarray,
        bias: np.ndarray,
        name: str,
        floor: float | None = None,
    ) -> tuple[str, np.ndarray]:
        codes, w_scale = weight_codes(weight, weight_bits)
        if floor is None:  # symmetric around zero: u8 with zero point 128
            magnitude = g.node("Abs", [x], f"{name}_abs")
            top = g.node("ReduceMax", [magnitude], f"{name}_amax", axes=[-1], keepdims=1)
            levels, zero_point = 127.0, 128
        else:  # x >= floor: shift it to start at zero and use all 256 levels
            x = g.node("Sub", [x, g.init(f"{name}_floor", np.float32(floor))], f"{name}_shift")
            top = g.node("ReduceMax", [x], f"{name}_max", axes=[-1], keepdims=1)
            levels, zero_point = 255.0, 0
            # x @ W = (x - floor) @ W + floor * column sums of W: the constant joins the bias
            bias = bias + floor * (codes.astype(np.float32) * w_scale).sum(axis=0)
        step = g.node("Mul", [top, g.init(f"{name}_inv", np.float32(1 / levels))], f"{name}_top")
        step = g.node("Max", [step, g.init(f"{name}_tiny", _TINY)], f"{name}_step")
        ratio = g.node("Div", [x, step], f"{name}_ratio")
        zp = g.init(f"{name}_zp", np.array(zero_point, np.uint8))
        one = g.init(f"{name}_one", np.float32(1.0))
        q = g.node("QuantizeLinear", [ratio, one, zp], f"{name}_q")
        # The bias is not passed to MatMulIntegerToFloat: with an (rows, 1) scale, ONNX
        # Runtime 1.31 returns wrong sums when it is (checked against numpy).
        product = g.node(
            "MatMulIntegerToFloat",
            [q, g.init(f"{name}_wq", codes), step, g.init(f"{name}_ws", w_scale), zp],
            name,
            domain=MS,
        )
        return product, bias.astype(np.float32)

    return write
