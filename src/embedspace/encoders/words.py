"""Static word vectors (GloVe): one point per word, and the arithmetic that made them famous.

Why keep them beside transformer encoders: they are the clearest picture of "closeness
means similarity" (``most_similar``), they do analogies by vector arithmetic
(king - man + woman ≈ queen), and averaged over a sentence they are the classic baseline
that contextual models are measured against (see the seeds: "Works okayish but loses word
order"). Vectors are stored unit-length, so every score here is a cosine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from ..errors import InvalidInputError, UnknownWordError
from ..scoring.sparse import Analyzer
from ..validation import check_k
from .base import Role, l2_normalise, require_text_list

#: Same word tokens as the sparse models, without stop words or stemming: GloVe has a
#: vector for "the" and for "running", and averaging should see them as written.
_ANALYZER = Analyzer()
#: "add" = 3CosAdd, "mul" = 3CosMul.
AnalogyMethod = Literal["add", "mul"]
#: 3CosMul's guard against dividing by a near-zero similarity (Levy & Goldberg use 0.001).
_MUL_EPSILON = 1e-3
#: Bounds the (questions x words) score matrices of batched analogies (~64 MB each).
_SCORES_PER_BATCH = 1 << 24


class WordVectors:
    """A vocabulary of word vectors; also an Encoder (mean of word vectors).

    The matrix may be a read-only memory map (the packaged GloVe is): rows are scaled to
    unit length as they are used, via a small vector of inverse norms, so opening 400,000
    words costs a page-cache map instead of an 80 MB copy. Every score here is a cosine.
    Words are assumed to be ordered most frequent first (GloVe's files are), which is
    what ``restrict`` and ``vocabulary(n)`` rely on.
    """

    modalities: tuple[str, ...] = ("text",)

    def __init__(self, vectors: np.ndarray, words: Sequence[str], *, name: str, model_id: str):
        if vectors.ndim != 2 or len(vectors) != len(words):
            raise InvalidInputError(
                f"need one vector per word: got {len(words)} words and vectors of shape "
                f"{vectors.shape}"
            )
        self.name = name
        self.model_id = model_id
        self.dim = int(vectors.shape[1])
        self.words = list(words)
        self._matrix = vectors if vectors.dtype == np.float32 else vectors.astype(np.float32)
        norms = np.linalg.norm(self._matrix, axis=1)
        self._inv_norms = (1.0 / np.maximum(norms, 1e-12)).astype(np.float32)
        self._index = dict(zip(self.words, range(len(self.words)), strict=True))

    def __repr__(self) -> str:
        return f"WordVectors({self.model_id!r}, words={len(self):,}, dim={self.dim})"

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and word.lower() in self._index

    def vocabulary(self, n: int | None = None) -> list[str]:
        """The words, most frequent first; ``n`` keeps only the top ``n``."""
        return self.words[: _check_restrict(n)] if n is not None else list(self.words)

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

    def _unit(self, rows: np.ndarray | list[int]) -> np.ndarray:
        """Unit-length copies of the given rows: (len(rows), dim)."""
        rows = np.asarray(rows, dtype=np.int64)
        return self._matrix[rows] * self._inv_norms[rows][:, None]

    def _cosines(self, queries: np.ndarray, restrict: int | None) -> np.ndarray:
        """Cosine of each unit-length query row with every (allowed) word: (n, words)."""
        stop = len(self) if restrict is None else restrict
        return (queries @ self._matrix[:stop].T) * self._inv_norms[:stop]

    def vector(self, word: str) -> np.ndarray:
        """The unit-length vector of ``word`` (case-insensitive: GloVe 6B is lower-case)."""
        row = self._row(word)
        return self._matrix[row] * self._inv_norms[row]

    def similarity(self, w1: str, w2: str) -> float:
        """Cosine similarity of two words."""
        return float(self.vector(w1) @ self.vector(w2))

    def most_similar(
        self,
        positive: str | Sequence[str] | np.ndarray,
        negative: Sequence[str] = (),
        k: int = 10,
        *,
        restrict: int | None = None,
    ) -> list[tuple[str, float]]:
        """Words nearest to the sum of ``positive`` minus ``negative`` (3CosAdd).

        ``positive`` may be a word, several words, or a vector. Input words are never
        returned (the nearest word to "king" is trivially "king"). ``restrict`` searches
        only the N most frequent words, as analogy benchmarks do.
        """
        k = check_k(k)
        if isinstance(positive, np.ndarray):
            query, exclude = self._check_query_vector(positive), []
        else:
            pos = [positive] if isinstance(positive, str) else list(positive)
            if not pos:
                raise InvalidInputError("give at least one positive word")
            rows_pos = [self._row(w) for w in pos]
            rows_neg = [self._row(w) for w in negative]
            query = self._unit(rows_pos).sum(axis=0) - (
                self._unit(rows_neg).sum(axis=0) if rows_neg else 0
            )
            exclude = rows_pos + rows_neg
        scores = self._cosines(l2_normalise(query)[None, :], _check_restrict(restrict))[0]
        return self._top(scores, k, exclude)

    def analogy(
        self,
        a: str,
        b: str,
        c: str,
        k: int = 10,
        restrict: int | None = None,
        *,
        method: AnalogyMethod = "add",
    ) -> list[tuple[str, float]]:
        """``a - b + c``, best first: ``analogy("king", "man", "woman")[0][0] == "queen"``.

        Read it as "``a`` is to ``b`` as ? is to ``c``". ``method="add"`` is 3CosAdd
        (nearest to the vector sum; Mikolov et al. 2013); ``"mul"`` is 3CosMul (Levy &
        Goldberg 2014), which multiplies the three similarities instead of adding them so
        that one large term cannot dominate (on GloVe 50d it scores lower than 3CosAdd:
        see docs/benchmarks.md). Input words are excluded; ``restrict=N`` answers only with
        the N most frequent words. Scores are cosines (add) or 3CosMul's ratio (mul).
        """
        k = check_k(k)
        rows = [self._row(w) for w in (a, b, c)]
        scores = self.analogy_scores(np.array([rows]), _check_restrict(restrict), method)[0]
        return self._top(scores, k, rows)

    def analogy_scores(
        self, rows: np.ndarray, restrict: int | None, method: AnalogyMethod
    ) -> np.ndarray:
        """Scores of every candidate word for each ``(a, b, c)`` row triple (a - b + c)."""
        if method not in ("add", "mul"):
            raise InvalidInputError(
                f"method must be 'add' (3CosAdd) or 'mul' (3CosMul), not {method!r}"
            )
        a, b, c = (self._unit(rows[:, i]) for i in range(3))
        if method == "add":
            return self._cosines(l2_normalise(a - b + c), restrict)
        # 3CosMul: cosines shifted to [0, 1] so the product and ratio stay meaningful.
        sim_a, sim_b, sim_c = ((self._cosines(v, restrict) + 1) / 2 for v in (a, b, c))
        return sim_a * sim_c / (sim_b + _MUL_EPSILON)

    def analogies(
        self,
        questions: Sequence[tuple[str, str, str]],
        *,
        restrict: int | None = None,
        method: AnalogyMethod = "add",
    ) -> list[str]:
        """The best answer to many ``(a, b, c)`` analogies (a - b + c), batched."""
        answers: list[str] = []
        step = max(1, min(512, _SCORES_PER_BATCH // (restrict or len(self))))
        for start in range(0, len(questions), step):
            batch = questions[start : start + step]
            rows = np.array([[self._row(w) for w in q] for q in batch], dtype=np.int64)
            scores = self.analogy_scores(rows, restrict, method)
            for r, row in enumerate(rows):
                scores[r, row[row < scores.shape[1]]] = -np.inf
            answers.extend(self.words[i] for i in scores.argmax(axis=1))
        return answers

    def _check_query_vector(self, vector: np.ndarray) -> np.ndarray:
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        if vector.shape[0] != self.dim or not np.isfinite(vector).all():
            raise InvalidInputError(f"a query vector must be {self.dim} finite numbers")
        return vector

    def _top(self, scores: np.ndarray, k: int, exclude: list[int]) -> list[tuple[str, float]]:
        for row in exclude:
            if row < len(scores):
                scores[row] = -np.inf
        k = min(k, int(np.isfinite(scores).sum()))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.words[i], float(scores[i])) for i in top]

    # -- Encoder protocol: a sentence is the mean of its word vectors -------------------
    def tokens(self, text: str) -> list[str]:
        """The words of ``text`` that have vectors (others are skipped when averaging)."""
        return [t for t in _ANALYZER(text) if t in self._index]

    def encode(
        self, items: Sequence[str], role: Role = "document", *, progress: bool = False
    ) -> np.ndarray:
        """Mean of the known words' vectors, L2-normalised; all-unknown texts give zeros."""
        require_text_list(items)
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        for i, text in enumerate(items):
            rows = [self._index[t] for t in self.tokens(text)]
            if rows:
                out[i] = self._unit(rows).mean(axis=0)
        return l2_normalise(out)


def _check_restrict(n: int | None) -> int | None:
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise InvalidInputError(f"restrict must be a positive number of words, got {n!r}")
    return n
