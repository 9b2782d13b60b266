"""Topics in a space: k-means or HDBSCAN over item vectors, named by their distinctive words.

* **k-means** (scikit-learn) on unit vectors. Without ``k``, candidates between 2 and
  ~sqrt(n) are fitted on a sample and the one with the best silhouette (cosine) wins:
  silhouette on all of 100k items would be O(n^2).
* **HDBSCAN** (scikit-learn) finds clusters of any shape and size and leaves items in no
  dense region unassigned (noise): nothing forces an odd item into a topic. It runs on
  the vectors' first 50 principal components (``HDBSCAN_COMPONENTS``). With
  ``noise="nearest"`` each noise item then joins the cluster whose centre is closest
  (BERTopic's ``reduce_outliers`` with embeddings), for when every item needs a topic.

A cluster's label comes from class-based TF-IDF (BERTopic's c-TF-IDF): all its texts
form one document, and a word scores high when it is frequent in that cluster and rare
in the others. Words are counted by stem (the project's Snowball stemmer) and shown in
their most common written form; a wide stop list keeps "the", "my", "you" out of labels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np
from scipy import sparse

from ..encoders.base import l2_normalise
from ..errors import InvalidInputError, MissingDependencyError
from ..scoring.sparse import Analyzer
from .items import mean_item_vectors

METHODS = ("kmeans", "hdbscan")
#: What HDBSCAN's noise becomes: left out ("keep") or given its nearest cluster.
NOISE_POLICIES = ("keep", "nearest")
#: HDBSCAN runs on this many principal components (re-normalised), not on all 384
#: dimensions. Why: in high dimensions density estimates flatten (distances all look
#: alike), so its clusters swing with small changes of the vectors; at 384-d a batching
#: change dropped mini 20 Newsgroups to 2 clusters (V-measure 0.05). Measured with 32 to
#: 100 components: V 0.61-0.63 on banking77 and 0.31-0.36 on mini 20 Newsgroups, against
#: 0.60 and 0.05 at full dimension, and ~7x faster (BERTopic reduces too, with UMAP).
HDBSCAN_COMPONENTS = 50
#: Items the automatic choice of k fits and scores candidates on.
SILHOUETTE_SAMPLE = 2000
#: Fits up to this many items run on one OpenMP thread (see ``_threads_for``).
SINGLE_THREAD_ITEMS = 20_000
#: Words in a label and members listed as a cluster's most central.
LABEL_TERMS = 3
CENTRAL_MEMBERS = 3


@dataclass
class Cluster:
    """One topic: its members, a label from distinctive words, and its most typical items."""

    id: int
    ids: list[str]
    label: str = ""
    terms: list[str] = field(default_factory=list)
    #: Ids of the members closest to the cluster's centre, most central first.
    central: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "size": self.size,
            "label": self.label,
            "terms": self.terms,
            "central": self.central,
            "ids": self.ids,
        }


def _sklearn() -> ModuleType:
    try:
        import sklearn.cluster
        import sklearn.metrics
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise MissingDependencyError(
            "clustering needs scikit-learn: pip install scikit-learn"
        ) from exc
    return sklearn


def cluster_labels(
    matrix: np.ndarray,
    k: int | None = None,
    method: str = "kmeans",
    *,
    min_size: int | None = None,
    seed: int = 0,
    noise: str = "keep",
) -> np.ndarray:
    """A cluster number per row (-1 = noise: HDBSCAN with ``noise="keep"`` only)."""
    if method not in METHODS:
        raise InvalidInputError(f"method must be one of {METHODS}, not {method!r}")
    if noise not in NOISE_POLICIES:
        raise InvalidInputError(f"noise must be one of {NOISE_POLICIES}, not {noise!r}")
    n = len(matrix)
    if method == "hdbscan":
        if k is not None:
            raise InvalidInputError("HDBSCAN finds the number of clusters itself; leave k unset")
        labels = hdbscan_labels(matrix, 5 if min_size is None else min_size)
        return nearest_cluster_for_noise(matrix, labels) if noise == "nearest" else labels
    if k is None:
        k = choose_k(matrix, seed=seed)
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= n:
        raise InvalidInputError(f"k must be an integer between 1 and the item count ({n}), got {k}")
    return kmeans_labels(matrix, int(k), seed=seed)


def kmeans_labels(matrix: np.ndarray, k: int, *, seed: int = 0, n_init: int = 3) -> np.ndarray:
    model = _sklearn().cluster.KMeans(n_clusters=k, n_init=n_init, random_state=seed)
    with _threads_for(len(matrix)):
        return model.fit_predict(matrix).astype(np.int64)


def _threads_for(n: int) -> AbstractContextManager[object]:
    """One OpenMP thread for small fits: each k-means step is then too short to share,
    and on a busy machine spinning threads made a 400-item fit 30x slower."""
    from threadpoolctl import threadpool_limits

    return (
        threadpool_limits(limits=1, user_api="openmp")
        if n <= SINGLE_THREAD_ITEMS
        else nullcontext()
    )


def hdbscan_labels(matrix: np.ndarray, min_size: int) -> np.ndarray:
    if isinstance(min_size, bool) or not isinstance(min_size, int | np.integer) or min_size < 2:
        raise InvalidInputError(f"min_size must be an integer of at least 2, got {min_size!r}")
    if len(matrix) < min_size:  # too few items for even one cluster: all noise
        return np.full(len(matrix), -1, dtype=np.int64)
    # Euclidean distance between unit vectors is a monotone function of cosine.
    model = _sklearn().cluster.HDBSCAN(min_cluster_size=min_size, copy=True)
    return model.fit_predict(reduced_for_density(matrix)).astype(np.int64)


def nearest_cluster_for_noise(matrix: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``labels`` with each noise item (-1) moved to the cluster whose mean vector is most
    similar to it (cosine). Clusters keep their shape: centres come from the original
    members only. All noise stays noise when there is no cluster to join."""
    noise = labels < 0
    if not noise.any() or noise.all():
        return labels
    clusters, members = np.unique(labels[~noise], return_inverse=True)
    centres = mean_item_vectors(members, matrix[~noise], len(clusters))
    out = labels.copy()
    out[noise] = clusters[np.argmax(matrix[noise] @ centres.T, axis=1)]
    return out


def reduced_for_density(matrix: np.ndarray) -> np.ndarray:
    """The first ``HDBSCAN_COMPONENTS`` principal components, re-normalised, of a large
    enough set of high-dimensional vectors; small or low-dimensional sets unchanged."""
    n, dim = matrix.shape
    if dim <= HDBSCAN_COMPONENTS or n <= 4 * HDBSCAN_COMPONENTS:
        return matrix
    from sklearn.decomposition import PCA

    reduced = PCA(HDBSCAN_COMPONENTS, random_state=0).fit_transform(matrix)
    return l2_normalise(reduced.astype(np.float32))


def candidate_ks(n: int) -> list[int]:
    """About a dozen k between 2 and ~sqrt(n) (at most 100), spaced geometrically."""
    top = int(min(100, max(2, round(np.sqrt(n)))))
    return sorted({int(round(x)) for x in np.geomspace(2, top, num=12)})


def choose_k(matrix: np.ndarray, *, seed: int = 0, sample: int = SILHOUETTE_SAMPLE) -> int:
    """The candidate k whose k-means on a sample has the best cosine silhouette."""
    n = len(matrix)
    if n < 3:
        return 1
    rng = np.random.default_rng(seed)
    rows = rng.choice(n, size=min(n, sample), replace=False)
    part = matrix[rows]
    metrics = _sklearn().metrics
    best_k, best = 2, -np.inf
    for k in candidate_ks(len(part)):
        if k >= len(part):
            break
        labels = kmeans_labels(part, k, seed=seed, n_init=1)
        if len(np.unique(labels)) < 2:
            continue
        score = metrics.silhouette_score(part, labels, metric="cosine")
        if score > best:
            best_k, best = k, score
    return best_k


def _label_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS as SKLEARN_STOP_WORDS

    # contraction stems the \w+ tokenizer leaves behind ("hasn't" -> "hasn", "t")
    contractions = "s t d m ve ll re don didn doesn isn aren wasn weren hasn haven hadn won "
    contractions += "wouldn couldn shouldn mustn needn can ain"
    return frozenset(SKLEARN_STOP_WORDS) | set(contractions.split())


def distinctive_terms(
    texts: Sequence[str], labels: np.ndarray, n_terms: int = LABEL_TERMS
) -> dict[int, list[str]]:
    """Top class-based TF-IDF words of each cluster (noise, label -1, is skipped)."""
    analyzer = Analyzer(stop_words=_label_words())
    stemmer = Analyzer(stem=True)
    stems: dict[str, str] = {}
    surface: dict[str, Counter] = {}
    vocabulary: dict[str, int] = {}
    clusters = np.unique(labels[labels >= 0])
    position = {int(c): i for i, c in enumerate(clusters)}
    rows, cols = [], []
    for text, label in zip(texts, labels, strict=True):
        if label < 0:
            continue
        for word in analyzer(text):
            if len(word) < 3 or word.isdigit():
                continue
            stem = stems.get(word) or stems.setdefault(word, stemmer(word)[0])
            surface.setdefault(stem, Counter())[word] += 1
            rows.append(position[int(label)])
            cols.append(vocabulary.setdefault(stem, len(vocabulary)))
    if not vocabulary:
        return {int(c): [] for c in clusters}
    counts = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float64), (rows, cols)),
        shape=(len(clusters), len(vocabulary)),
    )
    totals = np.asarray(counts.sum(axis=1)).ravel()
    tf = sparse.diags(1.0 / np.maximum(totals, 1)) @ counts
    frequency = np.asarray(counts.sum(axis=0)).ravel()
    idf = np.log1p(totals.mean() / frequency)
    weights = (tf @ sparse.diags(idf)).tocsr()
    names = np.array(list(vocabulary))
    out = {}
    for c, i in position.items():
        row = weights.getrow(i)
        top = row.indices[np.argsort(-row.data, kind="stable")[:n_terms]]
        out[c] = [surface[s].most_common(1)[0][0] for s in names[top]]
    return out


def build_clusters(
    ids: Sequence[str], texts: Sequence[str], matrix: np.ndarray, labels: np.ndarray
) -> list[Cluster]:
    """Clusters from per-row labels, largest first and numbered in that order."""
    terms = distinctive_terms(texts, labels)
    found = []
    for c in np.unique(labels[labels >= 0]):
        members = np.flatnonzero(labels == c)
        centre = l2_normalise(matrix[members].mean(axis=0, keepdims=True))[0]
        closest = members[np.argsort(-(matrix[members] @ centre), kind="stable")]
        found.append((members, closest[:CENTRAL_MEMBERS], terms.get(int(c), [])))
    found.sort(key=lambda f: (-len(f[0]), int(f[0][0])))
    return [
        Cluster(
            id=number,
            ids=[ids[m] for m in members.tolist()],
            label=", ".join(words) or f"cluster {number}",
            terms=words,
            central=[ids[m] for m in central.tolist()],
        )
        for number, (members, central, words) in enumerate(found)
    ]


def assignments(clusters: Sequence[Cluster]) -> dict[str, int]:
    """Item id -> cluster id (items in no cluster are absent: noise)."""
    return {id_: c.id for c in clusters for id_ in c.ids}
