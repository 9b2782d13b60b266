"""Search inside Milvus: its vector index for dense, its BM25 function for keywords.

Rows are chunks, so dense hits are reduced to each item's best chunk here, fetching more
candidates until k distinct items are found. Keyword search runs over the items' first
chunk rows, which alone carry the text. Hybrid fusion happens in ``search/engine.py``, at
the item level, not in Milvus' own RRF ranker: that one fuses rows by primary key, and a
long item's best dense chunk and its text row are different rows. Milvus does not expose
idf, so convex fusion scales keyword scores by the best candidate's (see engine.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..index.base import prepare_vectors
from ..index.exact import similarity
from .base import ItemRecord, KeywordBound, Scored, require_bm25
from .milvus import HEAD_ROWS, PAGE_LIMIT, MilvusStore, where_to_milvus

_OVERFETCH = 4


class MilvusSearch:
    """``SearchPrimitives`` over a ``MilvusStore``."""

    index_name = "milvus-autoindex"
    rescore_dense = False

    def __init__(self, store: MilvusStore, ef_search: int | None = None) -> None:
        self.store = store
        self.ef_search = ef_search

    def _score(self, distance: float) -> float:
        # COSINE and IP are similarities already; L2 is the squared distance
        return (
            -float(np.sqrt(max(distance, 0.0)))
            if self.store.metric == "euclidean"
            else float(distance)
        )

    def _search(
        self, data: list, field: str, limit: int, filter: str, fields: list[str]
    ) -> list[dict]:
        params: dict[str, Any] = {}
        if field == "vector" and self.ef_search:
            params = {"params": {"ef": max(int(self.ef_search), limit)}}
        hits = self.store._call(
            "search",
            self.store.name,
            data=data,
            anns_field=field,
            limit=min(limit, PAGE_LIMIT),
            filter=filter,
            output_fields=fields,
            search_params=params,
        )
        return list(hits[0]) if hits else []

    def dense(self, query: np.ndarray, k: int, where: dict[str, Any] | None) -> list[Scored]:
        vector = np.asarray(query, dtype=np.float32).reshape(-1).tolist()
        filter = where_to_milvus(where) if where else ""
        want = max(_OVERFETCH * k, k + 16)
        while True:
            hits = self._search(
                [vector], "vector", want, filter, ["item_rowid", "start", "end", "n_chunks"]
            )
            best: dict[int, Scored] = {}
            for hit in hits:  # best first
                row = hit["entity"]
                if row["item_rowid"] not in best:
                    span = (row["start"], row["end"]) if row["n_chunks"] > 1 else None
                    best[row["item_rowid"]] = Scored(
                        row["item_rowid"], self._score(hit["distance"]), span
                    )
            if len(best) >= k or len(hits) < want or want >= PAGE_LIMIT:
                return list(best.values())[:k]
            want *= 4

    def dense_of(self, query: np.ndarray, rowids: Sequence[int]) -> dict[int, Scored]:
        rows = self.store._query(
            self.store._ids_in("item_rowid", [int(r) for r in rowids]),
            ["item_rowid", "start", "end", "n_chunks", "vector"],
        )
        if not rows:
            return {}
        metric = self.store.metric
        matrix = prepare_vectors(
            np.array([r["vector"] for r in rows], dtype=np.float32), self.store.dim, metric
        )
        q = prepare_vectors(np.asarray(query, dtype=np.float32), self.store.dim, metric)
        scores = similarity(q, matrix, metric)[0]
        best: dict[int, Scored] = {}
        for row, score in zip(rows, scores, strict=True):
            current = best.get(row["item_rowid"])
            if current is None or score > current.score:
                span = (row["start"], row["end"]) if row["n_chunks"] > 1 else None
                best[row["item_rowid"]] = Scored(row["item_rowid"], float(score), span)
        return best

    def keyword(self, query: str, k: int, where: dict[str, Any] | None, model: str) -> list[Scored]:
        require_bm25(model)
        filter = HEAD_ROWS + (f" and {where_to_milvus(where)}" if where else "")
        hits = self._search([query], "sparse", k, filter, ["item_rowid"])
        return [
            Scored(h["entity"]["item_rowid"], float(h["distance"]))
            for h in hits
            if h["distance"] > 0
        ]

    def keyword_of(self, query: str, rowids: Sequence[int], model: str) -> dict[int, float]:
        require_bm25(model)
        ids = [int(r) for r in rowids]
        filter = f"{HEAD_ROWS} and {self.store._ids_in('item_rowid', ids)}"
        hits = self._search([query], "sparse", len(ids), filter, ["item_rowid"])
        return {h["entity"]["item_rowid"]: float(h["distance"]) for h in hits if h["distance"] > 0}

    def keyword_bound(self, query: str, model: str) -> KeywordBound:
        require_bm25(model)
        return KeywordBound(None, None)  # Milvus does not expose its idf statistics

    def get_by_rowids(self, rowids: Sequence[int]) -> dict[int, ItemRecord]:
        return self.store.get_by_rowids(rowids)
