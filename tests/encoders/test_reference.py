"""int8 ONNX vs the fp32 sentence-transformers reference on 200 varied real sentences."""

from __future__ import annotations

import numpy as np

import embedspace as es


def test_int8_agrees_with_fp32_reference(demo_docs, encoder):
    rng = np.random.default_rng(0)
    picks = rng.choice(len(demo_docs), size=200, replace=False)
    sentences = [demo_docs[i].text[:600] for i in picks]  # plots and reviews, short and long
    reference = es.load_encoder("all-MiniLM-L6-v2-fp32")
    agreement = (encoder.encode(sentences) * reference.encode(sentences)).sum(axis=1)
    assert agreement.mean() >= 0.99
    assert agreement.min() >= 0.95
