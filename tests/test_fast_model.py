"""The default model's build: fused fp32 graph == torch, int8 close to it, cached atomically."""

from __future__ import annotations

import numpy as np
import pytest

import embedspace as es
from embedspace.encoders.bert_onnx import read_safetensors, write_bert_onnx
from embedspace.encoders.onnx_optimize import RECIPE, fast_int8_model
from embedspace.encoders.registry import minilm_reference_dir
from embedspace.encoders.text import OnnxTextEncoder
from embedspace.errors import ModelNotFoundError

# Some long plots exceed 256 tokens: truncated alike on both sides, which is fine here.
pytestmark = pytest.mark.filterwarnings("ignore::embedspace.errors.EmbedspaceWarning")


@pytest.fixture(scope="module")
def sentences(demo_docs):
    rng = np.random.default_rng(1)
    picks = rng.choice(len(demo_docs), size=64, replace=False)
    return [demo_docs[i].text[:1200] for i in picks]  # short reviews and long plots


def test_fused_fp32_graph_matches_sentence_transformers(tmp_path, sentences):
    folder = minilm_reference_dir()
    fused = OnnxTextEncoder(
        write_bert_onnx(folder, tmp_path / "fp32.onnx"), folder / "tokenizer.json", max_tokens=256
    )
    reference = es.load_encoder("all-MiniLM-L6-v2-fp32")
    agreement = (fused.encode(sentences) * reference.encode(sentences)).sum(axis=1)
    assert agreement.min() >= 0.9999  # same weights, same maths: padded batches included


def test_int8_build_is_cached_atomically_and_stays_close(tmp_path, monkeypatch, sentences):
    monkeypatch.setenv("EMBEDSPACE_CACHE", str(tmp_path))
    folder = minilm_reference_dir()
    path, tag = fast_int8_model(folder, "minilm")
    assert tag.endswith(f"-{RECIPE}") and path.parent == tmp_path / "models"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files left
    built = path.stat().st_mtime_ns
    assert fast_int8_model(folder, "minilm") == (path, tag)  # second use: no rebuild
    assert path.stat().st_mtime_ns == built
    int8 = OnnxTextEncoder(path, folder / "tokenizer.json", max_tokens=256)
    fp32 = es.load_encoder("all-MiniLM-L6-v2-fp32")
    agreement = (int8.encode(sentences) * fp32.encode(sentences)).sum(axis=1)
    assert agreement.mean() >= 0.99 and agreement.min() >= 0.97


def test_default_model_id_names_the_recipe(encoder):
    assert encoder.model_id.endswith(f"-{RECIPE}")


def test_writer_rejects_folders_that_are_not_bert(tmp_path):
    with pytest.raises(ModelNotFoundError, match="config.json"):
        write_bert_onnx(tmp_path, tmp_path / "x.onnx")
    (tmp_path / "config.json").write_text('{"model_type": "t5"}')
    (tmp_path / "model.safetensors").write_bytes(b"\0" * 8)
    with pytest.raises(ModelNotFoundError, match="BERT"):
        write_bert_onnx(tmp_path, tmp_path / "x.onnx")


def test_safetensors_reader_reads_the_real_file():
    tensors = read_safetensors(minilm_reference_dir() / "model.safetensors")
    assert tensors["embeddings.word_embeddings.weight"].shape == (30522, 384)
    assert tensors["encoder.layer.5.output.dense.weight"].dtype == np.float32
