"""Static word vectors (GloVe): one point per word, and the arithmetic that made them famous.

Why keep them beside transformer encoders: they are the clearest picture of "closeness
means similarity" (``most_similar``), they do analogies by vector arithmetic
(king - man + woman ≈ queen), and averaged over a sentence they are the classic baseline
that contextual models are measured against (see the seeds: "Works okayish but loses word
order"). Vectors are stored unit-length, so every score here is a cosine.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InvalidInputError, UnknownWordError
from .base import Role, l2_normalise
from .sparse import Analyzer

#: Same word tokens as the sparse models, without stop words or stemming: GloVe has a
#: vector for "the" and for "running", and averaging should see them as written.
_ANALYZER = Analyzer()


class WordVectors:
    """A vocabulary of unit-length word vectors; also an Encoder (mean of word vectors)."""

    modalities: tuple[str, ...] = ("text",)

    def __init__(self, vectors: np.ndarray, words: Sequence[str], *, name: str, model_id: str):
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(words):
            raise InvalidInputError(
                f"need one vector per word: got {len(words)} words and vectors of shape "
                f"{vectors.shape}"
            )
        self.name = name
        self.model_id = model_id
        self.dim = int(vectors.shape[1])
        self.words = list(words)
        self._unit = l2_normalise(vectors)
        self._index = {w: i for i, w in enumerate(self.words)}

    def __repr__(self) -> str:
        return f"WordVectors({self.model_id!r}, words={len(self):,}, dim={self.dim})"

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and word.lower() in self._index

    # -- single words -------------------------------------------------------------------
    def _row(self, word: str) -> int:
        if not isinstance(word, str):
            raise InvalidInputError(f"words are strings, got {type(word).__name__}")
        row = self._index.get(word.lower())
        if row is None:
            raise UnknownWordError(
                f"{word!r} is not among the {len(self):,} words of {self.name}; "
                "check the spelling, or embed it as text with es.embed (subword models "
                "have no out-of-vocabulary words)"
            )
        return row

    def vector(self, word: str) -> np.ndarray:
        """The unit-length vector of ``word`` (case-insensitive: GloVe 6B is lower-case)."""
        return self._unit[self._row(word)].copy()

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two words."""
        return float(self._unit[self._row(a)] @ self._unit[self._row(b)])

    def most_similar(
        self,
        positive: str | Sequence[str] | np.ndarray,
        negative: Sequence[str] = (),
        k: int = 10,
        *,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]]:
        """Words nearest to the sum of ``positive`` minus ``negative`` (3CosAdd).

        ``positive`` may be a word, several words, or a vector. Input words are never
        returned (the nearest word to "king" is trivially "king"). ``restrict_vocab``
        searches only the N most frequent words, as analogy benchmarks do.
        """
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InvalidInputError(f"k must be a positive integer, got {k!r}")
        if isinstance(positive, np.ndarray):
            query, exclude = self._check_query_vector(positive), set()
        else:
            pos = [positive] if isinstance(positive, str) else list(positive)
            rows_pos = [self._row(w) for w in pos]
            rows_neg = [self._row(w) for w in negative]
            if not rows_pos:
                raise InvalidInputError("give at least one positive word")
            query = self._unit[rows_pos].sum(axis=0) - self._unit[rows_neg].sum(axis=0)
            exclude = set(rows_pos) | set(rows_neg)
        return self._nearest(l2_normalise(query), k, exclude, restrict_vocab)

    def analogy(self, a: str, b: str, c: str, *, restrict_vocab: int | None = None) -> str:
        """``a - b + c``: analogy("king", "man", "woman") -> "queen".

        Read it as "``a`` is to ``b`` as ? is to ``c``". For ranked candidates with
        scores, call ``most_similar(positive=[a, c], negative=[b], k=...)``.
        """
        return self.most_similar([a, c], [b], k=1, restrict_vocab=restrict_vocab)[0][0]

    def _check_query_vector(self, vector: np.ndarray) -> np.ndarray:
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        if vector.shape[0] != self.dim or not np.isfinite(vector).all():
            raise InvalidInputError(f"a query vector must be {self.dim} finite numbers")
        return vector

    def _nearest(
        self, query: np.ndarray, k: int, exclude: set[int], restrict_vocab: int | None
    ) -> list[tuple[str, float]]:
        matrix = self._unit if restrict_vocab is None else self._unit[:restrict_vocab]
        scores = matrix @ query
        for row in exclude:
            if row < len(scores):
                scores[row] = -np.inf
        k = min(k, len(scores) - len(exclude))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.words[i], float(scores[i])) for i in top]

    # -- batches (used by evaluation) ---------------------------------------------------
    def analogies(
        self, questions: Sequence[tuple[str, str, str]], *, restrict_vocab: int | None = None
    ) -> list[str]:
        """Answer many ``(a, b, c)`` analogies at once (one matrix product per batch)."""
        matrix = self._unit if restrict_vocab is None else self._unit[:restrict_vocab]
        answers: list[str] = []
        for start in range(0, len(questions), 512):
            batch = questions[start : start + 512]
            rows = np.array([[self._row(w) for w in q] for q in batch], dtype=np.int64)
            query = self._unit[rows[:, 0]] - self._unit[rows[:, 1]] + self._unit[rows[:, 2]]
            scores = l2_normalise(query) @ matrix.T
            for r, row in enumerate(rows):
                scores[r, row[row < scores.shape[1]]] = -np.inf
            answers.extend(self.words[i] for i in scores.argmax(axis=1))
        return answers

    # -- Encoder protocol: a sentence is the mean of its word vectors -------------------
    def tokens(self, text: str) -> list[str]:
        """The words of ``text`` that have vectors (others are skipped when averaging)."""
        return [t for t in _ANALYZER(text) if t in self._index]

    def encode(
        self, items: Sequence[str], role: Role = "document", *, progress: bool = False
    ) -> np.ndarray:
        """Mean of the known words' vectors, L2-normalised; all-unknown texts give zeros."""
        if isinstance(items, str):
            raise InvalidInputError("encode() takes a list of texts; wrap a single text in [ ]")
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        for i, text in enumerate(items):
            rows = [self._index[t] for t in self.tokens(text)]
            if rows:
                out[i] = self._unit[rows].mean(axis=0)
        return l2_normalise(out)
