"""The embedded store: one SQLite database in WAL mode.

Why SQLite: transactions make every batch all-or-nothing (a ``kill -9`` mid-ingest
leaves whole batches only), WAL lets readers in other processes keep reading while one
writer commits, and JSON functions give metadata filters without another engine.
Vectors live beside their chunk rows as float32 blobs, so an item and its vectors are
committed together and can never disagree.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import NotASpaceError, SpaceLockedError
from . import metadata_index
from .base import ChunkChanges, ChunkRecord, ItemRecord, VectorSnapshot, model_changed
from .filters import parse_where, where_to_sql

DB_NAME = "space.sqlite"
#: 2: items.layout (pages and headings of documents). A version-1 space gains the column
#: when it is opened (NULL for its items); version-1 code ignores it, so both can open it.
#: 3: the named_chunks table (named vectors, ``store/named.py``), created empty when an
#: older space is opened; older code never reads it.
FORMAT_VERSION = "3"
_BUSY_TIMEOUT_MS = 60_000
#: Seconds before a filter tries again to build a key's index that another writer (or a
#: read-only file) kept it from building.
_INDEX_RETRY_S = 30.0
_ITEM_COLUMNS = "rowid, id, text, metadata, text_hash, source, layout"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    rowid INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    text_hash TEXT NOT NULL,
    source TEXT,
    layout TEXT
);
CREATE INDEX IF NOT EXISTS items_source ON items(source);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_rowid INTEGER NOT NULL REFERENCES items(rowid) ON DELETE CASCADE,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_item ON chunks(item_rowid);
CREATE TABLE IF NOT EXISTS named_chunks (
    chunk_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    item_rowid INTEGER NOT NULL REFERENCES items(rowid) ON DELETE CASCADE,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS named_chunks_item ON named_chunks(name, item_rowid);
"""

#: Every removed chunk (an upsert's old chunks, a deleted item's by cascade, a re-embed's
#: swap) bumps ``chunk_deletions``, so a search view learns whether anything was removed
#: from one meta row instead of scanning every chunk id (``vector_pages``). A trigger, not
#: code in each delete path, so older versions writing to the same space keep it true.
_COUNT_CHUNK_DELETIONS = """
CREATE TRIGGER IF NOT EXISTS chunks_deleted AFTER DELETE ON chunks BEGIN
    UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'chunk_deletions';
END
"""


def _migrate(cur: sqlite3.Cursor) -> None:
    """Bring a space written by an older version up to ``FORMAT_VERSION`` in place:
    only columns are added, so nothing is rewritten and old readers still work."""
    # version 2: named_chunks is created by the schema itself (CREATE TABLE IF NOT EXISTS)
    columns = {row[1] for row in cur.execute("PRAGMA table_info(items)")}
    if "layout" not in columns:  # version 1
        cur.execute("ALTER TABLE items ADD COLUMN layout TEXT")
    cur.execute(
        "UPDATE meta SET value = ? WHERE key = 'format_version' AND CAST(value AS INTEGER) < ?",
        (FORMAT_VERSION, int(FORMAT_VERSION)),
    )


def _chunks_of(ids: Sequence[Any], size: int = 900) -> Iterator[Sequence[Any]]:
    """SQLite limits bound parameters; feed long id lists in slices."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


class SqliteStore:
    """Items, metadata, hashes and chunk vectors in ``<space>/space.sqlite``."""

    kind = "sqlite"

    def __init__(self, folder: Path, *, create: bool = True) -> None:
        self.folder = Path(folder)
        self.location = str(self.folder)
        self.path = self.folder / DB_NAME
        self._check_folder(create)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._metadata_indexes: set[str] | None = None  # read at the first filter
        self._index_retry_after = 0.0  # monotonic time; after a failed index build
        self._conn = sqlite3.connect(
            self.path,
            timeout=_BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        self._conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        # Creating the schema changes no item: no generation bump, so opening a space does
        # not make every other process's search view catch up and rebuild its keyword index.
        with self._write(bump=False) as cur:
            for statement in _SCHEMA.strip().split(";"):
                if statement.strip():
                    cur.execute(statement)
            cur.execute(_COUNT_CHUNK_DELETIONS)
            cur.execute(
                "INSERT OR IGNORE INTO meta VALUES ('format_version', ?), ('generation', '0'), "
                "('chunk_deletions', '0')",
                (FORMAT_VERSION,),
            )
            _migrate(cur)

    def _check_folder(self, create: bool) -> None:
        if self.folder.exists() and not self.folder.is_dir():
            raise NotASpaceError(
                f"{self.folder} is a file, not a space folder; pass a folder path (e.g. books.space)"
            )
        if self.path.exists():
            self._check_database()
            return
        if not create:
            raise NotASpaceError(f"no space at {self.folder}; create it with es.Space(path)")
        if self.folder.is_dir() and any(self.folder.iterdir()):
            raise NotASpaceError(
                f"{self.folder} is a non-empty folder without {DB_NAME}, so it is not an "
                "embedspace space; choose a new path or an empty folder"
            )

    def _check_database(self) -> None:
        with self.path.open("rb") as handle:
            header = handle.read(16)
            # Empty: a process was killed right after creating the file, before its first
            # commit; SQLite treats it as a new database, and so do we.
            if header and header != b"SQLite format 3\x00":
                raise NotASpaceError(f"{self.path} is not a SQLite database; the space is damaged")

    @contextmanager
    def _write(self, bump: bool = True) -> Iterator[sqlite3.Cursor]:
        """One write transaction that also bumps the generation counter (unless ``bump``
        is False: only for writes that change nothing a reader derives from)."""
        with self._lock:
            cur = self._conn.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise SpaceLockedError(
                    f"another process kept {self.path} locked for {_BUSY_TIMEOUT_MS // 1000} s; "
                    "wait for it to finish and retry"
                ) from exc
            try:
                yield cur
                if bump:
                    cur.execute(
                        "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'"
                    )
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    # -- meta ---------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, values: dict[str, str]) -> None:
        with self._write() as cur:
            cur.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(values.items()))

    def generation(self) -> int:
        return int(self.get_meta("generation") or 0)

    # -- items --------------------------------------------------------------------------
    def count(self) -> int:
        return self._read("SELECT COUNT(*) FROM items")[0][0]

    def chunk_count(self) -> int:
        return self._read("SELECT COUNT(*) FROM chunks")[0][0]

    def hashes(self, ids: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        found: dict[str, tuple[str, dict[str, Any]]] = {}
        for part in _chunks_of(list(ids)):
            marks = ",".join("?" * len(part))
            for id_, text_hash, md in self._read(
                f"SELECT id, text_hash, metadata FROM items WHERE id IN ({marks})", part
            ):
                found[id_] = (text_hash, json.loads(md))
        return found

    def upsert(self, items: Sequence[ItemRecord], expect_model: str | None = None) -> None:
        with self._write() as cur:
            if expect_model is not None:
                found = cur.execute("SELECT value FROM meta WHERE key = 'model_id'").fetchone()
                if found is not None and found[0] != expect_model:
                    raise model_changed(self.location, expect_model, found[0])
            for item in items:
                rowid = cur.execute(
                    "INSERT INTO items (id, text, metadata, text_hash, source, layout) "
                    "VALUES (?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET text=excluded.text, "
                    "metadata=excluded.metadata, text_hash=excluded.text_hash, "
                    "source=excluded.source, layout=excluded.layout RETURNING rowid",
                    (
                        item.id,
                        item.text,
                        json.dumps(item.metadata),
                        item.text_hash,
                        item.source,
                        json.dumps(item.layout) if item.layout is not None else None,
                    ),
                ).fetchone()[0]
                cur.execute("DELETE FROM chunks WHERE item_rowid = ?", (rowid,))
                cur.executemany(
                    "INSERT INTO chunks (item_rowid, start, end, vector) VALUES (?,?,?,?)",
                    _chunk_rows(rowid, item.chunks),
                )
                cur.execute("DELETE FROM named_chunks WHERE item_rowid = ?", (rowid,))
                for name, chunks in item.named.items():
                    _insert_named(cur, name, _chunk_rows(rowid, chunks))

    def update_metadata(self, updates: dict[str, dict[str, Any]]) -> None:
        with self._write() as cur:
            cur.executemany(
                "UPDATE items SET metadata = ? WHERE id = ?",
                [(json.dumps(md), id_) for id_, md in updates.items()],
            )

    def delete(self, ids: Iterable[str]) -> int:
        ids = list(ids)
        removed = 0
        with self._write() as cur:
            for part in _chunks_of(ids):
                marks = ",".join("?" * len(part))
                removed += cur.execute(f"DELETE FROM items WHERE id IN ({marks})", part).rowcount
        return removed

    def _records(self, rows: list[tuple]) -> list[tuple[int, ItemRecord]]:
        return [
            (
                rowid,
                ItemRecord(
                    id=id_,
                    text=text,
                    metadata=json.loads(md),
                    text_hash=h,
                    source=src,
                    layout=json.loads(layout) if layout is not None else None,
                ),
            )
            for rowid, id_, text, md, h, src, layout in rows
        ]

    def get(self, ids: Sequence[str]) -> list[ItemRecord]:
        found: dict[str, ItemRecord] = {}
        for part in _chunks_of(list(ids)):
            marks = ",".join("?" * len(part))
            rows = self._read(
                f"SELECT {_ITEM_COLUMNS} FROM items WHERE id IN ({marks})",
                part,
            )
            found.update((rec.id, rec) for _, rec in self._records(rows))
        return [found[i] for i in ids if i in found]

    def get_by_rowids(self, rowids: Sequence[int]) -> dict[int, ItemRecord]:
        found: dict[int, ItemRecord] = {}
        for part in _chunks_of([int(r) for r in rowids]):
            marks = ",".join("?" * len(part))
            rows = self._read(
                f"SELECT {_ITEM_COLUMNS} FROM items WHERE rowid IN ({marks})",
                part,
            )
            found.update(self._records(rows))
        return found

    def rowids(self, ids: Sequence[str]) -> list[int]:
        """Internal row numbers of ids, in the same order (ids must exist)."""
        found: dict[str, int] = {}
        for part in _chunks_of(list(ids)):
            marks = ",".join("?" * len(part))
            found.update(self._read(f"SELECT id, rowid FROM items WHERE id IN ({marks})", part))
        return [found[i] for i in ids]

    def ids(self) -> list[str]:
        return [r[0] for r in self._read("SELECT id FROM items ORDER BY rowid")]

    def records(self, batch_size: int = 1000) -> Iterator[list[ItemRecord]]:
        """Every item with its chunks, ``batch_size`` items at a time, in rowid order."""
        after = 0
        while True:
            rows = self._read(
                f"SELECT {_ITEM_COLUMNS} FROM items WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (after, batch_size),
            )
            if not rows:
                return
            records = dict(self._records(rows))
            marks = ",".join("?" * len(records))
            dim = int(self.get_meta("dim") or 0)
            for rowid, start, end, blob in self._read(
                f"SELECT item_rowid, start, end, vector FROM chunks WHERE item_rowid IN ({marks}) "
                "ORDER BY chunk_id",
                list(records),
            ):
                vector = np.frombuffer(blob, dtype=np.float32, count=dim)
                records[rowid].chunks.append(ChunkRecord(start, end, vector))
            for name, rowid, start, end, blob in self._read(
                "SELECT name, item_rowid, start, end, vector FROM named_chunks "
                f"WHERE item_rowid IN ({marks}) ORDER BY chunk_id",
                list(records),
            ):
                vector = np.frombuffer(blob, dtype=np.float32)
                records[rowid].named.setdefault(name, []).append(ChunkRecord(start, end, vector))
            yield list(records.values())
            after = rows[-1][0]

    # -- bulk reads for search ----------------------------------------------------------
    def vectors(self, after_chunk_id: int = 0) -> tuple[np.ndarray, VectorSnapshot]:
        """All live chunk ids, and the full rows of chunks with id > ``after_chunk_id``.

        Chunk ids only grow (AUTOINCREMENT), so a caller holding rows up to some id can
        catch up incrementally: removed = held ids not in the first array, added = the
        snapshot. Both come from one read transaction, so they are consistent.
        """
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN")
            try:
                live = np.fromiter(
                    (r[0] for r in cur.execute("SELECT chunk_id FROM chunks ORDER BY chunk_id")),
                    dtype=np.int64,
                )
                rows = cur.execute(
                    "SELECT chunk_id, item_rowid, start, end, vector FROM chunks "
                    "WHERE chunk_id > ? ORDER BY chunk_id",
                    (after_chunk_id,),
                ).fetchall()
                dim_row = cur.execute("SELECT value FROM meta WHERE key='dim'").fetchone()
            finally:
                cur.execute("COMMIT")
        dim = int(dim_row[0]) if dim_row else 0
        return live, _snapshot(rows, dim)

    @contextmanager
    def vector_pages(
        self, after_chunk_id: int = 0, page_rows: int = 50_000, deletions_seen: int | None = None
    ) -> Iterator[ChunkChanges]:
        """Like :meth:`vectors`, but the new rows arrive in pages of ``page_rows``, all
        read in one transaction: catching up costs memory for one page, not the store.
        The ``chunks_deleted`` trigger counts every removed chunk, so when the count still
        equals ``deletions_seen`` the scan of every live id is skipped."""
        with self.snapshot() as cur:
            deletions = int(self._meta(cur, "chunk_deletions") or 0)
            live = None
            if deletions_seen is None or deletions != deletions_seen:
                live = np.fromiter(
                    (r[0] for r in cur.execute("SELECT chunk_id FROM chunks ORDER BY chunk_id")),
                    dtype=np.int64,
                )
            dim = int(self._meta(cur, "dim") or 0)
            rows = cur.connection.execute(
                "SELECT chunk_id, item_rowid, start, end, vector FROM chunks "
                "WHERE chunk_id > ? ORDER BY chunk_id",
                (after_chunk_id,),
            )

            def pages() -> Iterator[VectorSnapshot]:
                while page := rows.fetchmany(page_rows):
                    yield _snapshot(page, dim)

            yield ChunkChanges(live, pages(), deletions)

    @staticmethod
    def _meta(cur: sqlite3.Cursor, key: str) -> str | None:
        row = cur.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def texts(self) -> tuple[np.ndarray, list[str]]:
        rows = self._read("SELECT rowid, text FROM items ORDER BY rowid")
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)), [
            r[1] for r in rows
        ]

    def filter_rowids(self, where: dict[str, Any]) -> set[int]:
        self._index_filtered_keys(where)
        clause, params = where_to_sql(where)
        return {r[0] for r in self._read(f"SELECT rowid FROM items WHERE {clause}", params)}

    def _index_filtered_keys(self, where: dict[str, Any]) -> None:
        """Index the keys of ``where`` in a large space on their first filter
        (``metadata_index``): the filters after it read only the rows they match."""
        with self._lock:
            if self._metadata_indexes is None:
                self._metadata_indexes = metadata_index.indexed_keys(self._conn)
            missing = metadata_index.keys_to_index(parse_where(where), self._metadata_indexes)
            if not missing or time.monotonic() < self._index_retry_after:
                return
            if self.count() < metadata_index.AUTO_INDEX_FROM:
                return
            for path in missing:
                if metadata_index.try_create(self._conn, path, _BUSY_TIMEOUT_MS):
                    self._metadata_indexes.add(metadata_index.index_name(path))
                else:  # busy or read-only: scan, and do not count the items on every filter
                    self._index_retry_after = time.monotonic() + _INDEX_RETRY_S
                    return

    def ids_from_source_prefix(self, prefix: str) -> dict[str, str]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._read(
            "SELECT id, source FROM items WHERE source LIKE ? ESCAPE '\\'", (escaped + "%",)
        )
        return dict(rows)

    # -- named vectors (store/base.py NamedVectorStore) ----------------------------------
    def named_ids(self, name: str) -> set[str]:
        rows = self._read(
            "SELECT DISTINCT i.id FROM named_chunks n JOIN items i ON i.rowid = n.item_rowid "
            "WHERE n.name = ?",
            (name,),
        )
        return {r[0] for r in rows}

    def put_named(self, name: str, items: Sequence[ItemRecord]) -> int:
        written = 0
        # no generation bump: no reader derives anything from a set still being built
        # (a set becomes searchable when its spec is marked complete, which bumps)
        with self._write(bump=False) as cur:
            for item in items:
                found = cur.execute(
                    "SELECT rowid FROM items WHERE id = ? AND text_hash = ?",
                    (item.id, item.text_hash),
                ).fetchone()
                if found is None:  # deleted or changed meanwhile: its writer embedded it
                    continue
                cur.execute(
                    "DELETE FROM named_chunks WHERE name = ? AND item_rowid = ?", (name, found[0])
                )
                _insert_named(cur, name, _chunk_rows(found[0], item.named[name]))
                written += 1
        return written

    def named_vectors(
        self, name: str, dim: int, after_chunk_id: int = 0
    ) -> tuple[np.ndarray, VectorSnapshot]:
        with self.snapshot() as cur:
            live = np.fromiter(
                (
                    r[0]
                    for r in cur.execute(
                        "SELECT chunk_id FROM named_chunks WHERE name = ? ORDER BY chunk_id",
                        (name,),
                    )
                ),
                dtype=np.int64,
            )
            rows = cur.execute(
                "SELECT chunk_id, item_rowid, start, end, vector FROM named_chunks "
                "WHERE name = ? AND chunk_id > ? ORDER BY chunk_id",
                (name, after_chunk_id),
            ).fetchall()
        return live, _snapshot(rows, dim)

    def named_chunk_count(self, name: str) -> int:
        return self._read("SELECT COUNT(*) FROM named_chunks WHERE name = ?", (name,))[0][0]

    def drop_named(self, name: str) -> None:
        with self._write() as cur:
            cur.execute("DELETE FROM named_chunks WHERE name = ?", (name,))

    def promote_named(self, name: str, keep_old_as: str | None, meta: dict[str, str]) -> bool:
        with self._write() as cur:
            lacking = cur.execute(
                "SELECT COUNT(*) FROM items WHERE rowid NOT IN "
                "(SELECT item_rowid FROM named_chunks WHERE name = ?)",
                (name,),
            ).fetchone()[0]
            if lacking:
                return False
            if keep_old_as is not None:
                cur.execute(
                    "INSERT INTO named_chunks (name, item_rowid, start, end, vector) "
                    "SELECT ?, item_rowid, start, end, vector FROM chunks ORDER BY chunk_id",
                    (keep_old_as,),
                )
            cur.execute("DELETE FROM chunks")
            cur.execute(
                "INSERT INTO chunks (item_rowid, start, end, vector) SELECT item_rowid, start, "
                "end, vector FROM named_chunks WHERE name = ? ORDER BY chunk_id",
                (name,),
            )
            cur.execute("DELETE FROM named_chunks WHERE name = ?", (name,))
            cur.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(meta.items()))
        return True

    @contextmanager
    def job_lock(self, job: str) -> Iterator[None]:
        """An flock on ``<space>/<job>.lock``: the kernel drops it when its holder's file
        is closed, a ``kill -9`` included, so no stale lock is ever left behind."""
        with (self.folder / f"{job}.lock").open("a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise SpaceLockedError(
                    f"a {job} of {self.folder} is already running ({holder}); wait for it "
                    "to finish (space.info()['reembed'] shows how far it is), then retry"
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}")
            handle.flush()
            yield

    def follow_swap(self) -> None:
        """Nothing cached: the main vectors' table and dimension are read per query."""

    def job_running(self, job: str) -> bool:
        path = self.folder / f"{job}.lock"
        if not path.exists():
            return False
        with path.open("a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            return False

    # -- integrity (see store/audit.py) ---------------------------------------------------
    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Cursor]:
        """A read transaction: every query through the cursor sees one committed state,
        whatever other processes commit meanwhile (WAL keeps it for us)."""
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN")
            try:
                yield cur
            finally:
                cur.execute("COMMIT")

    def delete_chunks(self, chunk_ids: Sequence[int]) -> int:
        """Remove chunk rows directly (repair of orphans whose item is gone)."""
        removed = 0
        with self._write() as cur:
            for part in _chunks_of([int(c) for c in chunk_ids]):
                marks = ",".join("?" * len(part))
                removed += cur.execute(
                    f"DELETE FROM chunks WHERE chunk_id IN ({marks})", part
                ).rowcount
        return removed

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.folder.glob(DB_NAME + "*") if p.is_file())

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def online_backup(folder: Path, target: Path) -> dict[str, Any]:
    """Copy the database of the space in ``folder`` to the new file ``target`` as one
    committed state, and describe the copy (generation, items, chunks, model id).

    SQLite's online backup API copies every page in one step, inside one read
    transaction: under WAL, writers in any process keep committing meanwhile and the
    copy is the state at the step's start. The copy is switched to a rollback journal
    so it is one self-contained file (no -wal beside it)."""
    source = sqlite3.connect(Path(folder) / DB_NAME, timeout=_BUSY_TIMEOUT_MS / 1000)
    copy = sqlite3.connect(target, isolation_level=None)
    try:
        source.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")
        meta = dict(copy.execute("SELECT key, value FROM meta").fetchall())
        return {
            "generation": int(meta.get("generation") or 0),
            "items": copy.execute("SELECT COUNT(*) FROM items").fetchone()[0],
            "chunks": copy.execute("SELECT COUNT(*) FROM chunks").fetchone()[0],
            "model_id": meta.get("model_id", ""),
        }
    finally:
        copy.close()
        source.close()


def _chunk_rows(rowid: int, chunks: Sequence[ChunkRecord]) -> list[tuple[int, int, int, bytes]]:
    """Chunk rows of one item as SQLite stores them (the vector a float32 blob)."""
    return [
        (rowid, c.start, c.end, np.asarray(c.vector, dtype=np.float32).tobytes()) for c in chunks
    ]


def _insert_named(cur: sqlite3.Cursor, name: str, rows: list[tuple[int, int, int, bytes]]) -> None:
    cur.executemany(
        "INSERT INTO named_chunks (name, item_rowid, start, end, vector) VALUES (?,?,?,?,?)",
        [(name, *row) for row in rows],
    )


def _snapshot(rows: list[tuple], dim: int) -> VectorSnapshot:
    """Chunk rows (chunk_id, item_rowid, start, end, vector blob) as arrays."""
    if not rows:
        empty = np.empty(0, dtype=np.int64)
        return VectorSnapshot(empty, empty, empty, empty, np.empty((0, dim), dtype=np.float32))
    chunk_ids, item_rowids, starts, ends, blobs = zip(*rows, strict=True)
    matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(rows), dim)

    def as_int(values: tuple) -> np.ndarray:
        return np.fromiter(values, dtype=np.int64, count=len(rows))

    return VectorSnapshot(
        as_int(chunk_ids), as_int(item_rowids), as_int(starts), as_int(ends), matrix
    )
