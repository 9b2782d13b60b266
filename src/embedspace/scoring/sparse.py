"""Sparse text representations: the "before embeddings" ladder, as real scorers.

One-hot (which words occur), bag-of-words (how often), TF-IDF (how often, weighted by
rarity) and BM25 (TF-IDF with saturation and length normalisation: the keyword half of
hybrid search). All share one :class:`Analyzer`, so their differences come from the
weighting alone, and all expose ``fit`` / ``transform`` / ``scores`` over scipy sparse
matrices so they can rank a corpus, not just compare two sentences.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol, Self

import numpy as np
from scipy import sparse

from ..errors import InvalidInputError

#: Lucene's / Elasticsearch's classic English stop words (33, including "no" and "not",
#: which BM25 ranking barely needs; es.compare keeps negations with its own list).
ENGLISH_STOP_WORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with".split()
)
#: Function words a *query* may contain that earn no keyword credit (NLTK's English list,
#: contraction pieces included: "hasn't" -> "hasn", "t"). Documents keep them: the index
#: is unchanged, only what a query is credited for.
QUERY_STOP_WORDS = ENGLISH_STOP_WORDS | frozenset(
    "i me my myself we our ours ourselves you your yours yourself yourselves he him his "
    "himself she her hers herself its itself them theirs themselves what which who whom "
    "those am were been being have has had having do does did doing because until while "
    "about against between through during before after above below from up down out off "
    "over under again further once here when where why how all any both each few more most "
    "other some nor only own same so than too very can just don should now ll re ve ain "
    "aren couldn didn doesn hadn hasn haven isn ma mightn mustn needn shan shouldn wasn "
    "weren won wouldn".split()
)
_WORD = re.compile(r"\w+", re.UNICODE)


class _Stemmer(Protocol):
    """A snowballstemmer stemmer (the package ships no types)."""

    def stemWord(self, word: str) -> str: ...  # noqa: N802 - snowballstemmer's name


@lru_cache(maxsize=1)
def _english_stemmer() -> _Stemmer:
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@dataclass(frozen=True)
class Analyzer:
    """Text -> terms: lower-case word tokens, optional stop-word removal and stemming;
    tokens shorter than ``min_length`` are dropped."""

    lowercase: bool = True
    stop_words: frozenset[str] = field(default=frozenset())
    stem: bool = False
    min_length: int = 1

    def __call__(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        terms = [
            t for t in _WORD.findall(text) if len(t) >= self.min_length and t not in self.stop_words
        ]
        if self.stem:
            stem = _stem_word
            terms = [stem(t) for t in terms]
        return terms


@lru_cache(maxsize=500_000)
def _stem_word(word: str) -> str:
    return _english_stemmer().stemWord(word)


#: The analyzer BM25 search uses by default (Elasticsearch's "english" analyzer, roughly).
SEARCH_ANALYZER = Analyzer(stop_words=ENGLISH_STOP_WORDS, stem=True)
#: How BM25 reads a query: as the index does, but function words and one-letter tokens
#: ("t" of "hasn't", "s" of "it's") are not looked up, so they never win keyword credit.
QUERY_ANALYZER = Analyzer(stop_words=QUERY_STOP_WORDS, stem=True, min_length=2)
#: The analyzer for teaching comparisons: every word counts, nothing is stemmed.
PLAIN_ANALYZER = Analyzer()


class _SparseModel:
    """Shared machinery: vocabulary, document frequencies, term-count matrices."""

    name = "sparse"

    def __init__(self, analyzer: Analyzer = PLAIN_ANALYZER, query_analyzer: Analyzer | None = None):
        self.analyzer = analyzer
        self.query_analyzer = query_analyzer or analyzer
        self.vocabulary: dict[str, int] = {}
        self.doc_freq = np.zeros(0, dtype=np.int64)
        self.n_docs = 0
        self._live_terms: np.ndarray | None = None  # None: every vocabulary word is in use
        self._doc_matrix: sparse.csr_matrix | None = None

    def _counts(
        self, texts: Iterable[str], grow: bool, analyzer: Analyzer | None = None
    ) -> sparse.csr_matrix:
        """Term-count matrix (texts x vocabulary); ``grow`` adds unseen terms."""
        analyzer = analyzer or self.analyzer
        indptr: list[int] = [0]
        indices: list[int] = []
        data: list[int] = []
        for text in texts:
            row: dict[int, int] = {}
            for term in analyzer(text):
                col = self.vocabulary.get(term)
                if col is None:
                    if not grow:
                        continue
                    col = self.vocabulary[term] = len(self.vocabulary)
                row[col] = row.get(col, 0) + 1
            indices.extend(row)
            data.extend(row.values())
            indptr.append(len(indices))
        shape = (len(indptr) - 1, len(self.vocabulary))
        return sparse.csr_matrix(
            (np.asarray(data, dtype=np.float32), np.asarray(indices, dtype=np.int64), indptr),
            shape=shape,
        )

    def fit(self, corpus: Sequence[str]) -> Self:
        """Learn the vocabulary and document frequencies from ``corpus``; index it."""
        self.vocabulary = {}
        return self.fit_counts(self.count_terms(corpus))

    def count_terms(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Term counts of ``texts``, adding their unseen words to the vocabulary.

        Analysing text is nearly all the cost of indexing, so a caller that keeps these
        rows can re-fit after a few documents change without analysing the rest again.
        """
        return self._counts(texts, grow=True)

    def fit_counts(self, counts: sparse.csr_matrix) -> Self:
        """Index documents given as term-count rows over this model's vocabulary.

        Words whose documents are all gone stay in the vocabulary with frequency 0;
        queries ignore them, so scores equal those of a model fitted afresh.
        """
        counts = sparse.csr_matrix(counts, dtype=np.float32)
        resize_columns(counts, len(self.vocabulary))
        self.n_docs = counts.shape[0]
        self.doc_freq = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.int64)
        live = self.doc_freq > 0
        self._live_terms = None if live.all() else live
        self._doc_matrix = self._weigh_documents(counts)
        return self

    def drop_unused_terms(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        """Forget the words no row of ``counts`` uses; returns ``counts`` re-numbered to the
        smaller vocabulary (for callers that keep counts while documents come and go)."""
        used = np.bincount(counts.indices, minlength=len(self.vocabulary)) > 0
        if used.all():
            return counts
        new_column = np.cumsum(used) - 1
        self.vocabulary = {t: int(new_column[c]) for t, c in self.vocabulary.items() if used[c]}
        return sparse.csr_matrix(
            (counts.data, new_column[counts.indices], counts.indptr),
            shape=(counts.shape[0], int(used.sum())),
        )

    def transform(
        self, texts: Sequence[str], analyzer: Analyzer | None = None
    ) -> sparse.csr_matrix:
        """Vectors for ``texts`` in the fitted vocabulary (unknown words are dropped)."""
        counts = self._counts(texts, grow=False, analyzer=analyzer)
        if self._live_terms is not None:
            counts.data[~self._live_terms[counts.indices]] = 0
            counts.eliminate_zeros()
        return self._weigh_queries(counts)

    def scores(self, query: str) -> np.ndarray:
        """Score of ``query`` (read by the query analyzer) against every fitted document."""
        if self._doc_matrix is None:
            raise InvalidInputError(f"{self.name}: call fit(corpus) before scoring")
        q = self.transform([query], self.query_analyzer)
        return np.asarray((self._doc_matrix @ q.T).todense()).ravel()

    # Subclasses choose the weighting; cosine-style models normalise rows.
    def _weigh_documents(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        return _l2_rows(self._weigh_queries(counts))

    def _weigh_queries(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        raise NotImplementedError


def _l2_rows(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1.0 / norms) @ matrix)


class OneHotModel(_SparseModel):
    """Which vocabulary words occur (0/1); cosine of two sets."""

    name = "one-hot"

    def _weigh_queries(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        out = counts.copy()
        out.data[:] = 1.0
        return _l2_rows(out)


class BagOfWordsModel(_SparseModel):
    """How often each word occurs; cosine of count vectors."""

    name = "bag-of-words"

    def _weigh_queries(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        return _l2_rows(counts)


class TfIdfModel(_SparseModel):
    """Counts weighted by smoothed inverse document frequency (scikit-learn's formula)."""

    name = "tf-idf"

    def idf(self) -> np.ndarray:
        return np.log((1 + self.n_docs) / (1 + self.doc_freq)) + 1.0

    def _weigh_queries(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        return _l2_rows(sparse.csr_matrix(counts @ sparse.diags(self.idf().astype(np.float32))))


@dataclass(frozen=True)
class QueryBound:
    """The most BM25 a query could score, and how much of it its corpus words carry."""

    total: float  # every query term, words the corpus lacks at the idf of df = 0
    found: float  # the share of ``total`` from terms some document contains

    @property
    def coverage(self) -> float:
        """Share of the query's keyword weight the corpus can match at all (0 when the
        query has no content words)."""
        return self.found / self.total if self.total > 0 else 0.0


class Bm25Model(_SparseModel):
    """Okapi BM25 (Lucene's idf), the keyword scorer of sparse and hybrid search.

    Queries are read by :data:`QUERY_ANALYZER`. :meth:`bound` gives the best score a query
    could reach, counting words the corpus has never seen, so hybrid fusion can put BM25 on
    a 0..1 scale per query that says how much *of the query* a document matches, without
    looking at the result list.
    """

    name = "bm25"

    def __init__(
        self,
        analyzer: Analyzer = SEARCH_ANALYZER,
        k1: float = 0.9,
        b: float = 0.4,
        query_analyzer: Analyzer = QUERY_ANALYZER,
    ):
        super().__init__(analyzer, query_analyzer)
        self.k1, self.b = k1, b

    def idf(self, doc_freq: np.ndarray | None = None) -> np.ndarray:
        df = self.doc_freq if doc_freq is None else doc_freq
        return np.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))

    def _weigh_documents(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        lengths = np.asarray(counts.sum(axis=1)).ravel()
        avg = lengths.mean() if len(lengths) else 1.0
        norm = self.k1 * (1 - self.b + self.b * lengths / max(avg, 1e-9))
        rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
        tf = counts.data
        weighted = counts.copy()
        weighted.data = (tf * (self.k1 + 1) / (tf + norm[rows])).astype(np.float32)
        return sparse.csr_matrix(weighted @ sparse.diags(self.idf().astype(np.float32)))

    def _weigh_queries(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        return counts  # query term frequency multiplies the document-side weights

    def bound(self, query: str) -> QueryBound:
        """Upper bound of ``scores(query)``: the sum over query terms of idf * (k1 + 1).

        A term no document contains counts at the idf a term of document frequency 0
        would have. Leaving it out (as a bound over matchable terms only would) makes the
        bound *smaller* the fewer query words match, so one incidental match would look
        like a complete one: the opposite of the evidence.
        """
        frequency: dict[int, int] = {}
        unseen = 0
        for term in self.query_analyzer(query):
            col = self.vocabulary.get(term)
            if col is None or not self.doc_freq[col]:
                unseen += 1
            else:
                frequency[col] = frequency.get(col, 0) + 1
        cols = np.fromiter(frequency, dtype=np.int64, count=len(frequency))
        counts = np.fromiter(frequency.values(), dtype=np.float64, count=len(frequency))
        found = float((counts * self.idf(self.doc_freq[cols])).sum())
        missing = unseen * float(self.idf(np.zeros(1))[0])
        return QueryBound((found + missing) * (self.k1 + 1), found * (self.k1 + 1))

    def max_score(self, query: str) -> float:
        """The best score ``query`` could reach (see :meth:`bound`)."""
        return self.bound(query).total


SPARSE_MODELS: dict[str, type[_SparseModel]] = {
    m.name: m for m in (OneHotModel, BagOfWordsModel, TfIdfModel, Bm25Model)
}


def sparse_model(name: str) -> _SparseModel:
    """A fresh, unfitted sparse model by name."""
    try:
        return SPARSE_MODELS[name]()
    except KeyError:
        raise InvalidInputError(
            f"unknown sparse model {name!r}; choose one of {sorted(SPARSE_MODELS)}"
        ) from None


def resize_columns(matrix: sparse.csr_matrix, width: int) -> None:
    """Give ``matrix`` ``width`` columns in place, as scipy's ``resize`` does (new columns
    empty): term-count rows widen as the vocabulary grows, without copying them."""
    # scipy-stubs types resize's shape as Never on purpose (an in-place change of shape
    # cannot be expressed in its shape-generic types); the call is valid at run time.
    matrix.resize((matrix.shape[0], width))  # type: ignore[arg-type]


def cosine_sparse(a: sparse.csr_matrix, b: sparse.csr_matrix) -> float:
    """Cosine of two 1-row sparse vectors (0.0 when either is empty)."""
    num = float(a.multiply(b).sum())
    den = math.sqrt(float(a.multiply(a).sum()) * float(b.multiply(b).sum()))
    return num / den if den else 0.0
