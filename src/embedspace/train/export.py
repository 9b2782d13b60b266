"""Trained cross-encoder (transformers folder) -> int8 ONNX folder that ships in the package.

Steps, each checked rather than trusted:

1. ``torch.onnx.export(..., dynamo=True)`` with dynamic batch and sequence axes;
   the fp32 graph must match torch on a *padded* batch of real pairs (max |logit diff|).
2. ``onnxruntime.quantization.quantize_dynamic`` (int8 weights, per-channel): the int8
   logits must keep the fp32 ranking (Spearman) and close scores (max |sigmoid diff|).
3. ``model.onnx`` + ``tokenizer.json`` + ``config.json`` (max_length, provenance) and
   ``export_report.json`` (the checks' numbers) are written to the output folder.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidInputError

if TYPE_CHECKING:
    from torch import Tensor
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

#: Pairs for the export checks: short and long, paraphrase, negation and unrelated.
CHECK_PAIRS = [
    ("The product is good", "The product is great"),
    ("The product is good", "The product is not good"),
    ("A man is playing a guitar.", "A man is playing a musical instrument on stage in front of a crowd."),
    ("How do I reset my password?", "Bananas are rich in potassium."),
    ("Vitamin D deficiency is linked to depression.",
     "Low serum vitamin D levels were associated with depressive symptoms in a cohort of "
     "older adults followed for six years, after adjustment for confounders. " * 6),
    ("My order hasn't arrived", "I haven't received my package"),
]  # fmt: skip


def _padded_batch(
    tokenizer: PreTrainedTokenizerBase, pairs: Sequence[tuple[str, str]], max_length: int
) -> tuple[Tensor, Tensor, Tensor]:
    """(token ids, attention mask, type ids) of ``pairs``, padded to the longest."""
    enc = tokenizer(
        [a for a, _ in pairs], [b for _, b in pairs], truncation="longest_first",
        max_length=max_length, padding=True, return_tensors="pt",
    )  # fmt: skip
    return enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]


def _ort_logits(path: Path, ids: Tensor, mask: Tensor, types: Tensor) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    feeds = {
        "input_ids": ids.numpy(),
        "attention_mask": mask.numpy(),
        "token_type_ids": types.numpy(),
    }
    return session.run(None, {k: v for k, v in feeds.items() if k in names})[0][:, 0]


def export_reranker(
    model_dir: Path,
    out_dir: Path,
    *,
    max_length: int = 320,
    provenance: dict | None = None,
    agreement_pairs: list[tuple[str, str]] | None = None,
) -> dict:
    """Export, quantise and verify; returns the report also written to ``out_dir``.

    ``agreement_pairs`` (e.g. held-out SICK and SciFact pairs) are scored by torch fp32
    and by the shipped folder through :class:`OnnxCrossEncoder` (the product's loader,
    tokenizer.json included): their Spearman and score differences go in the report."""
    import onnx
    import torch
    import transformers
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from scipy.stats import spearmanr

    model_dir, out_dir = Path(model_dir), Path(out_dir)
    if not (model_dir / "config.json").is_file():
        raise InvalidInputError(f"{model_dir} is not a transformers model folder (no config.json)")
    model = transformers.AutoModelForSequenceClassification.from_pretrained(str(model_dir)).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_dir))
    ids, mask, types = _padded_batch(tokenizer, CHECK_PAIRS, max_length)
    with torch.no_grad():
        reference = (
            model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits[:, 0].numpy()
        )

    class Logits(torch.nn.Module):  # plain tensor output: no ModelOutput in the graph
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(
            self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor
        ) -> Tensor:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).logits

    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence", max=512)
    with tempfile.TemporaryDirectory() as tmp:
        fp32, int8 = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        torch.onnx.export(
            Logits(model).eval(), (ids, mask, types), str(fp32), dynamo=True,
            input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"],
            dynamic_shapes={"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq},
                            "token_type_ids": {0: batch, 1: seq}},
            external_data=False,
        )  # fmt: skip
        fp32_logits = _ort_logits(fp32, ids, mask, types)
        # The dynamo exporter records intermediate shapes that ONNX's own shape inference
        # (run inside the quantiser) contradicts for broadcast constants; they are only
        # hints, so drop them and let the quantiser infer its own.
        graph = onnx.load(str(fp32))
        del graph.graph.value_info[:]
        onnx.save(graph, str(fp32))
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # the quantiser logs a generic pre-processing hint
        try:
            quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
        finally:
            root.setLevel(level)
        int8_logits = _ort_logits(int8, ids, mask, types)
        # a second shape (one pair, no padding) proves the axes are really dynamic
        one = _padded_batch(tokenizer, CHECK_PAIRS[:1], max_length)
        single = _ort_logits(fp32, *one)[0]
        out_dir.mkdir(parents=True, exist_ok=True)
        staged = out_dir / "model.onnx.tmp"
        shutil.copyfile(int8, staged)
        os.replace(staged, out_dir / "model.onnx")
        fp32_size = fp32.stat().st_size

    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    report = {
        "pairs": [list(p) for p in CHECK_PAIRS],
        "torch_logits": reference.round(4).tolist(),
        "onnx_fp32_max_abs_diff": float(np.abs(fp32_logits - reference).max()),
        "onnx_fp32_unpadded_diff": float(abs(single - reference[0])),
        "int8_max_abs_score_diff": float(np.abs(sig(int8_logits) - sig(reference)).max()),
        "int8_spearman_vs_fp32": float(spearmanr(int8_logits, reference).statistic),
        "fp32_bytes": fp32_size,
        "int8_bytes": (out_dir / "model.onnx").stat().st_size,
    }
    tokenizer.backend_tokenizer.save(str(out_dir / "tokenizer.json"))
    config = {
        "max_length": max_length,
        "activation": "sigmoid",
        "architecture": "BertForSequenceClassification (1 label), int8 ONNX",
    }
    config.update(provenance or {})
    _write_json(out_dir / "config.json", config)
    report.update(_agreement(model, tokenizer, out_dir, agreement_pairs or CHECK_PAIRS, max_length))
    _write_json(out_dir / "export_report.json", report)
    return report


def _agreement(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    out_dir: Path,
    pairs: Sequence[tuple[str, str]],
    max_length: int,
) -> dict[str, Any]:
    """torch fp32 vs the shipped int8 folder, loaded the way users load it."""
    import torch
    from scipy.stats import spearmanr

    from ..encoders.reranker import OnnxCrossEncoder

    shipped = OnnxCrossEncoder(
        out_dir / "model.onnx", out_dir / "tokenizer.json", max_length=max_length
    )
    reference, shipped_scores = [], []
    for start in range(0, len(pairs), 32):
        batch = pairs[start : start + 32]
        ids, mask, types = _padded_batch(tokenizer, batch, max_length)
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
        reference += torch.sigmoid(logits[:, 0]).tolist()
        for a, b in batch:  # one query per call, as search does
            shipped_scores += shipped.score(a, [b])
    ref, got = np.asarray(reference), np.asarray(shipped_scores)
    return {
        "agreement_pairs": len(pairs),
        "shipped_vs_torch_spearman": float(spearmanr(ref, got).statistic),
        "shipped_vs_torch_max_abs_score_diff": float(np.abs(ref - got).max()),
        "shipped_vs_torch_mean_abs_score_diff": float(np.abs(ref - got).mean()),
    }


def _write_json(path: Path, body: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(body, indent=2) + "\n")
    os.replace(tmp, path)
