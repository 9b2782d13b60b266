"""Search inside Postgres: pgvector HNSW for dense, BM25 in SQL for keywords.

Dense: ``ORDER BY vector <=> q LIMIT n`` walks the HNSW index; metadata filters are a
``WHERE`` on the joined item, and pgvector's iterative scan (``relaxed_order``) keeps
walking until enough rows pass the filter, so a selective filter still returns k hits.
Rows are re-sorted here and reduced to each item's best chunk, as in the local path.

Keywords: BM25 with the same formula, k1 and b as the embedded ``Bm25Model``, computed in
SQL over Postgres full-text search: the ``tsv`` column (``to_tsvector('english', text)``,
GIN-indexed) gives the lexemes and their term frequencies, the document frequency of each
query term is a GIN-indexed count, and the corpus size and total length are kept in
``meta`` by every write. Postgres' english stemmer and stop list differ slightly from
ours, so scores are close to, not identical with, the embedded space's. ``ts_rank`` is not
used: it has no idf, so a common word would weigh as much as a rare one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..scoring.sparse import Bm25Model
from .base import ItemRecord, KeywordBound, Scored, require_bm25
from .postgres import _METRIC_SQL, PostgresStore, where_to_postgres

_BM25 = Bm25Model()
#: Candidate chunks fetched per wanted item before re-sorting (as in search/dense.py).
_OVERFETCH = 4
#: pgvector's upper bound for hnsw.ef_search.
_MAX_EF_SEARCH = 1000


def _terms_cte(schema: str) -> str:
    """CTEs ``q`` (query lexemes, query tf), ``stats`` (N, average length), ``terms`` (idf)."""
    return f"""
    WITH q AS (
        SELECT u.lexeme, coalesce(array_length(u.positions, 1), 1) AS qtf
        FROM unnest(to_tsvector('english', %s)) u
    ), stats AS (
        SELECT max(CASE WHEN key = 'bm25_docs' THEN value::float8 END) AS n,
               max(CASE WHEN key = 'bm25_length' THEN value::float8 END) AS total
        FROM {schema}.meta
    ), terms AS (
        SELECT q.lexeme, q.qtf, ln(1 + (stats.n - df.df + 0.5) / (df.df + 0.5)) AS idf
        FROM q, stats, LATERAL (
            SELECT count(*) AS df FROM {schema}.items WHERE tsv @@ quote_literal(q.lexeme)::tsquery
        ) df
    )"""


class PostgresSearch:
    """``SearchPrimitives`` over a ``PostgresStore``."""

    index_name = "pgvector-hnsw"
    rescore_dense = False

    def __init__(self, store: PostgresStore, ef_search: int | None = None) -> None:
        self.store = store
        self.ef_search = int(ef_search or 40)

    # -- dense ----------------------------------------------------------------------------
    def _chunk_rows(self, sql: str, params: list, want: int) -> list[tuple]:
        with self.store._transaction() as cur:
            cur.execute(
                f"SET LOCAL hnsw.ef_search = {min(_MAX_EF_SEARCH, max(self.ef_search, want))}"
            )
            cur.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            cur.execute(sql, params)
            return cur.fetchall()

    def _score(self, distance: float) -> float:
        return float(_METRIC_SQL[self.store.metric][2](distance))

    def _scored(self, row: tuple) -> Scored:
        rowid, start, end, n_chunks, distance = row
        return Scored(rowid, self._score(distance), (start, end) if n_chunks > 1 else None)

    def dense_sql(self, clause: str) -> str:
        """Nearest chunks first; ``ORDER BY <distance> LIMIT`` is the shape pgvector's
        HNSW index serves (tests/store/test_postgres.py checks the plan uses it)."""
        s, op = self.store.schema, _METRIC_SQL[self.store.metric][0]
        return (
            f'SELECT c.item_rowid, c.start, c."end", i.n_chunks, c.vector {op} %b AS d '
            f"FROM {s}.chunks c JOIN {s}.items i ON i.rowid = c.item_rowid "
            f"WHERE {clause} ORDER BY c.vector {op} %b LIMIT %s"
        )

    def dense(self, query: np.ndarray, k: int, where: dict[str, Any] | None) -> list[Scored]:
        vector = np.asarray(query, dtype=np.float32).reshape(-1)
        clause, params = where_to_postgres(where) if where else ("TRUE", [])
        want = max(_OVERFETCH * k, k + 16)
        while True:
            rows = self._chunk_rows(self.dense_sql(clause), [vector, *params, vector, want], want)
            best: dict[int, Scored] = {}
            for row in sorted(rows, key=lambda r: r[4]):  # relaxed order: re-sort here
                if row[0] not in best:
                    best[row[0]] = self._scored(row)
            if len(best) >= k or len(rows) < want:
                return list(best.values())[:k]
            want *= 4

    def dense_of(self, query: np.ndarray, rowids: Sequence[int]) -> dict[int, Scored]:
        s, op = self.store.schema, _METRIC_SQL[self.store.metric][0]
        vector = np.asarray(query, dtype=np.float32).reshape(-1)
        rows = self.store._read(
            f'SELECT DISTINCT ON (c.item_rowid) c.item_rowid, c.start, c."end", i.n_chunks, '
            f"c.vector {op} %b AS d FROM {s}.chunks c JOIN {s}.items i ON i.rowid = c.item_rowid "
            "WHERE c.item_rowid = ANY(%s) ORDER BY c.item_rowid, d",
            (vector, [int(r) for r in rowids]),
        )
        return {row[0]: self._scored(row) for row in rows}

    # -- keywords -------------------------------------------------------------------------
    def _bm25(self, query: str, clause: str, params: list, limit: str) -> list[tuple[int, float]]:
        s = self.store.schema
        k1, b = _BM25.k1, _BM25.b
        return self.store._read(
            _terms_cte(s)
            + f"""
            SELECT i.rowid, sum(t.qtf * t.idf * tf.tf * {k1 + 1}
                   / (tf.tf + {k1} * (1 - {b} + {b} * i.doc_len
                      / greatest(stats.total / greatest(stats.n, 1), 1e-9)))) AS score
            FROM {s}.items i
            CROSS JOIN LATERAL unnest(i.tsv) u
            CROSS JOIN LATERAL (SELECT coalesce(array_length(u.positions, 1), 1) AS tf) tf
            JOIN terms t ON t.lexeme = u.lexeme
            CROSS JOIN stats
            WHERE i.tsv @@ (SELECT string_agg(quote_literal(lexeme), ' | ')::tsquery FROM q)
              AND {clause}
            GROUP BY i.rowid ORDER BY score DESC, i.rowid {limit}""",
            [query, *params],
        )

    def keyword(self, query: str, k: int, where: dict[str, Any] | None, model: str) -> list[Scored]:
        require_bm25(model)
        clause, params = where_to_postgres(where) if where else ("TRUE", [])
        return [
            Scored(r, float(sc)) for r, sc in self._bm25(query, clause, params, f"LIMIT {int(k)}")
        ]

    def keyword_of(self, query: str, rowids: Sequence[int], model: str) -> dict[int, float]:
        require_bm25(model)
        rows = self._bm25(query, "i.rowid = ANY(%s)", [[int(r) for r in rowids]], "")
        return {r: float(sc) for r, sc in rows}

    def keyword_bound(self, query: str, model: str) -> KeywordBound:
        """The BM25 bound (sum of idf * (k1 + 1) over the query's terms); coverage is not
        reported (the gate then stays open)."""
        require_bm25(model)
        rows = self.store._read(
            _terms_cte(self.store.schema) + " SELECT coalesce(sum(qtf * idf), 0) FROM terms",
            [query],
        )
        return KeywordBound(float(rows[0][0]) * (_BM25.k1 + 1), None)

    def get_by_rowids(self, rowids: Sequence[int]) -> dict[int, ItemRecord]:
        return self.store.get_by_rowids(rowids)
