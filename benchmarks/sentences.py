"""Sentence similarity: how well cosine tracks human judgements of text pairs.

The seeds' comparison: averaging static word vectors ("works okayish but loses word
order") against a trained bi-encoder, and the bi-encoder's pooling choices (mean, CLS,
max). Two sources of human scores: the Lee corpus that ships in gensim's wheel (50 news
documents, every pair rated; used by the tests) and STS-B from the shared datasets folder
(used by the benchmark). The figure is Spearman's ρ between cosine and the human score,
the metric the STS literature reports.
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from benchmarks.words import gensim_test_data
from embedspace.encoders.base import Encoder
from embedspace.encoders.registry import load_encoder
from embedspace.errors import EmbedspaceWarning

TextPair = tuple[str, str, float]

#: The models the comparison covers, named as ``load_encoder`` spells them.
COMPARED_MODELS = {
    "mean of GloVe 50d word vectors": "glove",
    "MiniLM bi-encoder, mean pooling (its training)": "default",
    "MiniLM bi-encoder, CLS token": "default+cls",
    "MiniLM bi-encoder, max pooling": "default+max",
}


def read_lee_pairs() -> list[TextPair]:
    """Lee et al. (2005): 50 news documents, human similarity for all 1,225 pairs."""
    docs = gensim_test_data("lee.cor").read_text(encoding="latin-1").strip().splitlines()
    scores = np.loadtxt(gensim_test_data("similarities0-1.txt"))
    rows, cols = np.triu_indices(len(docs), k=1)
    return [(docs[i], docs[j], float(scores[i, j])) for i, j in zip(rows, cols, strict=True)]


def read_stsb(path: Path) -> list[TextPair]:
    """STS-B's tab-separated files: score in column 5, sentences in 6 and 7 (1-based)."""
    pairs = []
    with Path(path).open(encoding="utf-8") as handle:
        for fields in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(fields) >= 7:
                pairs.append((fields[5], fields[6], float(fields[4])))
    return pairs


@dataclass(frozen=True)
class PairCorrelation:
    spearman: float
    pairs: int


def pair_spearman(encoder: str | Encoder, pairs: Sequence[TextPair]) -> PairCorrelation:
    """Spearman ρ between the cosine of each pair's vectors and its human score.

    Long texts are truncated to the model's limit (the Lee documents exceed 256 tokens);
    that is part of what is measured, so the truncation warning is silenced here.
    """
    encoder = load_encoder(encoder)
    texts = sorted({t for a, b, _ in pairs for t in (a, b)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmbedspaceWarning)
        vectors = dict(zip(texts, encoder.encode(texts), strict=True))
    cosines = [float(vectors[a] @ vectors[b]) for a, b, _ in pairs]
    rho = float(spearmanr(cosines, [s for *_, s in pairs]).statistic)
    return PairCorrelation(rho, len(pairs))


def sentence_similarity_markdown(stsb_dir: Path | None) -> str:
    """The benchmark section: every compared model on Lee (packaged) and STS-B test."""
    sets = {"Lee 50 documents (gensim)": read_lee_pairs()}
    if stsb_dir is not None and (stsb_dir / "sts-test.csv").is_file():
        sets["STS-B test"] = read_stsb(stsb_dir / "sts-test.csv")
    header = "| model | " + " | ".join(f"{name} ({len(p):,} pairs)" for name, p in sets.items())
    lines = [
        "### Sentence similarity: averaged word vectors vs a trained bi-encoder",
        "",
        "Spearman ρ between cosine and human similarity. Pooling turns token vectors into "
        "one vector; MiniLM was trained with mean pooling, so CLS and max are what it "
        "gives without that training. Lee documents exceed 256 tokens and are truncated.",
        "",
        header + " |",
        "|---" * (len(sets) + 1) + "|",
    ]
    for label, model in COMPARED_MODELS.items():
        cells = [f"{pair_spearman(model, pairs).spearman:.3f}" for pairs in sets.values()]
        lines.append(f"| {label} (`{model}`) | " + " | ".join(cells) + " |")
    return "\n".join(lines)
