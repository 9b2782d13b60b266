"""Write a BERT checkpoint (``config.json`` + ``model.safetensors``) as a fused ONNX graph.

Why not ``torch.onnx.export``: it needs torch (the default install has none), and neither
its graph (dynamo) nor the packaged file has an attention pattern that ONNX Runtime's
transformer optimizer recognises, so attention stayed ~20 small ops per layer. Here the
graph is written directly with ONNX Runtime's fused CPU kernels: one ``Attention`` per
layer (packed Q/K/V projection, mask, softmax, heads) and ``FastGelu`` (bias + GELU, the
tanh form: no measurable change in the vectors, ~8% faster than erf). That lets dynamic
int8 quantisation turn attention into ``QAttention``. Residual + bias + LayerNorm stay
three plain ops: ONNX Runtime's fused ``SkipLayerNormalization`` CPU kernel measured ~5x
slower than ``LayerNormalization`` on the same tensors (``OnnxTextEncoder`` disables the
optimizer pass that would fuse them back).
The weights are read from the safetensors file with numpy alone, so this runs offline
without torch, for the packaged fp32 all-MiniLM-L6-v2 and for a fine-tuned folder alike.

Inputs ``input_ids``, ``attention_mask``, ``token_type_ids`` (int64, batch x tokens);
output ``last_hidden_state`` (float32, batch x tokens x hidden): the same contract as an
exported Hugging Face model, so ``OnnxTextEncoder`` runs either.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import ModelNotFoundError

_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """All tensors of a safetensors file as float32/int64 numpy arrays (format: 8-byte
    little-endian header size, JSON header of dtype/shape/offsets, raw data)."""
    raw = Path(path).read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    data = memoryview(raw)[8 + size :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] == "BF16":  # bf16 = the top half of a float32
            start, end = info["data_offsets"]
            half = np.frombuffer(data[start:end], dtype=np.uint16).astype(np.uint32) << 16
            tensors[name] = half.view(np.float32).reshape(info["shape"])
            continue
        if info["dtype"] not in _DTYPES:
            raise ModelNotFoundError(f"{path}: tensor {name} has unsupported dtype {info['dtype']}")
        start, end = info["data_offsets"]
        array = np.frombuffer(data[start:end], dtype=_DTYPES[info["dtype"]]).reshape(info["shape"])
        tensors[name] = array.astype(np.float32) if array.dtype == np.float16 else array
    return tensors


def _weights(folder: Path) -> tuple[dict, dict[str, np.ndarray]]:
    config_file, weights_file = folder / "config.json", folder / "model.safetensors"
    for path in (config_file, weights_file):
        if not path.is_file():
            raise ModelNotFoundError(
                f"{path} not found: a BERT folder needs config.json and model.safetensors"
            )
    config = json.loads(config_file.read_text())
    if config.get("model_type") != "bert" or config.get("hidden_act", "gelu") != "gelu":
        raise ModelNotFoundError(
            f"{folder} is a {config.get('model_type')!r} model with {config.get('hidden_act')!r}; "
            "the fused ONNX writer handles BERT encoders with GELU (e.g. all-MiniLM-L6-v2)"
        )
    tensors = read_safetensors(weights_file)
    prefix = "bert." if "bert.embeddings.word_embeddings.weight" in tensors else ""
    return config, {k.removeprefix(prefix): v for k, v in tensors.items()}


class GraphWriter:
    """Collects the nodes and initialisers of one ONNX graph under readable names."""

    def __init__(self) -> None:
        self.inits: list = []
        self.nodes: list = []

    def init(self, name: str, array: np.ndarray | np.generic) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, domain: str = "", **attrs: Any) -> str:
        from onnx import helper

        self.nodes.append(
            helper.make_node(op, inputs, [output], name=output, domain=domain, **attrs)
        )
        return output


class LinearWriter(Protocol):
    """Writes ``x @ weight`` into a graph; returns its name and the bias to add after it.

    ``weight`` is (in, out) float32. The bias is handed back rather than added so the
    graph can fold it into the next fused op (``MultiHeadAttention``, ``FastGelu``, the
    residual add) and so a writer can adjust it: ``floor`` is a known lower bound of ``x``
    (GELU's minimum, for the feed-forward down-projection), which an int8 writer uses to
    spend its whole unsigned range on the values ``x`` can take, at the price of a
    constant it folds into the bias. ``recipes.py`` has the int8 writers.
    """

    def __call__(
        self,
        g: GraphWriter,
        x: str,
        weight: np.ndarray,
        bias: np.ndarray,
        name: str,
        floor: float | None = None,
    ) -> tuple[str, np.ndarray]: ...


MS = "com.microsoft"
#: The smallest value the tanh-form GELU (``FastGelu``) can output (at x ~ -0.75).
GELU_MIN = -0.1701


def fp32_linear(
    g: GraphWriter,
    x: str,
    weight: np.ndarray,
    bias: np.ndarray,
    name: str,
    floor: float | None = None,
) -> tuple[str, np.ndarray]:
    """The float projection: one MatMul."""
    return g.node("MatMul", [x, g.init(f"{name}_w", weight)], name), bias


def write_bert_onnx(
    folder: str | Path, target: str | Path, linear: LinearWriter | None = None
) -> Path:
    """Write ``folder``'s BERT transformer to ``target`` as a fused ONNX model.

    With ``linear=None`` every projection is fp32 and attention is ONNX Runtime's fused
    ``Attention`` kernel (projection included). With a ``linear`` writer (an int8 recipe)
    the packed Q/K/V projection goes through it too and ``MultiHeadAttention`` does the
    rest in fp32, so every weight matrix is quantised the same way.
    """
    import onnx
    from onnx import TensorProto, helper

    folder, target = Path(folder), Path(target)
    config, w = _weights(folder)
    hidden, heads, eps = (
        config["hidden_size"],
        config["num_attention_heads"],
        config["layer_norm_eps"],
    )
    g = GraphWriter()
    project = linear or fp32_linear

    def residual_norm(x: str, skip: str, module: str, out: str, floor: float | None = None) -> str:
        """LayerNorm(x @ W + b + skip) with ``module``'s dense and LayerNorm weights."""
        y, bias = project(
            g, x, w[module + ".dense.weight"].T, w[module + ".dense.bias"], out, floor
        )
        biased = g.node("Add", [y, g.init(f"{out}_bias", bias)], f"{out}_biased")
        summed = g.node("Add", [biased, skip], f"{out}_sum")
        gamma = g.init(f"{out}_g", w[module + ".LayerNorm.weight"])
        beta = g.init(f"{out}_b", w[module + ".LayerNorm.bias"])
        return g.node(
            "LayerNormalization", [summed, gamma, beta], f"{out}_ln", epsilon=eps, axis=-1
        )

    # Embeddings: word + position + token type, then LayerNorm.
    # Positions: the first seq_len rows of the table, sliced with 1-D bounds (a Range +
    # Gather here is rewritten by ORT's embedding fusion into a Slice that fails at run time).
    seq_len = g.node("Shape", ["input_ids"], "seq_len", start=1, end=2)
    zero = g.init("zero", np.array([0], np.int64))
    table = g.init("pos_emb", w["embeddings.position_embeddings.weight"])
    pos = g.node("Slice", [table, zero, seq_len, zero], "pos")
    word = g.node(
        "Gather", [g.init("word_emb", w["embeddings.word_embeddings.weight"]), "input_ids"], "word"
    )
    kind = g.node(
        "Gather",
        [g.init("type_emb", w["embeddings.token_type_embeddings.weight"]), "token_type_ids"],
        "kind",
    )
    summed = g.node("Add", [g.node("Add", [word, pos], "word_pos"), kind], "embedded")
    x = g.node(
        "LayerNormalization",
        [
            summed,
            g.init("emb_ln_g", w["embeddings.LayerNorm.weight"]),
            g.init("emb_ln_b", w["embeddings.LayerNorm.bias"]),
        ],
        "emb_out",
        epsilon=eps,
        axis=-1,
    )
    mask = g.node("Cast", ["attention_mask"], "mask_i32", to=TensorProto.INT32)

    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        a = p + "attention.self."
        qkv_w = np.concatenate([w[a + n + ".weight"].T for n in ("query", "key", "value")], axis=1)
        qkv_b = np.concatenate([w[a + n + ".bias"] for n in ("query", "key", "value")])
        if linear is None:
            att = g.node(
                "Attention",
                [x, g.init(f"l{i}_qkv_w", qkv_w), g.init(f"l{i}_qkv_b", qkv_b), mask],
                f"l{i}_att",
                domain=MS,
                num_heads=heads,
            )
        else:  # MultiHeadAttention takes the three projections and adds their bias
            qkv, qkv_b = linear(g, x, qkv_w, qkv_b, f"l{i}_qkv")
            split = [f"l{i}_q", f"l{i}_k", f"l{i}_v"]
            sizes = g.init(f"l{i}_split", np.array([hidden] * 3, np.int64))
            g.nodes.append(helper.make_node("Split", [qkv, sizes], split, name=split[0], axis=-1))
            att = g.node(
                "MultiHeadAttention",
                [*split, g.init(f"l{i}_qkv_b", qkv_b), mask],
                f"l{i}_att",
                domain=MS,
                num_heads=heads,
            )
        x = residual_norm(att, x, p + "attention.output", f"l{i}_ao")
        up, up_b = project(
            g, x, w[p + "intermediate.dense.weight"].T, w[p + "intermediate.dense.bias"], f"l{i}_up"
        )  # FastGelu adds the bias itself
        gelu = g.node("FastGelu", [up, g.init(f"l{i}_up_b", up_b)], f"l{i}_gelu", domain=MS)
        x = residual_norm(gelu, x, p + "output", f"l{i}_down", floor=GELU_MIN)
    g.nodes.append(
        helper.make_node("Identity", [x], ["last_hidden_state"], name="last_hidden_state")
    )

    tokens = ["batch", "tokens"]
    graph = helper.make_graph(
        g.nodes,
        "bert",
        [
            helper.make_tensor_value_info(n, TensorProto.INT64, tokens)
            for n in ("input_ids", "attention_mask", "token_type_ids")
        ],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [*tokens, hidden])],
        g.inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)]
    )
    model.ir_version = 8
    onnx.save(model, str(target))
    return target
