"""One pair of texts, six ways of turning text into numbers, side by side.

The seeds' ladder from "words as integers" to trained embeddings, made measurable: the
same two texts are compared by cosine under each representation, so the lessons show up
as numbers. Integer ids invent distances; one-hot and bag-of-words see only shared
spellings ("Paris is beautiful" vs "France is lovely" share none); TF-IDF discounts
words that are common in a real corpus; averaged GloVe vectors know that Paris and France
are related but not word order ("dog bites man" = "man bites dog"); the trained
bi-encoder sees the link between paraphrases and is still fooled by negation ("good" vs
"not good" come out very similar).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..encoders.base import Encoder
from ..encoders.registry import load_encoder, words
from ..errors import InvalidInputError
from ..scoring.sparse import (
    ENGLISH_STOP_WORDS,
    PLAIN_ANALYZER,
    Analyzer,
    BagOfWordsModel,
    OneHotModel,
    TfIdfModel,
    _SparseModel,
    cosine_sparse,
)

#: The sparse rows compare content words: function words ("is", "the") are dropped, as
#: classic one-hot / TF-IDF pipelines do, but negations stay, since they carry meaning.
CONTENT_ANALYZER = Analyzer(stop_words=ENGLISH_STOP_WORDS - {"no", "not"})


@dataclass(frozen=True)
class Representation:
    """A row of the comparison table: the key ``compare`` returns and what it sees."""

    key: str
    sees: str


REPRESENTATIONS = (
    Representation(
        "integer-id",
        "each word as its GloVe vocabulary rank, texts as vectors of ranks: distances are invented",
    ),
    Representation("one-hot", "which content words occur (shared spellings only)"),
    Representation("bag-of-words", "how often each content word occurs; no order"),
    Representation("tf-idf", "content-word counts weighted by rarity in a movie-review corpus"),
    Representation("mean-glove", "average of GloVe word vectors: related words, no order"),
    Representation("dense", "the trained bi-encoder (the space's model)"),
)


@lru_cache(maxsize=1)
def reference_corpus() -> tuple[str, ...]:
    """The TF-IDF reference corpus: 13,891 movie plots and review snippets (demo corpus).

    Why a real corpus: fitted on the two texts alone, inverse document frequency can only
    say "in one text or in both", which is not what rarity means.
    """
    from ..ingest.demo_corpus import demo_corpus

    return tuple(doc.text for doc in demo_corpus())


def _sparse_cosine(model: _SparseModel, a: str, b: str, corpus: tuple[str, ...] = ()) -> float:
    vectors = model.fit([*corpus, a, b]).transform([a, b])
    return cosine_sparse(vectors[0], vectors[1])


def integer_id_cosine(a: str, b: str) -> float:
    """Cosine of the two texts as vectors of word ids (GloVe's frequency ranks, unknown
    words after the last), the shorter padded with zeros.

    Nobody should embed text like this; it is here to show why not: ids are arbitrary, so
    cosine rewards texts whose words happen to have similar ranks, and every text of
    positive ids is already "similar" to every other one.
    """
    vocabulary = words()
    rank = {w: i + 1 for i, w in enumerate(vocabulary.vocabulary())}
    ids = [
        np.array([rank.get(t, len(rank) + 1) for t in PLAIN_ANALYZER(text)], dtype=np.float64)
        for text in (a, b)
    ]
    width = max(len(v) for v in ids)
    x, y = (np.pad(v, (0, width - len(v))) for v in ids)
    return float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))


def compare(a: str, b: str, model: str | Encoder = "default") -> dict[str, float]:
    """Cosine of ``a`` and ``b`` under each representation, keyed as in REPRESENTATIONS:
    ``integer-id``, ``one-hot``, ``bag-of-words``, ``tf-idf``, ``mean-glove``, ``dense``."""
    for text in (a, b):
        if not isinstance(text, str) or not PLAIN_ANALYZER(text):
            raise InvalidInputError(f"compare needs two texts with words in them, got {text!r}")
    glove = words().encode([a, b])
    dense = load_encoder(model).encode([a, b], role="document")
    return {
        "integer-id": integer_id_cosine(a, b),
        "one-hot": _sparse_cosine(OneHotModel(CONTENT_ANALYZER), a, b),
        "bag-of-words": _sparse_cosine(BagOfWordsModel(CONTENT_ANALYZER), a, b),
        "tf-idf": _sparse_cosine(TfIdfModel(CONTENT_ANALYZER), a, b, reference_corpus()),
        "mean-glove": float(glove[0] @ glove[1]),
        "dense": float(dense[0] @ dense[1]),
    }
