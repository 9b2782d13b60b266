"""The default model's build: fused fp32 graph == torch, int8 close to it and a function of
each text alone, the same integers on every CPU kernel, cached atomically with a manifest."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

import embedspace as es
from embedspace.encoders.bert_onnx import read_safetensors, write_bert_onnx
from embedspace.encoders.cpu import choose_recipe, instruction_sets
from embedspace.encoders.onnx_optimize import fast_int8_model
from embedspace.encoders.packaged import minilm_reference_dir
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
    path, tag = fast_int8_model(folder, "minilm", "r7")
    assert tag.endswith("-r7") and path.parent == tmp_path / "models"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.stem + ".json", path.name]
    built = path.stat().st_mtime_ns
    assert fast_int8_model(folder, "minilm", "r7") == (path, tag)  # second use: no rebuild
    assert path.stat().st_mtime_ns == built
    int8 = OnnxTextEncoder(path, folder / "tokenizer.json", max_tokens=256)
    fp32 = es.load_encoder("all-MiniLM-L6-v2-fp32")
    agreement = (int8.encode(sentences) * fp32.encode(sentences)).sum(axis=1)
    # measured 0.996 / 0.987 (short and 256-token texts alike): margins for other CPUs
    assert agreement.mean() >= 0.99 and agreement.min() >= 0.98


def test_a_cached_model_that_does_not_match_its_manifest_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBEDSPACE_CACHE", str(tmp_path))
    folder = minilm_reference_dir()
    path, _ = fast_int8_model(folder, "minilm", "r7")
    manifest = path.with_suffix(".json")
    record = json.loads(manifest.read_text())
    assert record["recipe"] == "r7" and record["isa"] == list(instruction_sets())
    manifest.write_text(json.dumps({**record, "recipe": "fq2", "isa": ["avx2"]}))  # "copied"
    with pytest.warns(es.EmbedspaceWarning, match="'fq2'.*needs 'r7'"):
        fast_int8_model(folder, "minilm", "r7")
    assert json.loads(manifest.read_text())["recipe"] == "r7"
    path.write_bytes(path.read_bytes()[:1000])  # half a file
    with pytest.warns(es.EmbedspaceWarning, match="rebuilding"):
        fast_int8_model(folder, "minilm", "r7")
    OnnxTextEncoder(path, folder / "tokenizer.json")  # whole again


def test_a_vector_is_a_function_of_its_text_alone(encoder, sentences):
    texts = [*sentences[:24], "The product is good", "ok", "a " * 120]
    batch = encoder.encode(texts)
    alone = np.stack([encoder.encode([t])[0] for t in texts])
    shuffled = np.random.default_rng(0).permutation(len(texts))
    reordered = np.empty_like(batch)
    reordered[shuffled] = encoder.encode([texts[i] for i in shuffled])
    padded = encoder.encode([*texts, sentences[-1] * 3])[: len(texts)]  # a long batch-mate
    for other in (alone, reordered, padded):
        assert (batch * other).sum(axis=1).min() >= 0.9999


def test_default_model_id_names_the_recipe(encoder):
    assert encoder.recipe == choose_recipe() and encoder.model_id.endswith(f"-{encoder.recipe}")
    assert choose_recipe(("avx2",)) == choose_recipe(("avx2", "avx512_vnni", "amx_tile")) == "r7"
    assert choose_recipe(("asimd", "asimddp")) == "r7" and choose_recipe(()) == "fp32"


_ENCODE_FIXED_TEXTS = """
import sys, warnings
import numpy as np
from embedspace.encoders.packaged import minilm_reference_dir
from embedspace.encoders.text import OnnxTextEncoder
warnings.simplefilter("ignore")
enc = OnnxTextEncoder(sys.argv[1], minilm_reference_dir() / "tokenizer.json", threads=1)
np.save(sys.argv[2], enc.encode(["The product is good", "The product is not good",
                                 "my parcel still hasn't shown up", "a " * 100]))
"""


@pytest.mark.skipif(shutil.which("qemu-x86_64") is None, reason="needs qemu-user (make qemu)")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="qemu user mode: Linux only")
def test_avx2_kernels_give_the_same_vectors_as_this_cpu(tmp_path, encoder):
    """ONNX Runtime picks its integer kernels from CPUID; under qemu's Haswell (AVX2, no
    VNNI) it takes the vpmaddubsw path, which saturated the old recipe (cosine 0.977)."""
    script = tmp_path / "encode.py"
    script.write_text(_ENCODE_FIXED_TEXTS)
    model, _ = fast_int8_model(minilm_reference_dir(), "all-MiniLM-L6-v2", "r7")
    runs = {
        "native": [sys.executable],
        "haswell": ["qemu-x86_64", "-cpu", "Haswell", sys.executable],
    }
    vectors = {}
    for name, command in runs.items():
        subprocess.run(
            [*command, str(script), str(model), str(tmp_path / f"{name}.npy")],
            check=True,
            capture_output=True,
            timeout=300,
        )
        vectors[name] = np.load(tmp_path / f"{name}.npy")
    # the integer sums are exact on both; only float ops (softmax, LayerNorm) of other
    # vector widths round differently: measured max |diff| ~1e-7 (old recipe: 0.037)
    agreement = (vectors["native"] * vectors["haswell"]).sum(axis=1)
    assert agreement.min() >= 0.99999, agreement
    assert np.abs(vectors["native"] - vectors["haswell"]).max() < 1e-4


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


def test_one_worker_gives_the_vectors_of_many(encoder, sentences):
    """A 1-core container (EMBEDSPACE_THREADS=1 or an affinity mask of one CPU) runs the
    batches one after another: same recipe, same vectors."""
    from embedspace.encoders.calibration import calibration

    one = OnnxTextEncoder(
        fast_int8_model(minilm_reference_dir(), "all-MiniLM-L6-v2", encoder.recipe)[0],
        minilm_reference_dir() / "tokenizer.json",
        threads=1,
    )
    assert (one.encode(sentences) * encoder.encode(sentences)).sum(axis=1).min() >= 0.9999
    for recipe in ("r7", "fp32"):  # every recipe's model id has a calibrated threshold
        model_id = encoder.model_id.rsplit("-", 1)[0] + f"-{recipe}"
        assert calibration(model_id)["duplicate_threshold"] > 0.5
