"""Fine-tuning: pairs in, a model folder out that a Space runs on ONNX Runtime."""

from __future__ import annotations

import json
import random

import pytest
from typer.testing import CliRunner

import embedspace as es
from embedspace.cli import app
from embedspace.train.finetune import _batches, read_pairs

PAIRS = [
    ("My order hasn't arrived", "I haven't received my package"),
    ("How do I reset my password?", "I forgot my login password"),
    ("The app crashes when I open the camera", "Opening the camera closes the application"),
    ("Can I pay with a credit card?", "Do you accept Visa?"),
]


def test_read_pairs_accepts_common_headers_and_explains_bad_files(tmp_path):
    good = tmp_path / "pairs.tsv"
    good.write_text("Query\tDocument\nq1\td1\nq2\t\nq3\td3\n")
    assert read_pairs(good) == [("q1", "d1"), ("q3", "d3")]  # incomplete rows skipped
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\nx,y\n")
    with pytest.raises(es.InvalidInputError, match="anchor,positive"):
        read_pairs(bad)
    with pytest.raises(es.InvalidInputError, match="not found"):
        read_pairs(tmp_path / "missing.csv")


def test_batches_never_hold_a_text_twice():
    pairs = [(f"q{i % 7}", f"d{i}") for i in range(50)]  # queries repeat
    batches = _batches(pairs, 8, random.Random(0))
    for batch in batches:
        texts = [t for pair in batch for t in pair]
        assert len(texts) == len(set(texts)) and 2 <= len(batch) <= 8
    assert sum(len(b) for b in batches) >= 7 * len(batches) // 2


@pytest.mark.slow
def test_tiny_finetune_makes_a_folder_a_space_can_use(tmp_path):
    pytest.importorskip("sentence_transformers")
    from embedspace.encoders.bert_onnx import write_bert_onnx
    from embedspace.encoders.sentence_transformers import SentenceTransformerEncoder
    from embedspace.encoders.text import OnnxTextEncoder

    pairs_csv = tmp_path / "pairs.csv"
    pairs_csv.write_text("anchor,positive\n" + "".join(f'"{a}","{b}"\n' for a, b in PAIRS))
    out = tmp_path / "support-minilm"
    result = CliRunner().invoke(
        app,
        [
            "finetune",
            "--pairs",
            str(pairs_csv),
            "--output",
            str(out),
            "--batch-size",
            "4",
            "--max-steps",
            "1",
            "--matryoshka",
            "384,128",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["steps"] == 1 and report["pairs"] == 4 and report["matryoshka_dims"] == [384, 128]
    texts = [t for pair in PAIRS for t in pair]
    torch_model = SentenceTransformerEncoder(out)
    # The fp32 export of the trained weights is the torch model, padded batches included.
    fp32 = OnnxTextEncoder(write_bert_onnx(out, tmp_path / "fp32.onnx"), out / "tokenizer.json")
    assert (fp32.encode(texts) * torch_model.encode(texts)).sum(axis=1).min() >= 0.999
    # The folder's own model.onnx (int8) is what load_encoder and a Space run.
    onnx = es.load_encoder(str(out))
    assert isinstance(onnx, OnnxTextEncoder) and onnx.name == "support-minilm"
    assert (onnx.encode(texts) * torch_model.encode(texts)).sum(axis=1).mean() >= 0.99
    with es.Space(tmp_path / "s.space", model=str(out), progress=False) as space:
        space.add([b for _, b in PAIRS], ids=["a", "b", "c", "d"])
        assert space.search("where is my parcel", k=1)[0].id == "a"
    again = CliRunner().invoke(app, ["finetune", "--pairs", str(pairs_csv), "--output", str(out)])
    assert again.exit_code == 1 and "not empty" in again.output


def test_finetune_needs_at_least_two_pairs(tmp_path):
    pytest.importorskip("sentence_transformers")
    from embedspace.train.finetune import finetune

    with pytest.raises(es.InvalidInputError, match="at least 2"):
        finetune(PAIRS[:1], tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_matryoshka_dims_need_a_model_that_declares_its_dimension(monkeypatch, tmp_path):
    """sentence-transformers answers None for a model whose dimension it cannot tell;
    that used to surface as int(None)'s TypeError before any training started."""
    st = pytest.importorskip("sentence_transformers")
    from sentence_transformers.sentence_transformer import losses

    from embedspace.train.finetune import finetune

    class Undeclared:
        def __init__(self, *args, **kwargs):
            pass

        def get_embedding_dimension(self):
            return None

    monkeypatch.setattr(st, "SentenceTransformer", Undeclared)
    monkeypatch.setattr(losses, "MultipleNegativesRankingLoss", lambda model: None)
    with pytest.raises(es.NotSupportedError, match="does not declare its embedding dimension"):
        finetune(PAIRS, tmp_path / "out", base=tmp_path, matryoshka_dims=[32], progress=False)
