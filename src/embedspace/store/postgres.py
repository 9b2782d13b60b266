"""PostgreSQL + pgvector store: ``postgresql://user@host/db?collection=books``.

Why Postgres: one transactional database for items, metadata (JSONB, filtered in SQL)
and vectors (pgvector ``vector(d)`` with an HNSW index), which replicas, backups and
managed services already know how to run. A collection is one schema (``es_<name>``)
holding ``meta``, ``items`` and ``chunks``, the same shape as the embedded SQLite store,
so the same protocol and the same behavioural tests apply.

Writers are serialised by the row lock on the ``generation`` counter, taken first in
every write transaction: chunk ids (a sequence) are then handed out in commit order, so
the incremental catch-up of a local view (``vectors(after_chunk_id)``) never misses a
row committed late with a smaller id. Search runs in the database (``postgres_search``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np

from ..errors import (
    BackendError,
    InvalidInputError,
    MissingDependencyError,
    NotASpaceError,
    SpaceLockedError,
)
from .base import ChunkRecord, ItemRecord, VectorSnapshot, WholeSnapshotPages, model_changed
from .filters import parse_where

if TYPE_CHECKING:
    import psycopg

#: 2: items.layout (pages and headings of documents), added in place to version-1 spaces.
#: 3: the named_chunks table (named vectors, ``store/named.py``), created empty in place.
FORMAT_VERSION = "3"
DEFAULT_COLLECTION = "default"
_COLLECTION = re.compile(r"^[A-Za-z0-9_]{1,48}$")
#: pgvector operator, HNSW operator class and distance -> score, per metric.
_METRIC_SQL = {
    "cosine": ("<=>", "vector_cosine_ops", lambda d: 1.0 - d),
    "dot": ("<#>", "vector_ip_ops", lambda d: -d),
    "euclidean": ("<->", "vector_l2_ops", lambda d: -d),
}
#: pgvector indexes at most 2,000 dimensions of ``vector``.
MAX_INDEXED_DIM = 2000


def split_uri(uri: str) -> tuple[str, str]:
    """``postgresql://...?collection=books`` -> (libpq conninfo without it, collection)."""
    parts = urlsplit(uri)
    params = parse_qsl(parts.query, keep_blank_values=True)
    collection = next((v for k, v in params if k == "collection"), DEFAULT_COLLECTION)
    if not _COLLECTION.match(collection):
        raise InvalidInputError(
            f"collection {collection!r} may only use letters, digits and _ (at most 48)"
        )
    rest = urlencode([(k, v) for k, v in params if k != "collection"])
    return urlunsplit(parts._replace(query=rest)), collection.lower()


def redact(uri: str) -> str:
    """The URI without its password, for messages and ``Space.location``."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def where_to_postgres(where: dict[str, Any], column: str = "i.metadata") -> tuple[str, list]:
    """The ``where`` semantics of ``filters.py`` over JSONB (``#>`` paths, jsonb compares)."""
    from psycopg.types.json import Jsonb

    compare = {"$eq": "=", "$ne": "<>", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
    clauses, params = [], []
    for cond in parse_where(where):
        expr = f"({column} #> %s)"
        path = list(cond.path)
        if cond.op in ("$in", "$nin"):
            negate = "NOT " if cond.op == "$nin" else ""
            clauses.append(f"{negate}({expr} = ANY(%s::jsonb[]))")
            params += [path, [Jsonb(v) for v in cond.value]]
        elif cond.value is None:  # a missing key and a JSON null both count as null
            clauses.append(
                f"({expr} IS NOT NULL AND {expr} <> 'null'::jsonb)"
                if cond.op == "$ne"
                else f"({expr} IS NULL OR {expr} = 'null'::jsonb)"
            )
            params += [path, path]
        else:
            clauses.append(f"{expr} {compare[cond.op]} %s")
            params += [path, Jsonb(cond.value)]
    return " AND ".join(clauses), params


def _connect(conninfo: str) -> psycopg.Connection[Any]:
    try:
        import psycopg
        from pgvector.psycopg import register_vector
    except ImportError as exc:
        raise MissingDependencyError(
            "postgresql:// spaces need the postgres extra: pip install 'embedspace[postgres]'"
        ) from exc
    try:
        conn = psycopg.connect(conninfo, autocommit=True)
    except psycopg.OperationalError as exc:
        raise BackendError(f"cannot connect to Postgres: {exc}".strip()) from exc
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except psycopg.Error as exc:
        conn.close()
        raise BackendError(
            f"the pgvector extension is missing and could not be created ({exc}); "
            "run CREATE EXTENSION vector as a superuser in this database"
        ) from exc
    register_vector(conn)
    return conn


class PostgresStore(WholeSnapshotPages):
    """Items, metadata, hashes and chunk vectors in one Postgres schema per collection."""

    kind = "postgres"

    def __init__(self, uri: str, *, create: bool = True, **index_params: Any) -> None:
        import psycopg

        self._errors = psycopg.Error
        conninfo, collection = split_uri(uri)
        self.location = redact(uri)
        self.collection = collection
        self.schema = f"es_{collection}"
        self.index_params = index_params
        self._lock = threading.RLock()
        self._conninfo = conninfo
        self._conn = _connect(conninfo)
        self._init_schema(create)

    # -- schema -------------------------------------------------------------------------
    def _init_schema(self, create: bool) -> None:
        s = self.schema
        exists = self._read("SELECT 1 FROM pg_namespace WHERE nspname = %s", (s,))
        if not exists and not create:
            raise NotASpaceError(f"no space at {self.location}; create it with es.Space(uri)")
        with self._transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (s,))
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
            cur.execute(f"CREATE TABLE IF NOT EXISTS {s}.meta (key TEXT PRIMARY KEY, value TEXT)")
            cur.execute(
                f"""CREATE TABLE IF NOT EXISTS {s}.items (
                    rowid BIGSERIAL PRIMARY KEY,
                    id TEXT NOT NULL UNIQUE,
                    text TEXT NOT NULL,
                    metadata JSONB NOT NULL DEFAULT '{{}}',
                    text_hash TEXT NOT NULL,
                    source TEXT,
                    n_chunks INTEGER NOT NULL DEFAULT 0,
                    doc_len INTEGER NOT NULL DEFAULT 0,
                    tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
                    layout JSONB)"""
            )
            cur.execute(f"ALTER TABLE {s}.items ADD COLUMN IF NOT EXISTS layout JSONB")  # v1
            cur.execute(
                f"CREATE INDEX IF NOT EXISTS items_source ON {s}.items (source text_pattern_ops)"
            )
            cur.execute(f"CREATE INDEX IF NOT EXISTS items_tsv ON {s}.items USING GIN (tsv)")
            cur.execute(
                f"CREATE INDEX IF NOT EXISTS items_metadata ON {s}.items USING GIN (metadata)"
            )
            # v3: named vectors; ``vector`` without a dimension, each set has its own
            cur.execute(
                f"""CREATE TABLE IF NOT EXISTS {s}.named_chunks (
                    chunk_id BIGSERIAL PRIMARY KEY,
                    name TEXT NOT NULL,
                    item_rowid BIGINT NOT NULL REFERENCES {s}.items(rowid) ON DELETE CASCADE,
                    start INTEGER NOT NULL,
                    "end" INTEGER NOT NULL,
                    vector vector NOT NULL)"""
            )
            cur.execute(
                f"CREATE INDEX IF NOT EXISTS named_chunks_item ON {s}.named_chunks (name, item_rowid)"
            )
            cur.execute(
                f"INSERT INTO {s}.meta VALUES ('format_version', %s), ('generation', '0'), "
                "('bm25_docs', '0'), ('bm25_length', '0') ON CONFLICT DO NOTHING",
                (FORMAT_VERSION,),
            )
            cur.execute(
                f"UPDATE {s}.meta SET value = %s WHERE key = 'format_version' AND value::int < %s",
                (FORMAT_VERSION, int(FORMAT_VERSION)),
            )
        dim = self.get_meta("dim")
        if dim is not None:
            self._ensure_chunks(int(dim), self.get_meta("metric") or "cosine")

    def _ensure_chunks(self, dim: int, metric: str) -> None:
        """The chunks table needs the dimension (``vector(d)``), known once the model is."""
        s = self.schema
        op_class = _METRIC_SQL[metric][1]
        with self._transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (s,))
            cur.execute(
                f"""CREATE TABLE IF NOT EXISTS {s}.chunks (
                    chunk_id BIGSERIAL PRIMARY KEY,
                    item_rowid BIGINT NOT NULL REFERENCES {s}.items(rowid) ON DELETE CASCADE,
                    start INTEGER NOT NULL,
                    "end" INTEGER NOT NULL,
                    vector vector({dim}) NOT NULL)"""
            )
            cur.execute(f"CREATE INDEX IF NOT EXISTS chunks_item ON {s}.chunks (item_rowid)")
            self._index_chunks(cur, dim, op_class)
        self.dim, self.metric = dim, metric

    def _index_chunks(self, cur: Any, dim: int, op_class: str) -> None:
        """The HNSW index over the main vectors (pgvector indexes at most 2,000 d)."""
        if dim <= MAX_INDEXED_DIM:
            m = int(self.index_params.get("M", 16))
            ef_construction = int(self.index_params.get("ef_construction", 64))
            cur.execute(
                f"CREATE INDEX IF NOT EXISTS chunks_hnsw ON {self.schema}.chunks USING hnsw "
                f"(vector {op_class}) WITH (m = {m}, ef_construction = {ef_construction})"
            )

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._lock:
            try:
                with self._conn.transaction(), self._conn.cursor() as cur:
                    yield cur
            except self._errors as exc:
                raise BackendError(f"Postgres refused a request on {self.location}: {exc}") from exc

    @contextmanager
    def _write(self) -> Iterator[Any]:
        """One write transaction; the generation row lock, taken first, serialises writers."""
        with self._transaction() as cur:
            cur.execute(
                f"UPDATE {self.schema}.meta SET value = (value::bigint + 1)::text "
                "WHERE key = 'generation'"
            )
            yield cur

    def _read(self, sql: str, params: Sequence[Any] = (), binary: bool = False) -> list[tuple]:
        with self._lock:
            try:
                return self._conn.execute(sql, params, binary=binary).fetchall()
            except self._errors as exc:
                raise BackendError(f"Postgres refused a request on {self.location}: {exc}") from exc

    # -- meta ---------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self._read(f"SELECT value FROM {self.schema}.meta WHERE key = %s", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, values: dict[str, str]) -> None:
        with self._write() as cur:
            cur.executemany(
                f"INSERT INTO {self.schema}.meta VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                list(values.items()),
            )
        if "dim" in values:
            self._ensure_chunks(int(values["dim"]), values.get("metric", "cosine"))

    def generation(self) -> int:
        return int(self.get_meta("generation") or 0)

    # -- items --------------------------------------------------------------------------
    def count(self) -> int:
        return self._read(f"SELECT count(*) FROM {self.schema}.items")[0][0]

    def chunk_count(self) -> int:
        if self.get_meta("dim") is None:
            return 0
        return self._read(f"SELECT count(*) FROM {self.schema}.chunks")[0][0]

    def hashes(self, ids: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        rows = self._read(
            f"SELECT id, text_hash, metadata FROM {self.schema}.items WHERE id = ANY(%s)",
            (list(ids),),
        )
        return {id_: (h, md) for id_, h, md in rows}

    def _bump_bm25_stats(self, cur: psycopg.Cursor[Any], docs: int, length: int) -> None:
        cur.execute(
            f"UPDATE {self.schema}.meta SET value = (value::bigint + "
            "CASE key WHEN 'bm25_docs' THEN %s ELSE %s END)::text "
            "WHERE key IN ('bm25_docs', 'bm25_length')",
            (docs, length),
        )

    def _stats_of(self, cur: psycopg.Cursor[Any], ids: list[str]) -> tuple[int, int]:
        cur.execute(
            f"SELECT count(*), coalesce(sum(doc_len), 0) FROM {self.schema}.items "
            "WHERE id = ANY(%s)",
            (ids,),
        )
        # An aggregate query returns exactly one row.
        return cast(tuple[int, int], cur.fetchone())

    def upsert(self, items: Sequence[ItemRecord], expect_model: str | None = None) -> None:
        if not items:
            return
        from psycopg.types.json import Jsonb

        s = self.schema
        ids = [it.id for it in items]
        with self._write() as cur:
            if expect_model is not None:
                cur.execute(f"SELECT value FROM {s}.meta WHERE key = 'model_id'")
                found = cur.fetchone()
                if found is not None and found[0] != expect_model:
                    raise model_changed(self.location, expect_model, found[0])
            old_docs, old_len = self._stats_of(cur, ids)
            cur.executemany(
                f"INSERT INTO {s}.items (id, text, metadata, text_hash, source, layout, n_chunks, "
                "doc_len) VALUES (%s, %s, %s, %s, %s, %s, %s, (SELECT coalesce(sum("
                "array_length(positions, 1)), 0) FROM unnest(to_tsvector('english', %s)))) "
                "ON CONFLICT (id) DO UPDATE SET text = excluded.text, metadata = excluded.metadata, "
                "text_hash = excluded.text_hash, source = excluded.source, layout = excluded.layout, "
                "n_chunks = excluded.n_chunks, doc_len = excluded.doc_len RETURNING rowid",
                [
                    (
                        it.id,
                        it.text,
                        Jsonb(it.metadata),
                        it.text_hash,
                        it.source,
                        Jsonb(it.layout) if it.layout is not None else None,
                        len(it.chunks),
                        it.text,
                    )
                    for it in items
                ],
                returning=True,
            )
            rowids = []
            while True:
                rowids.append(cur.fetchone()[0])
                if not cur.nextset():
                    break
            cur.execute(f"DELETE FROM {s}.chunks WHERE item_rowid = ANY(%s)", (rowids,))
            cur.executemany(
                f'INSERT INTO {s}.chunks (item_rowid, start, "end", vector) VALUES (%s, %s, %s, %b)',
                [
                    (rowid, c.start, c.end, np.asarray(c.vector, dtype=np.float32))
                    for rowid, it in zip(rowids, items, strict=True)
                    for c in it.chunks
                ],
            )
            cur.execute(f"DELETE FROM {s}.named_chunks WHERE item_rowid = ANY(%s)", (rowids,))
            self._insert_named(
                cur,
                [
                    (name, rowid, c)
                    for rowid, it in zip(rowids, items, strict=True)
                    for name, chunks in it.named.items()
                    for c in chunks
                ],
            )
            new_docs, new_len = self._stats_of(cur, ids)
            self._bump_bm25_stats(cur, new_docs - old_docs, new_len - old_len)

    def update_metadata(self, updates: dict[str, dict[str, Any]]) -> None:
        from psycopg.types.json import Jsonb

        with self._write() as cur:
            cur.executemany(
                f"UPDATE {self.schema}.items SET metadata = %s WHERE id = %s",
                [(Jsonb(md), id_) for id_, md in updates.items()],
            )

    def delete(self, ids: Iterable[str]) -> int:
        with self._write() as cur:
            cur.execute(
                f"DELETE FROM {self.schema}.items WHERE id = ANY(%s) RETURNING doc_len",
                (list(ids),),
            )
            lengths = [r[0] for r in cur.fetchall()]
            self._bump_bm25_stats(cur, -len(lengths), -sum(lengths))
        return len(lengths)

    _COLUMNS = "rowid, id, text, metadata, text_hash, source, layout"

    @staticmethod
    def _record(row: tuple) -> ItemRecord:
        _, id_, text, md, h, src, layout = row
        return ItemRecord(id=id_, text=text, metadata=md, text_hash=h, source=src, layout=layout)

    def get(self, ids: Sequence[str]) -> list[ItemRecord]:
        rows = self._read(
            f"SELECT {self._COLUMNS} FROM {self.schema}.items WHERE id = ANY(%s)", (list(ids),)
        )
        found = {row[1]: self._record(row) for row in rows}
        return [found[i] for i in ids if i in found]

    def get_by_rowids(self, rowids: Sequence[int]) -> dict[int, ItemRecord]:
        rows = self._read(
            f"SELECT {self._COLUMNS} FROM {self.schema}.items WHERE rowid = ANY(%s)",
            ([int(r) for r in rowids],),
        )
        return {row[0]: self._record(row) for row in rows}

    def rowids(self, ids: Sequence[str]) -> list[int]:
        rows = self._read(
            f"SELECT id, rowid FROM {self.schema}.items WHERE id = ANY(%s)", (list(ids),)
        )
        found = dict(rows)
        return [found[i] for i in ids]

    def ids(self) -> list[str]:
        return [r[0] for r in self._read(f"SELECT id FROM {self.schema}.items ORDER BY rowid")]

    def records(self, batch_size: int = 1000) -> Iterator[list[ItemRecord]]:
        """Every item with its chunks, ``batch_size`` items at a time, in rowid order."""
        after = 0
        while True:
            rows = self._read(
                f"SELECT {self._COLUMNS} FROM {self.schema}.items WHERE rowid > %s "
                "ORDER BY rowid LIMIT %s",
                (after, batch_size),
            )
            if not rows:
                return
            records = {row[0]: self._record(row) for row in rows}
            for rowid, start, end, vector in self._read(
                f'SELECT item_rowid, start, "end", vector FROM {self.schema}.chunks '
                "WHERE item_rowid = ANY(%s) ORDER BY chunk_id",
                (list(records),),
                binary=True,
            ):
                records[rowid].chunks.append(ChunkRecord(start, end, vector.to_numpy()))
            for name, rowid, start, end, vector in self._read(
                f'SELECT name, item_rowid, start, "end", vector FROM {self.schema}.named_chunks '
                "WHERE item_rowid = ANY(%s) ORDER BY chunk_id",
                (list(records),),
                binary=True,
            ):
                chunk = ChunkRecord(start, end, vector.to_numpy())
                records[rowid].named.setdefault(name, []).append(chunk)
            yield list(records.values())
            after = rows[-1][0]

    # -- bulk reads for a local view ----------------------------------------------------
    def vectors(self, after_chunk_id: int = 0) -> tuple[np.ndarray, VectorSnapshot]:
        """Live chunk ids and the rows after ``after_chunk_id``, from one snapshot."""
        dim = int(self.get_meta("dim") or 0)
        empty = np.empty(0, dtype=np.int64)
        if not dim:
            return empty, VectorSnapshot(empty, empty, empty, empty, np.empty((0, 0), np.float32))
        with self._transaction() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cur.execute(f"SELECT chunk_id FROM {self.schema}.chunks ORDER BY chunk_id")
            live = np.array([r[0] for r in cur.fetchall()], dtype=np.int64)
            cur.execute(
                f'SELECT chunk_id, item_rowid, start, "end", vector FROM {self.schema}.chunks '
                "WHERE chunk_id > %s ORDER BY chunk_id",
                (after_chunk_id,),
                binary=True,
            )
            rows = cur.fetchall()
        return live, _snapshot(rows, dim)

    def texts(self) -> tuple[np.ndarray, list[str]]:
        rows = self._read(f"SELECT rowid, text FROM {self.schema}.items ORDER BY rowid")
        return np.array([r[0] for r in rows], dtype=np.int64), [r[1] for r in rows]

    def filter_rowids(self, where: dict[str, Any]) -> set[int]:
        clause, params = where_to_postgres(where)
        return {
            r[0]
            for r in self._read(f"SELECT rowid FROM {self.schema}.items i WHERE {clause}", params)
        }

    def ids_from_source_prefix(self, prefix: str) -> dict[str, str]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._read(
            f"SELECT id, source FROM {self.schema}.items WHERE source LIKE %s", (escaped + "%",)
        )
        return dict(rows)

    def disk_bytes(self) -> int:
        rows = self._read(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
            (self.schema,),
        )
        return int(rows[0][0])

    # -- named vectors (store/base.py NamedVectorStore) ----------------------------------
    def _insert_named(self, cur: Any, rows: list[tuple[str, int, ChunkRecord]]) -> None:
        cur.executemany(
            f'INSERT INTO {self.schema}.named_chunks (name, item_rowid, start, "end", vector) '
            "VALUES (%s, %s, %s, %s, %b)",
            [(n, r, c.start, c.end, np.asarray(c.vector, dtype=np.float32)) for n, r, c in rows],
        )

    def named_ids(self, name: str) -> set[str]:
        rows = self._read(
            f"SELECT DISTINCT i.id FROM {self.schema}.named_chunks n JOIN {self.schema}.items i "
            "ON i.rowid = n.item_rowid WHERE n.name = %s",
            (name,),
        )
        return {r[0] for r in rows}

    def put_named(self, name: str, items: Sequence[ItemRecord]) -> int:
        s = self.schema
        with self._write() as cur:
            cur.execute(
                f"SELECT id, rowid, text_hash FROM {s}.items WHERE id = ANY(%s) FOR UPDATE",
                ([it.id for it in items],),
            )
            stored = {id_: (rowid, h) for id_, rowid, h in cur.fetchall()}
            # still the text this job embedded: one changed meanwhile was embedded by its writer
            current = {i: stored[i][0] for i in stored}
            fresh = {it.id: it for it in items if stored.get(it.id, (0, None))[1] == it.text_hash}
            rowids = [current[i] for i in fresh]
            cur.execute(
                f"DELETE FROM {s}.named_chunks WHERE name = %s AND item_rowid = ANY(%s)",
                (name, rowids),
            )
            self._insert_named(
                cur, [(name, current[i], c) for i, it in fresh.items() for c in it.named[name]]
            )
        return len(fresh)

    def named_vectors(
        self, name: str, dim: int, after_chunk_id: int = 0
    ) -> tuple[np.ndarray, VectorSnapshot]:
        s = self.schema
        with self._transaction() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cur.execute(
                f"SELECT chunk_id FROM {s}.named_chunks WHERE name = %s ORDER BY chunk_id", (name,)
            )
            live = np.array([r[0] for r in cur.fetchall()], dtype=np.int64)
            cur.execute(
                f'SELECT chunk_id, item_rowid, start, "end", vector FROM {s}.named_chunks '
                "WHERE name = %s AND chunk_id > %s ORDER BY chunk_id",
                (name, after_chunk_id),
                binary=True,
            )
            rows = cur.fetchall()
        return live, _snapshot(rows, dim)

    def named_chunk_count(self, name: str) -> int:
        return self._read(
            f"SELECT count(*) FROM {self.schema}.named_chunks WHERE name = %s", (name,)
        )[0][0]

    def drop_named(self, name: str) -> None:
        with self._write() as cur:
            cur.execute(f"DELETE FROM {self.schema}.named_chunks WHERE name = %s", (name,))

    def promote_named(self, name: str, keep_old_as: str | None, meta: dict[str, str]) -> bool:
        """One transaction (Postgres' DDL is transactional): the main table is emptied,
        retyped to the new dimension, refilled and re-indexed; a reader sees the old
        vectors or the new ones, never a mix."""
        s, dim = self.schema, int(meta["dim"])
        with self._write() as cur:
            cur.execute(
                f"SELECT count(*) FROM {s}.items WHERE rowid NOT IN "
                f"(SELECT item_rowid FROM {s}.named_chunks WHERE name = %s)",
                (name,),
            )
            if cur.fetchone()[0]:
                return False
            if keep_old_as is not None:
                cur.execute(
                    f'INSERT INTO {s}.named_chunks (name, item_rowid, start, "end", vector) '
                    f'SELECT %s, item_rowid, start, "end", vector::vector FROM {s}.chunks '
                    "ORDER BY chunk_id",
                    (keep_old_as,),
                )
            cur.execute(f"DROP INDEX IF EXISTS {s}.chunks_hnsw")
            cur.execute(f"DELETE FROM {s}.chunks")
            cur.execute(f"ALTER TABLE {s}.chunks ALTER COLUMN vector TYPE vector({dim})")
            cur.execute(
                f'INSERT INTO {s}.chunks (item_rowid, start, "end", vector) SELECT item_rowid, '
                f'start, "end", vector::vector({dim}) FROM {s}.named_chunks WHERE name = %s '
                "ORDER BY chunk_id",
                (name,),
            )
            cur.execute(f"DELETE FROM {s}.named_chunks WHERE name = %s", (name,))
            cur.execute(
                f"UPDATE {s}.items i SET n_chunks = (SELECT count(*) FROM {s}.chunks c "
                "WHERE c.item_rowid = i.rowid)"
            )
            self._index_chunks(cur, dim, _METRIC_SQL[self.metric][1])
            cur.executemany(
                f"INSERT INTO {s}.meta VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                list(meta.items()),
            )
        self.dim = dim
        return True

    @contextmanager
    def job_lock(self, job: str) -> Iterator[None]:
        """A session advisory lock on a connection of its own: the server releases it
        when that session ends, a killed holder's included."""
        conn = _connect(self._conninfo)
        try:
            if not self._try_lock(conn, job):
                raise SpaceLockedError(
                    f"a {job} of {self.location} is already running in another session; "
                    "wait for it to finish (space.info()['reembed'] shows how far it is), then retry"
                )
            yield
        finally:
            conn.close()

    def follow_swap(self) -> None:
        """Nothing cached: the main vectors' table and dimension are read per query."""

    def job_running(self, job: str) -> bool:
        conn = _connect(self._conninfo)
        try:
            return not self._try_lock(conn, job)  # the probe's lock ends with its session
        finally:
            conn.close()

    def _try_lock(self, conn: psycopg.Connection[Any], job: str) -> bool:
        """Take the session advisory lock of ``job`` on ``conn`` if it is free."""
        row = conn.execute(
            "SELECT pg_try_advisory_lock(hashtext(%s))", (f"{self.schema}:{job}",)
        ).fetchone()
        return bool(row and row[0])

    def drop(self) -> None:
        """Delete the whole collection (its schema) from the database."""
        with self._transaction() as cur:
            cur.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _snapshot(rows: list[tuple], dim: int) -> VectorSnapshot:
    """Chunk rows (chunk_id, item_rowid, start, end, pgvector value) as arrays."""
    if not rows:
        empty = np.empty(0, dtype=np.int64)
        return VectorSnapshot(empty, empty, empty, empty, np.empty((0, dim), np.float32))
    chunk_ids, item_rowids, starts, ends, vectors = zip(*rows, strict=True)
    return VectorSnapshot(
        np.array(chunk_ids, dtype=np.int64),
        np.array(item_rowids, dtype=np.int64),
        np.array(starts, dtype=np.int64),
        np.array(ends, dtype=np.int64),
        np.stack([v.to_numpy() for v in vectors]).astype(np.float32),
    )
