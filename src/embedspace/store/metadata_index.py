"""SQLite indexes on metadata keys, built the first time a large space is filtered on a key.

Why: a ``where=`` filter is a ``json_extract`` over every item's metadata, a full pass
(~30 ms at 100k items, ~0.3 s at 1M) paid again for every new filter value, which puts a
server answering many tenants or categories far behind databases with a payload index.
An expression index on the key turns that pass into a lookup of the matching rows.
Why automatic, on first use: the keys worth indexing are the ones people filter on,
and indexing every key at write time (as Chroma does) would slow every ingest for keys
nobody filters by. Spaces under ``AUTO_INDEX_FROM`` items keep scanning: a pass over
them costs about a millisecond, less than an index costs to keep up on each write.
"""

from __future__ import annotations

import sqlite3

from .filters import Condition, json_expression

#: A space with at least this many items gets an index on each key it is filtered on.
AUTO_INDEX_FROM = 10_000
_PREFIX = "items_meta:"


def index_name(path: tuple[str, ...]) -> str:
    """The index of one key; keys are limited to ``[A-Za-z0-9_.-]`` (``filters._KEY``)."""
    return _PREFIX + ".".join(path)


def indexed_keys(conn: sqlite3.Connection) -> set[str]:
    """Names of the metadata indexes the database has (any process may have built them)."""
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE ?", (_PREFIX + "%",)
    ).fetchall()
    return {row[0] for row in rows}


def try_create(conn: sqlite3.Connection, path: tuple[str, ...], restore_ms: int) -> bool:
    """Build the index of one key unless another writer holds the database: a search
    never waits on an ingest for an optimisation, so a busy (or read-only) database
    returns False and the filter scans this time. No generation bump: an index
    changes no result, so no search view needs to catch up."""
    statement = f'CREATE INDEX IF NOT EXISTS "{index_name(path)}" ON items({json_expression(path)})'
    conn.execute("PRAGMA busy_timeout=0")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return False
    finally:
        conn.execute(f"PRAGMA busy_timeout={restore_ms}")
    try:
        conn.execute(statement)
        conn.execute("COMMIT")
    except sqlite3.OperationalError:
        conn.execute("ROLLBACK")
        return False
    return True


def keys_to_index(conditions: list[Condition], indexed: set[str]) -> list[tuple[str, ...]]:
    """The keys of a filter that have no index yet, each once."""
    return list(dict.fromkeys(c.path for c in conditions if index_name(c.path) not in indexed))
