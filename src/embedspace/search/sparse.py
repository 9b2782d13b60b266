"""Keyword search: a sparse model (BM25 by default) over whole item texts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

from ..scoring.sparse import Bm25Model, resize_columns, sparse_model


class SparseSearcher:
    """Scores every item for a query with one of the sparse models.

    It keeps each item's analysed term counts, keyed by row id and text, so catching up
    after writes analyses only the texts that are new or changed. Analysis (tokenising,
    stemming) is nearly all of the indexing cost (~5 s for 50k abstracts); re-weighing the
    kept counts after a write takes a small fraction of that, and scores stay exactly those
    of a model fitted afresh on the current texts.
    """

    def __init__(self, model: str = "bm25") -> None:
        self.model = sparse_model(model)
        self._rowids = np.zeros(0, dtype=np.int64)
        self._digests = np.zeros(0, dtype=np.int64)
        self._counts = sparse.csr_matrix(np.zeros((0, 0), dtype=np.float32))
        self.analysed = 0  # texts analysed when this searcher was made (the rest were kept)

    def updated(self, rowids: np.ndarray, texts: Sequence[str]) -> SparseSearcher:
        """A searcher over exactly these items (score ``i`` is item ``rowids[i]``), reusing
        this one's counts of items whose text is unchanged. This searcher is left as it
        was, so searches already holding it finish on the state they started with."""
        rowids = np.asarray(rowids, dtype=np.int64)
        digests = np.fromiter((hash(t) for t in texts), dtype=np.int64, count=len(texts))
        old_row, kept = self._unchanged_rows(rowids, digests)
        fresh = np.flatnonzero(~kept)
        new = SparseSearcher(self.model.name)
        new.model.vocabulary = dict(self.model.vocabulary)
        new_counts = new.model.count_terms([texts[i] for i in fresh.tolist()])
        width = len(new.model.vocabulary)
        old_counts = self._counts[old_row[kept]]
        resize_columns(old_counts, width)
        resize_columns(new_counts, width)
        # Stacked rows are [kept..., fresh...]; put them back in the order of ``rowids``.
        order = np.empty(len(rowids), dtype=np.int64)
        order[np.flatnonzero(kept)] = np.arange(int(kept.sum()))
        order[fresh] = kept.sum() + np.arange(len(fresh))
        counts = sparse.vstack([old_counts, new_counts], format="csr")[order]
        new.model.fit_counts(counts)
        if width > 2 * max(int(np.count_nonzero(new.model.doc_freq)), 1_000):
            counts = new.model.drop_unused_terms(counts)  # deletes don't grow it forever
            new.model.fit_counts(counts)
        new._rowids, new._digests, new._counts = rowids, digests, counts
        new.analysed = len(fresh)
        return new

    def _unchanged_rows(
        self, rowids: np.ndarray, digests: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """For each wanted item, its row in this searcher's counts, and whether that row
        can be kept (same item, same text)."""
        sorter = np.argsort(self._rowids, kind="stable")
        at = np.searchsorted(self._rowids, rowids, sorter=sorter).clip(max=max(len(sorter) - 1, 0))
        old_row = sorter[at] if len(sorter) else np.zeros(len(rowids), dtype=np.int64)
        kept = np.zeros(len(rowids), dtype=bool)
        if len(sorter):
            kept = (self._rowids[old_row] == rowids) & (self._digests[old_row] == digests)
        return old_row, kept

    def item_scores(self, query: str) -> np.ndarray:
        return self.model.scores(query).astype(np.float32)

    def ceiling(self, query: str) -> float:
        """What puts this query's scores on a 0..1 scale that depends on the query only,
        not on the results: the best BM25 every query term could reach; 1 for the cosine
        models, whose scores already are."""
        return self.model.max_score(query) if isinstance(self.model, Bm25Model) else 1.0

    def normalised(self, scores: np.ndarray, query: str) -> np.ndarray:
        """Scores divided by the query's :meth:`ceiling` (unchanged when it is 0)."""
        best_possible = self.ceiling(query)
        return scores / best_possible if best_possible > 0 else scores

    def coverage(self, query: str) -> float | None:
        """Share of the query's keyword weight that this corpus's words can match (BM25),
        or None when the model cannot tell (hybrid fusion then applies no gate)."""
        if isinstance(self.model, Bm25Model):
            return self.model.bound(query).coverage
        return None
