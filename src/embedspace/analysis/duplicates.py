"""Near-duplicate groups: paraphrase mining through a k-NN graph, never an n x n matrix.

Every item asks for its k nearest neighbours (``neighbours.knn_graph``: exact blocks or
an HNSW graph); pairs at or above the threshold become edges, and connected components
(``scipy.sparse.csgraph``) become groups, so A~B and B~C put A, B, C in one group even
when A and C are just under the threshold (single linkage: a long chain of small steps
can join items that differ more; keep ``k`` small and the threshold honest). Items with
identical content (same content hash) are grouped first without any vector work, and
only one of each goes through the neighbour search: a thousand copies of one text
neither cost a thousand searches nor crowd every copy's k neighbours with itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from ..errors import InvalidInputError
from .neighbours import Searcher, knn_graph

#: Neighbours examined per item: pairs beyond an item's 10th neighbour are still found
#: from the other side or through the chain, and 10 keeps 100k items to seconds of work.
DEFAULT_K = 10


@dataclass
class DuplicateGroup:
    """Items that are (near-)duplicates of each other, and the pairs that joined them.

    Iterating a group yields its ids; ``pairs`` are ``(id_a, id_b, cosine)`` edges at or
    above the threshold (exact copies score 1.0), best first.
    """

    ids: list[str]
    pairs: list[tuple[str, str, float]] = field(default_factory=list)
    #: True when every member has the very same content (found by hash, no vectors).
    exact: bool = False

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, id_: object) -> bool:
        return id_ in self.ids

    @property
    def score(self) -> float:
        """The strongest pair's cosine."""
        return max((s for _, _, s in self.pairs), default=1.0)

    def to_dict(self) -> dict:
        return {
            "ids": self.ids,
            "size": len(self.ids),
            "exact": self.exact,
            "score": round(self.score, 6),
            "pairs": [{"a": a, "b": b, "score": round(s, 6)} for a, b, s in self.pairs],
        }


def check_threshold(threshold: float) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, int | float | np.floating):
        raise InvalidInputError(f"threshold must be a number, got {threshold!r}")
    if not -1.0 <= float(threshold) <= 1.0:
        raise InvalidInputError(
            f"threshold is a cosine similarity between -1 and 1, got {threshold}; "
            "near-duplicates usually sit between 0.6 and 0.95 depending on the model"
        )
    return float(threshold)


def find_duplicates(
    ids: Sequence[str],
    matrix: np.ndarray,
    threshold: float,
    *,
    hashes: Sequence[str | None] | None = None,
    k: int = DEFAULT_K,
    searcher: Searcher | None = None,
    progress: bool = False,
) -> list[DuplicateGroup]:
    """Groups of items whose vectors (unit rows of ``matrix``) reach ``threshold``.

    ``hashes`` (one per item; None = never an exact copy) drive the exact-copy fast path.
    ``searcher`` (see ``knn_graph``) may lend an index over all of ``matrix``; it is
    only used when no item has an exact copy, since the search then runs on every row.
    Largest groups first, then strongest.
    """
    threshold = check_threshold(threshold)
    n = len(ids)
    reps, copy_edges = _exact_copies(hashes, n)
    lend = searcher if len(reps) == n else None
    graph = knn_graph(matrix[reps], k, searcher=lend, progress=progress, description="duplicates")
    src, col = np.nonzero(graph.scores >= threshold)
    a, b = reps[src], reps[graph.indices[src, col]]
    scores = graph.scores[src, col]
    keep = a < b  # each pair once: i->j and j->i are the same pair
    # a pair found only from one side is kept: (j, i) becomes (i, j)
    flipped = ~keep
    a, b = np.where(flipped, b, a), np.where(flipped, a, b)
    near = _unique_pairs(a, b, scores)
    return _groups(ids, copy_edges, near, n)


def _exact_copies(hashes: Sequence[str | None] | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(representative rows, edges (i, j, 1.0) from each copy to its representative)."""
    if hashes is None:
        return np.arange(n), np.empty((0, 3))
    first: dict[str, int] = {}
    reps, edges = [], []
    for i, h in enumerate(hashes):
        if h is None:
            reps.append(i)
        elif h in first:
            edges.append((first[h], i, 1.0))
        else:
            first[h] = i
            reps.append(i)
    return np.asarray(reps, dtype=np.int64), np.asarray(edges, dtype=np.float64).reshape(-1, 3)


def _unique_pairs(a: np.ndarray, b: np.ndarray, scores: np.ndarray) -> np.ndarray:
    if not len(a):
        return np.empty((0, 3))
    stacked = np.stack([a, b], axis=1)
    _, first = np.unique(stacked, axis=0, return_index=True)
    return np.column_stack([a[first], b[first], scores[first]]).astype(np.float64)


def _groups(
    ids: Sequence[str], copy_edges: np.ndarray, near_edges: np.ndarray, n: int
) -> list[DuplicateGroup]:
    """Connected components of all edges; a group is ``exact`` if no vector pair joined it."""
    edges = np.concatenate([copy_edges, near_edges])
    if not len(edges):
        return []
    i, j = edges[:, 0].astype(np.int64), edges[:, 1].astype(np.int64)
    adjacency = sparse.coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    _, component = connected_components(adjacency, directed=False)
    members: dict[int, list[int]] = {}
    for node in np.unique(np.concatenate([i, j])):
        members.setdefault(int(component[node]), []).append(int(node))
    pairs: dict[int, list[tuple[str, str, float]]] = {}
    for a, b, s in sorted(zip(i, j, edges[:, 2], strict=True), key=lambda e: -e[2]):
        pairs.setdefault(int(component[a]), []).append((ids[a], ids[b], float(s)))
    by_vectors = set(component[near_edges[:, 0].astype(np.int64)].tolist())
    groups = [
        DuplicateGroup([ids[m] for m in nodes], pairs[c], exact=c not in by_vectors)
        for c, nodes in members.items()
    ]
    groups.sort(key=lambda g: (-len(g), -g.score, g.ids[0]))
    return groups


#: How far below the best F1 a cut may be and still count as "as good" when choosing a
#: steady threshold (on MRPC train: ~15 missed paraphrases, or ~37 false pairs).
F1_TOLERANCE = 0.005


def f1_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every distinct cut ``score >= threshold`` on labelled pairs and its F1, highest cut
    first. Each threshold is the midpoint between a score and the next lower one, so it
    does not sit exactly on a training pair."""
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels).astype(bool)
    if labels.sum() == 0 or len(scores) != len(labels):
        raise InvalidInputError("need scores and labels of equal length with some positives")
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    f1 = 2 * np.cumsum(y) / (np.arange(1, len(y) + 1) + labels.sum())  # 2tp / (tp+fp + pos)
    last_of_tie = np.flatnonzero(np.r_[s[1:] != s[:-1], True])  # cuts fall between scores
    below = np.r_[s[last_of_tie[1:]], s[-1] - 1e-3]
    return (s[last_of_tie] + below) / 2, f1[last_of_tie]


def best_f1_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(threshold, F1) of the cut ``score >= threshold`` with the best F1 on labelled pairs."""
    cuts, f1 = f1_curve(scores, labels)
    best = int(np.argmax(f1))
    return float(cuts[best]), float(f1[best])


def steady_f1_threshold(
    scores: np.ndarray, labels: np.ndarray, tolerance: float = F1_TOLERANCE
) -> tuple[float, float]:
    """(threshold, F1) for a default cut: the median of the cuts within ``tolerance`` of
    the best F1.

    Why not the argmax: F1 is flat near its best, so its argmax jumps between distant
    cuts when the vectors move a little (MRPC, all-MiniLM-L6-v2: 0.580 <-> 0.632 on F1
    0.825 <-> 0.826 between runtime versions). The median of the near-best cuts moves
    ~12x less under such noise for at most ``tolerance`` of F1.
    """
    cuts, f1 = f1_curve(scores, labels)
    near_best = np.flatnonzero(f1 >= f1.max() - tolerance)
    chosen = near_best[len(near_best) // 2]
    return float(cuts[chosen]), float(f1[chosen])
