"""Truncation, int8 / binary codes and two-stage search, on real vectors of the packaged
model over the demo corpus (Rotten Tomatoes snippets)."""

from __future__ import annotations

import numpy as np
import pytest

import embedspace as es
from benchmarks.compression import compression_benchmark
from embedspace.index.quantization import (
    CompressedIndex,
    hamming_scores,
    quantize_binary,
    quantize_int8,
)

QUERIES = [
    "a gripping thriller with a twist ending",
    "a heartwarming story about a family",
    "the acting was wooden and the plot boring",
    "space adventure with aliens",
    "a documentary about music",
]


@pytest.fixture(scope="module")
def corpus(demo_docs):
    texts = [d.text for d in demo_docs if d.metadata["kind"] != "plot"][:600]
    return es.embed(texts), es.load_encoder("default").encode(QUERIES, role="query")


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean([len(set(x) & set(y)) / len(x) for x, y in zip(a, b, strict=True)]))


def test_dim_truncates_and_renormalises():
    full = es.embed(["I'd like a refund"])[0]
    short = es.embed(["I'd like a refund"], dim=128)
    assert short.shape == (1, 128)
    np.testing.assert_allclose(short[0], full[:128] / np.linalg.norm(full[:128]), atol=1e-6)
    with pytest.raises(es.InvalidInputError, match="dim"):
        es.embed(["x"], dim=0)
    with pytest.raises(es.InvalidInputError, match="from 1 to 384"):
        es.embed(["x"], dim=1000)


def test_truncated_model_is_a_space_option_and_reopens(tmp_path):
    path = tmp_path / "short.space"
    with es.Space(path, model="default+dim=128", progress=False) as space:
        space.add(["My kitten naps on the windowsill", "Stock markets fell sharply today"])
        assert space.dim == 128 and space.search("a cat", k=1)[0].text.startswith("My kitten")
    with es.Space(path, progress=False) as space:  # the name records the option
        assert space.encoder.dim == 128
    with pytest.raises(es.ModelMismatchError):
        es.Space(path, model="all-MiniLM-L6-v2", progress=False)


def test_int8_codes_keep_the_ranking(corpus):
    docs, queries = corpus
    codes = quantize_int8(docs)
    assert codes.codes.dtype == np.int8 and codes.codes.nbytes * 4 == docs.nbytes
    np.testing.assert_allclose(codes.scores(queries), queries @ docs.T, atol=0.02)
    exact, _ = CompressedIndex(docs).search(queries, 10)
    approx, _ = CompressedIndex(docs, quantization="int8").search(queries, 10)
    assert _overlap(exact, approx) >= 0.9


def test_binary_codes_need_and_get_a_float_rerank(corpus):
    docs, queries = corpus
    assert quantize_binary(docs).shape == (len(docs), 48)  # 32x smaller than float32
    scores = hamming_scores(quantize_binary(docs), queries, 384)
    assert scores.max() <= 384 and scores.min() >= -384
    exact, exact_scores = CompressedIndex(docs).search(queries, 10)
    binary, _ = CompressedIndex(docs, quantization="binary").search(queries, 10)
    reranked, reranked_scores = CompressedIndex(docs, quantization="binary", rerank=100).search(
        queries, 10
    )
    assert _overlap(exact, reranked) >= _overlap(exact, binary)
    assert _overlap(exact, reranked) >= 0.8
    # re-ranked scores are true cosines
    np.testing.assert_allclose(
        reranked_scores[:, 0], np.einsum("qd,qd->q", queries, docs[reranked[:, 0]]), atol=1e-5
    )
    assert (exact_scores[:, 0] >= reranked_scores[:, 0] - 1e-6).all()


def test_two_stage_truncated_prefilter_recovers_full_ranking(corpus):
    docs, queries = corpus
    exact, _ = CompressedIndex(docs).search(queries, 10)
    short, _ = CompressedIndex(docs, dim=128).search(queries, 10)
    two_stage, _ = CompressedIndex(docs, dim=128, rerank=100).search(queries, 10)
    assert _overlap(exact, two_stage) > _overlap(exact, short)
    assert _overlap(exact, two_stage) >= 0.9


def test_bad_options_are_embedspace_errors(corpus):
    docs, _ = corpus
    with pytest.raises(es.InvalidInputError, match="quantization"):
        CompressedIndex(docs, quantization="int4")
    with pytest.raises(es.InvalidInputError, match="rerank"):
        CompressedIndex(docs, rerank=-1)


def test_benchmark_skips_cleanly_without_shared_data(tmp_path):
    report = tmp_path / "bench.md"
    assert compression_benchmark(report, None) is None
    assert compression_benchmark(report, tmp_path) is None
    assert not report.exists()
