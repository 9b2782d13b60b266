"""What the store itself says about its health, read in one snapshot.

The store is the truth the rest of a space is rebuilt from, so its own consistency is
checked row by row: SQLite's page-level check, foreign keys, chunks without an item,
items without vectors, vector blobs of the wrong size or with NaN, chunk spans outside
their text, and text hashes that no longer match the text (a stale embedding). Everything
is read in one transaction, so a writer in another process cannot cause a false alarm.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

import numpy as np

from ..ingest.hashing import text_hash
from .sqlite import SqliteStore

#: At most this many offending ids/labels are listed per problem (the count is exact).
SHOWN = 5


@dataclass
class StoreAudit:
    items: int = 0
    chunks: int = 0
    sqlite_problems: list[str] = field(default_factory=list)
    orphan_chunks: list[int] = field(default_factory=list)
    items_without_vectors: list[str] = field(default_factory=list)
    bad_vector_size: list[int] = field(default_factory=list)
    non_finite_vectors: list[int] = field(default_factory=list)
    bad_spans: list[str] = field(default_factory=list)
    hash_mismatches: list[str] = field(default_factory=list)
    #: Image items' thumbnails (relative to the space) -> the source file they came from.
    thumbnails: dict[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        """One line per kind of problem, with a count and a few examples."""
        lines = [f"SQLite: {p}" for p in self.sqlite_problems]
        for values, what in (
            (self.orphan_chunks, "chunk rows without an item (orphans)"),
            (self.items_without_vectors, "items without any vector"),
            (self.bad_vector_size, "vectors of the wrong size"),
            (self.non_finite_vectors, "vectors with NaN or infinity"),
            (self.bad_spans, "chunks whose span lies outside their item's text"),
            (self.hash_mismatches, "items whose text no longer matches its hash (stale vectors)"),
        ):
            if values:
                lines.append(f"{len(values)} {what}, e.g. {values[:SHOWN]}")
        return lines


def audit_store(store: SqliteStore, dim: int) -> StoreAudit:
    """Read the whole store once (streaming, constant memory besides the id lists)."""
    audit = StoreAudit()
    with store.snapshot() as cur:
        audit.sqlite_problems = [
            row[0] for row in cur.execute("PRAGMA quick_check").fetchall() if row[0] != "ok"
        ]
        audit.sqlite_problems += [
            f"foreign key violation in {row[0]} rowid {row[1]}"
            for row in cur.execute("PRAGMA foreign_key_check").fetchall()[:SHOWN]
        ]
        audit.items = cur.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        audit.chunks = cur.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        audit.orphan_chunks = [
            r[0]
            for r in cur.execute(
                "SELECT chunk_id FROM chunks WHERE item_rowid NOT IN (SELECT rowid FROM items)"
            )
        ]
        audit.items_without_vectors = [
            r[0]
            for r in cur.execute(
                "SELECT id FROM items WHERE rowid NOT IN (SELECT item_rowid FROM chunks)"
            )
        ]
        audit.bad_vector_size = [
            r[0]
            for r in cur.execute(
                "SELECT chunk_id FROM chunks WHERE length(vector) != ?", (dim * 4,)
            )
        ]
        for chunk_id, blob in cur.execute(
            "SELECT chunk_id, vector FROM chunks WHERE length(vector) = ?", (dim * 4,)
        ):
            if not np.isfinite(np.frombuffer(blob, dtype=np.float32)).all():
                audit.non_finite_vectors.append(chunk_id)
        _check_items(cur.connection, audit)
    return audit


def _check_items(conn: sqlite3.Connection, audit: StoreAudit) -> None:
    """Hashes against texts and chunk spans against text lengths: a merge of the items
    (by rowid) with their chunks (by item rowid), two cursors in the same snapshot."""
    items = conn.execute("SELECT rowid, id, text, text_hash, metadata FROM items ORDER BY rowid")
    spans = conn.execute("SELECT item_rowid, start, end FROM chunks ORDER BY item_rowid, chunk_id")
    pending = next(spans, None)
    for rowid, id_, text, stored_hash, metadata in items:
        while pending is not None and pending[0] < rowid:
            pending = next(spans, None)
        while pending is not None and pending[0] == rowid:
            _, start, end = pending
            if not 0 <= start <= end <= len(text):
                audit.bad_spans.append(id_)
            pending = next(spans, None)
        md = json.loads(metadata)
        if isinstance(md, dict) and md.get("modality") == "image":
            # An image's change key is its file's hash, not its text's; the file may have
            # moved since, so only its thumbnail (inside the space) is checked.
            if isinstance(md.get("thumbnail"), str):
                audit.thumbnails[md["thumbnail"]] = str(md.get("path") or "")
        elif text_hash(text) != stored_hash:
            audit.hash_mismatches.append(id_)
