"""Milvus store: ``milvus://host:19530/books`` (a server or cluster) or
``milvus:///abs/path/space.db/books`` (Milvus Lite: the C++ engine on a local file,
spoken to over a unix socket). The same pymilvus client code serves both.

Why Milvus: a distributed, sharded, replicated vector engine. One collection per space
holds one row per chunk: the vector, the item's id, hash, metadata (JSON) and, on the
item's first chunk row (``head``), its text, from which Milvus' BM25 function derives a
sparse vector for keyword search (english analyzer: stemming, stop words). A second,
tiny collection holds the space's meta (model id, dimension...).

What Milvus does not give, and what follows:

* No transactions. A batch is one delete (of the items' old rows) then one insert: a
  crash in between loses those items' old versions, never duplicates them, and the next
  run re-adds them (their hashes are gone), so re-running an ingest still converges.
* No write counter: ``generation`` is a random token replaced by every write, so a local
  view still notices any change.
* Texts longer than Milvus' VARCHAR (65,535 bytes) are refused, and ``None`` in a
  filter (null or missing) is not expressible: NotSupportedError for both.
* Milvus 2.5 cannot add a field to an existing collection, so an item's layout (pages
  and headings) rides in its head row's metadata under ``LAYOUT_KEY``, taken out again
  on every read: collections made before layouts existed hold them unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from ..errors import (
    BackendError,
    InvalidInputError,
    MissingDependencyError,
    NotASpaceError,
    NotSupportedError,
    SpaceLockedError,
)
from .base import ChunkRecord, ItemRecord, VectorSnapshot, WholeSnapshotPages, model_changed
from .filters import parse_where
from .named import read_specs

MAX_TEXT_BYTES = 65_535
#: The meta key naming the collection of the main vectors after a re-embed.
CHUNKS_KEY = "chunks_collection"
#: A job lease not renewed for this long is taken to belong to a dead process.
LEASE_SECONDS = 30.0
#: How long a re-embed's swap waits after the pointer flip before reconciling the old
#: collection: writes checked against the old model id just before it land meanwhile.
SWAP_GRACE_SECONDS = 2.0
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,200}$")
_METRICS = {"cosine": "COSINE", "dot": "IP", "euclidean": "L2"}
#: The filter selecting each item's first chunk row, the one that carries its text and
#: metadata (shared with milvus_search.py).
HEAD_ROWS = "head == true"
_ITEM_FIELDS = ["chunk_id", "item_rowid", "item_id", "text", "metadata", "text_hash", "source"]
#: Milvus' largest query/search limit.
PAGE_LIMIT = 16_384
#: Where the head row's metadata carries the item's layout (never shown as metadata).
LAYOUT_KEY = "__embedspace_layout__"


def _split_layout(metadata: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A head row's stored metadata -> (the item's own metadata, its layout)."""
    if LAYOUT_KEY not in metadata:
        return metadata, None
    own = dict(metadata)
    return own, own.pop(LAYOUT_KEY)


def split_uri(uri: str) -> tuple[str, str]:
    """``milvus://host:port/name`` -> ("http://host:port", name);
    ``milvus:///path/file.db/name`` -> ("/path/file.db", name) for Milvus Lite."""
    parts = urlsplit(uri)
    path = parts.path.rstrip("/")
    folder, _, name = path.rpartition("/")
    if not name or not _NAME.match(name):
        raise InvalidInputError(
            f"{uri!r} needs a collection name (letters, digits, _): milvus://host:19530/books "
            "or milvus:///path/to/space.db/books"
        )
    if parts.netloc:
        scheme = "https" if "tls=true" in parts.query else "http"
        return f"{scheme}://{parts.netloc}", name
    if not folder:
        raise InvalidInputError(f"{uri!r}: Milvus Lite needs a file, milvus:///path/space.db/NAME")
    return folder, name


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def where_to_milvus(where: dict[str, Any], column: str = "metadata") -> str:
    """The ``where`` semantics of ``filters.py`` as a Milvus boolean expression."""
    compare = {"$eq": "==", "$ne": "!=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
    clauses = []
    for cond in parse_where(where):
        expr = column + "".join(f"[{json.dumps(p)}]" for p in cond.path)
        values = cond.value if isinstance(cond.value, list) else [cond.value]
        if any(v is None for v in values):
            raise NotSupportedError(
                "filters on None (null or missing keys) are not supported by the Milvus "
                "backend: its expressions cannot test for null; see docs/scale.md"
            )
        if cond.op in ("$in", "$nin"):
            listed = "[" + ", ".join(_literal(v) for v in values) + "]"
            clauses.append(f"{expr} {'not in' if cond.op == '$nin' else 'in'} {listed}")
        else:
            clauses.append(f"{expr} {compare[cond.op]} {_literal(cond.value)}")
    return " and ".join(f"({c})" for c in clauses)


def item_rowid(item_id: str) -> int:
    """A stable 63-bit number per item id (Milvus has no row ids of its own)."""
    return int.from_bytes(hashlib.blake2b(item_id.encode(), digest_size=8).digest(), "big") >> 1


class MilvusStore(WholeSnapshotPages):
    """Items, metadata, hashes and chunk vectors in one Milvus collection per space."""

    kind = "milvus"

    def __init__(self, uri: str, *, create: bool = True, **index_params: Any) -> None:
        try:
            from pymilvus import MilvusClient
            from pymilvus.exceptions import MilvusException
        except ImportError as exc:
            raise MissingDependencyError(
                "milvus:// spaces need the milvus extra: pip install 'embedspace[milvus]'"
            ) from exc
        self._errors = MilvusException
        target, self.base = split_uri(uri)
        #: the collection holding the main vectors: the space's name until a re-embed
        #: swapped in another one (meta ``chunks_collection``)
        self.name = self.base
        self.location = uri
        self.meta_name = f"{self.base}__meta"
        self.index_params = index_params
        self._lock = threading.RLock()
        self._last_chunk_id = 0
        try:
            self._client = MilvusClient(target)
        except Exception as exc:  # pymilvus raises many types on a failed connect
            raise BackendError(f"cannot connect to Milvus at {target}: {exc}") from exc
        if not self._client.has_collection(self.meta_name):
            if not create:
                raise NotASpaceError(f"no space at {uri}; create it with es.Space(uri)")
            self._create_meta()
        self.follow_swap()

    def follow_swap(self) -> None:
        """Re-read which collection holds the main vectors, and their dimension (a
        re-embed in another process may have swapped them)."""
        self.name = self.get_meta(CHUNKS_KEY) or self.base
        self.dim = int(self.get_meta("dim") or 0)
        self.metric = self.get_meta("metric") or "cosine"

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            try:
                return getattr(self._client, method)(*args, **kwargs)
            except self._errors as exc:
                raise BackendError(f"Milvus refused {method} on {self.location}: {exc}") from exc

    # -- schema -------------------------------------------------------------------------
    def _create_meta(self) -> None:
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False)
        schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=128)
        schema.add_field("value", DataType.VARCHAR, max_length=4096)
        schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus needs a vector
        index = self._client.prepare_index_params()
        index.add_index("unused", index_type="AUTOINDEX", metric_type="L2")
        self._call(
            "create_collection",
            self.meta_name,
            schema=schema,
            index_params=index,
            consistency_level="Strong",
        )
        self.set_meta({"format_version": "1"})

    def _create_chunks(self, dim: int, metric: str, collection: str | None = None) -> None:
        """The chunk collection needs the dimension, known once the model is."""
        from pymilvus import DataType, Function, FunctionType, MilvusClient

        collection = collection or self.name
        if self._client.has_collection(collection):
            return
        schema = MilvusClient.create_schema(auto_id=False)
        schema.add_field("chunk_id", DataType.INT64, is_primary=True)
        schema.add_field("item_rowid", DataType.INT64)
        schema.add_field("item_id", DataType.VARCHAR, max_length=1024)
        schema.add_field("head", DataType.BOOL)
        schema.add_field(
            "text",
            DataType.VARCHAR,
            max_length=MAX_TEXT_BYTES,
            enable_analyzer=True,
            analyzer_params={"type": "english"},
        )
        schema.add_field("metadata", DataType.JSON)
        schema.add_field("text_hash", DataType.VARCHAR, max_length=128)
        schema.add_field("source", DataType.VARCHAR, max_length=4096)
        schema.add_field("start", DataType.INT64)
        schema.add_field("end", DataType.INT64)
        schema.add_field("n_chunks", DataType.INT64)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(
            Function(
                name="bm25",
                function_type=FunctionType.BM25,
                input_field_names=["text"],
                output_field_names=["sparse"],
            )
        )
        index = self._client.prepare_index_params()
        # AUTOINDEX is HNSW on a Milvus server; Milvus Lite searches it exactly
        index.add_index("vector", index_type="AUTOINDEX", metric_type=_METRICS[metric])
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        self._call(
            "create_collection",
            collection,
            schema=schema,
            index_params=index,
            consistency_level="Strong",
        )

    # -- meta ---------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self._call("get", self.meta_name, ids=[key], output_fields=["value"])
        return rows[0]["value"] if rows else None

    def set_meta(self, values: dict[str, str]) -> None:
        rows = [{"key": k, "value": str(v), "unused": [0.0, 0.0]} for k, v in values.items()]
        self._call("upsert", self.meta_name, rows)
        if "dim" in values:
            self.dim, self.metric = int(values["dim"]), values.get("metric", "cosine")
            self._create_chunks(self.dim, self.metric)
        if "generation" not in values:
            self._bump()

    def _bump(self) -> None:
        self._call(
            "upsert",
            self.meta_name,
            [{"key": "generation", "value": str(secrets.randbits(62)), "unused": [0.0, 0.0]}],
        )

    def generation(self) -> int:
        return int(self.get_meta("generation") or 0)

    # -- reads --------------------------------------------------------------------------
    def _ready(self) -> bool:
        return bool(self.dim)

    def _query(
        self, filter: str, fields: list[str], collection: str | None = None
    ) -> list[dict[str, Any]]:
        """Every row matching ``filter`` (paged: Milvus caps one query)."""
        if not self._ready():
            return []
        with self._lock:
            try:
                iterator = self._client.query_iterator(
                    collection or self.name, batch_size=4096, filter=filter, output_fields=fields
                )
                rows: list[dict[str, Any]] = []
                while page := iterator.next():
                    rows.extend(page)
                iterator.close()
                return rows
            except self._errors as exc:
                raise BackendError(f"Milvus refused a query on {self.location}: {exc}") from exc

    def _count(self, filter: str) -> int:
        if not self._ready():
            return 0
        return int(
            self._call("query", self.name, filter=filter, output_fields=["count(*)"])[0]["count(*)"]
        )

    def count(self) -> int:
        return self._count(HEAD_ROWS)

    def chunk_count(self) -> int:
        return self._count("")

    @staticmethod
    def _ids_in(field: str, values: Sequence[Any]) -> str:
        return f"{field} in [{', '.join(_literal(v) for v in values)}]"

    def _heads(self, field: str, values: Sequence[Any], fields: list[str]) -> list[dict]:
        out = []
        for start in range(0, len(values), 1000):
            part = list(values[start : start + 1000])
            out += self._query(f"{HEAD_ROWS} and {self._ids_in(field, part)}", fields)
        return out

    def hashes(self, ids: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        rows = self._heads("item_id", list(ids), ["item_id", "text_hash", "metadata"])
        return {r["item_id"]: (r["text_hash"], _split_layout(r["metadata"])[0]) for r in rows}

    @staticmethod
    def _record(row: dict[str, Any]) -> ItemRecord:
        metadata, layout = _split_layout(row["metadata"])
        return ItemRecord(
            row["item_id"],
            row["text"],
            metadata,
            row["text_hash"],
            row["source"] or None,
            layout=layout,
        )

    def get(self, ids: Sequence[str]) -> list[ItemRecord]:
        found = {
            r["item_id"]: self._record(r) for r in self._heads("item_id", list(ids), _ITEM_FIELDS)
        }
        return [found[i] for i in ids if i in found]

    def get_by_rowids(self, rowids: Sequence[int]) -> dict[int, ItemRecord]:
        rows = self._heads("item_rowid", [int(r) for r in rowids], _ITEM_FIELDS)
        return {r["item_rowid"]: self._record(r) for r in rows}

    def rowids(self, ids: Sequence[str]) -> list[int]:
        return [item_rowid(i) for i in ids]

    def ids(self) -> list[str]:
        rows = sorted(self._query(HEAD_ROWS, ["chunk_id", "item_id"]), key=lambda r: r["chunk_id"])
        return [r["item_id"] for r in rows]

    def records(self, batch_size: int = 1000) -> Iterator[list[ItemRecord]]:
        heads = sorted(
            self._query(HEAD_ROWS, ["chunk_id", "item_rowid"]), key=lambda r: r["chunk_id"]
        )
        for start in range(0, len(heads), batch_size):
            rowids = [h["item_rowid"] for h in heads[start : start + batch_size]]
            rows = self._query(
                self._ids_in("item_rowid", rowids),
                [*_ITEM_FIELDS, "head", "start", "end", "vector"],
            )
            records = {r["item_rowid"]: self._record(r) for r in rows if r["head"]}
            for r in sorted(rows, key=lambda r: r["chunk_id"]):
                records[r["item_rowid"]].chunks.append(
                    ChunkRecord(r["start"], r["end"], np.asarray(r["vector"], dtype=np.float32))
                )
            self._add_named(records, rowids)
            yield [records[r] for r in rowids if r in records]

    def _add_named(self, records: dict[int, ItemRecord], rowids: list[int]) -> None:
        """Fill in the records' chunks of every named set (exports and migrations)."""
        for name in self._set_names():
            collection = self._set_collection(name)
            if not self._has(collection):
                continue
            for rowid, chunk in self._chunks_of(collection, "item_rowid", rowids):
                if rowid in records:
                    records[rowid].named.setdefault(name, []).append(chunk)

    def _chunks_of(
        self, collection: str, key: str, values: Sequence[Any]
    ) -> list[tuple[Any, ChunkRecord]]:
        """(owner, chunk) for the chunks in ``collection`` whose ``key`` field (the item's
        id or rowid) is in ``values``, in chunk order (an item's chunks in text order)."""
        rows = self._query(
            self._ids_in(key, values), ["chunk_id", key, "start", "end", "vector"], collection
        )
        return [
            (r[key], ChunkRecord(r["start"], r["end"], np.asarray(r["vector"], np.float32)))
            for r in sorted(rows, key=lambda r: r["chunk_id"])
        ]

    def vectors(self, after_chunk_id: int = 0) -> tuple[np.ndarray, VectorSnapshot]:
        return self._snapshot(self.name, self.dim, after_chunk_id)

    def _snapshot(
        self, collection: str, dim: int, after_chunk_id: int
    ) -> tuple[np.ndarray, VectorSnapshot]:
        live = np.array(
            sorted(r["chunk_id"] for r in self._query("", ["chunk_id"], collection)),
            dtype=np.int64,
        )
        rows = sorted(
            self._query(
                f"chunk_id > {int(after_chunk_id)}",
                ["chunk_id", "item_rowid", "start", "end", "vector"],
                collection,
            ),
            key=lambda r: r["chunk_id"],
        )

        def column(name: str) -> np.ndarray:
            return np.array([r[name] for r in rows], dtype=np.int64)

        matrix = (
            np.array([r["vector"] for r in rows], dtype=np.float32)
            if rows
            else np.empty((0, dim), dtype=np.float32)
        )
        snapshot = VectorSnapshot(
            column("chunk_id"), column("item_rowid"), column("start"), column("end"), matrix
        )
        return live, snapshot

    def texts(self) -> tuple[np.ndarray, list[str]]:
        rows = sorted(self._query(HEAD_ROWS, ["item_rowid", "text"]), key=lambda r: r["item_rowid"])
        return np.array([r["item_rowid"] for r in rows], dtype=np.int64), [r["text"] for r in rows]

    def filter_rowids(self, where: dict[str, Any]) -> set[int]:
        return {
            r["item_rowid"]
            for r in self._query(f"{HEAD_ROWS} and {where_to_milvus(where)}", ["item_rowid"])
        }

    def ids_from_source_prefix(self, prefix: str) -> dict[str, str]:
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._query(
            f"{HEAD_ROWS} and source like {_literal(pattern)}", ["item_id", "source"]
        )
        return {r["item_id"]: r["source"] for r in rows}

    def disk_bytes(self) -> int:
        """Not reported: Milvus keeps segments in object storage, sized by its own tools."""
        return 0

    # -- writes -------------------------------------------------------------------------
    def _next_chunk_ids(self, n: int) -> np.ndarray:
        """Growing ids (microseconds * 1024), so a local view catches up by ``> max``."""
        with self._lock:
            base = max(time.time_ns() // 1000 * 1024, self._last_chunk_id + 1)
            self._last_chunk_id = base + n - 1
        return base + np.arange(n, dtype=np.int64)

    def _delete_items(self, ids: Sequence[str], named: bool = True) -> None:
        collections = [self.name]
        if named:
            collections += [c for c in map(self._set_collection, self._set_names()) if self._has(c)]
        for collection in collections:
            for start in range(0, len(ids), 1000):
                part = list(ids[start : start + 1000])
                self._call("delete", collection, filter=self._ids_in("item_id", part))

    def upsert(self, items: Sequence[ItemRecord], expect_model: str | None = None) -> None:
        self._upsert(items, expect_model, named=True)

    def _upsert(self, items: Sequence[ItemRecord], expect_model: str | None, named: bool) -> None:
        """``named``: replace the items' rows of every named set too (False: a metadata
        rewrite, whose vectors are unchanged)."""
        if not items:
            return
        stored = self.get_meta("model_id")  # no transactions: checked just before writing
        if expect_model is not None and stored is not None and stored != expect_model:
            raise model_changed(self.location, expect_model, stored)
        too_long = [it.id for it in items if len(it.text.encode()) > MAX_TEXT_BYTES]
        if too_long:
            raise NotSupportedError(
                f"items {too_long[:3]} have texts over {MAX_TEXT_BYTES:,} bytes, Milvus' VARCHAR "
                "limit; split them into several items, or use a folder or postgresql:// space"
            )
        self._delete_items([it.id for it in items], named=named)
        self._insert(self.name, self._rows(items))
        if named:
            self._insert_named(items)
        self._bump()

    def _insert(self, collection: str, rows: list[dict[str, Any]]) -> None:
        for start in range(0, len(rows), 1000):
            self._call("insert", collection, rows[start : start + 1000])

    def _rows(self, items: Sequence[ItemRecord]) -> list[dict[str, Any]]:
        """The main collection's rows of ``items``: one per chunk, the head carrying text."""
        chunk_ids = iter(self._next_chunk_ids(sum(len(it.chunks) for it in items)).tolist())
        rows = []
        for it in items:
            rowid = item_rowid(it.id)
            head_metadata = (
                it.metadata if it.layout is None else {**it.metadata, LAYOUT_KEY: it.layout}
            )
            for j, chunk in enumerate(it.chunks):
                rows.append(
                    {
                        "chunk_id": next(chunk_ids),
                        "item_rowid": rowid,
                        "item_id": it.id,
                        "head": j == 0,
                        "text": it.text if j == 0 else "",
                        "metadata": head_metadata if j == 0 else it.metadata,
                        "text_hash": it.text_hash,
                        "source": it.source or "",
                        "start": chunk.start,
                        "end": chunk.end,
                        "n_chunks": len(it.chunks),
                        "vector": np.asarray(chunk.vector, dtype=np.float32).tolist(),
                    }
                )
        return rows

    def update_metadata(self, updates: dict[str, dict[str, Any]]) -> None:
        """Milvus has no partial update: rewrite the items' rows with the new metadata."""
        records = self.records_of(list(updates))
        for rec in records:
            rec.metadata = updates[rec.id]
        self._upsert(records, None, named=False)

    def records_of(self, ids: Sequence[str]) -> list[ItemRecord]:
        """Items with their chunks, by id (in any order)."""
        rows = self._query(
            self._ids_in("item_id", list(ids)), [*_ITEM_FIELDS, "head", "start", "end", "vector"]
        )
        records = {r["item_id"]: self._record(r) for r in rows if r["head"]}
        for r in sorted(rows, key=lambda r: r["chunk_id"]):
            records[r["item_id"]].chunks.append(
                ChunkRecord(r["start"], r["end"], np.asarray(r["vector"], dtype=np.float32))
            )
        return list(records.values())

    def delete(self, ids: Iterable[str]) -> int:
        ids = list(ids)
        existing = [r["item_id"] for r in self._heads("item_id", ids, ["item_id"])]
        if existing:
            self._delete_items(existing)
            self._bump()
        return len(existing)

    # -- named vectors (store/base.py NamedVectorStore) ----------------------------------
    # Each set is a collection of its own (Milvus fixes a vector field's dimension), named
    # by a hash of the set's name (set names may hold characters collections may not).
    def _set_collection(self, name: str) -> str:
        return f"{self.base}__v{hashlib.blake2b(name.encode(), digest_size=6).hexdigest()}"

    def _set_names(self) -> list[str]:
        return list(read_specs(self.get_meta))

    def _has(self, collection: str) -> bool:
        with self._lock:
            return bool(self._client.has_collection(collection))

    def _create_set(self, collection: str, dim: int) -> None:
        from pymilvus import DataType, MilvusClient

        if self._has(collection):
            return
        schema = MilvusClient.create_schema(auto_id=False)
        schema.add_field("chunk_id", DataType.INT64, is_primary=True)
        schema.add_field("item_rowid", DataType.INT64)
        schema.add_field("item_id", DataType.VARCHAR, max_length=1024)
        schema.add_field("start", DataType.INT64)
        schema.add_field("end", DataType.INT64)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        index = self._client.prepare_index_params()
        index.add_index("vector", index_type="AUTOINDEX", metric_type=_METRICS[self.metric])
        self._call(
            "create_collection",
            collection,
            schema=schema,
            index_params=index,
            consistency_level="Strong",
        )

    def _insert_named(self, items: Sequence[ItemRecord], only: str | None = None) -> None:
        by_set: dict[str, list[tuple[ItemRecord, ChunkRecord]]] = {}
        for it in items:
            for name, chunks in it.named.items():
                if only is None or name == only:
                    by_set.setdefault(name, []).extend((it, c) for c in chunks)
        for name, pairs in by_set.items():
            collection = self._set_collection(name)
            self._create_set(collection, len(pairs[0][1].vector))
            ids = iter(self._next_chunk_ids(len(pairs)).tolist())
            rows = [
                {
                    "chunk_id": next(ids),
                    "item_rowid": item_rowid(it.id),
                    "item_id": it.id,
                    "start": c.start,
                    "end": c.end,
                    "vector": np.asarray(c.vector, dtype=np.float32).tolist(),
                }
                for it, c in pairs
            ]
            self._insert(collection, rows)

    def named_ids(self, name: str) -> set[str]:
        collection = self._set_collection(name)
        if not self._has(collection):
            return set()
        return {r["item_id"] for r in self._query("", ["item_id"], collection)}

    def put_named(self, name: str, items: Sequence[ItemRecord]) -> int:
        """No transactions: the hashes are compared just before the write."""
        known = self.hashes([it.id for it in items])
        fresh = [it for it in items if known.get(it.id, ("",))[0] == it.text_hash]
        collection = self._set_collection(name)
        if fresh and self._has(collection):
            self._call(
                "delete", collection, filter=self._ids_in("item_id", [it.id for it in fresh])
            )
        self._insert_named(fresh, only=name)
        return len(fresh)

    def named_vectors(
        self, name: str, dim: int, after_chunk_id: int = 0
    ) -> tuple[np.ndarray, VectorSnapshot]:
        collection = self._set_collection(name)
        if not self._has(collection):
            empty = np.empty(0, dtype=np.int64)
            return empty, VectorSnapshot(empty, empty, empty, empty, np.empty((0, dim), np.float32))
        return self._snapshot(collection, dim, after_chunk_id)

    def named_chunk_count(self, name: str) -> int:
        collection = self._set_collection(name)
        if not self._has(collection):
            return 0
        rows = self._call("query", collection, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def drop_named(self, name: str) -> None:
        collection = self._set_collection(name)
        if self._has(collection):
            self._call("drop_collection", collection)
        self._bump()

    def promote_named(self, name: str, keep_old_as: str | None, meta: dict[str, str]) -> bool:
        """Milvus has no transactions and no collection rename (Milvus Lite): the new
        main collection is built whole beside the old one, then one meta write points the
        space at it, and the old one is dropped after a last reconciliation pass (writes
        that reached the old collection meanwhile are copied over; see docs)."""
        ids = self.ids()
        done = self.named_ids(name)
        if any(i not in done for i in ids):
            return False
        old, new = self.name, f"{self.base}__g{secrets.token_hex(4)}"
        if keep_old_as is not None:
            for batch in self._batches(ids):
                records = self.records_of(batch)
                for rec in records:
                    rec.named = {keep_old_as: rec.chunks}
                self._insert_named(records, only=keep_old_as)
        self._create_chunks(int(meta["dim"]), self.metric, new)
        self._copy_with(new, name, ids)
        # format 2: the main vectors may live in another collection than the space's name
        self.set_meta({**meta, CHUNKS_KEY: new, "format_version": "2"})
        self.name, self.dim = new, int(meta["dim"])
        # a writer that passed its model check just before the flip writes to the old
        # collection within milliseconds; wait that out, then carry such writes over
        time.sleep(SWAP_GRACE_SECONDS)
        self._reconcile(old, new, name)
        for collection in (old, self._set_collection(name)):
            if self._has(collection):
                self._call("drop_collection", collection)
        self._bump()
        return True

    @staticmethod
    def _batches(ids: Sequence[str], size: int = 500) -> Iterator[list[str]]:
        for start in range(0, len(ids), size):
            yield list(ids[start : start + size])

    def _copy_with(self, collection: str, name: str, ids: Sequence[str]) -> None:
        """Write ``ids``' items into ``collection`` with their chunks of the set ``name``."""
        source = self._set_collection(name)
        for batch in self._batches(ids):
            records = {r.id: r for r in self.records_of(batch)}
            for rec in records.values():
                rec.chunks = []
            for item_id, chunk in self._chunks_of(source, "item_id", batch):
                if item_id in records:
                    records[item_id].chunks.append(chunk)
            self._insert(collection, self._rows([r for r in records.values() if r.chunks]))

    def _reconcile(self, old: str, new: str, name: str) -> None:
        """Items written to the old collection while the new one was built (their
        writers embedded them under ``name`` too) or deleted meanwhile."""
        fields = ["item_id", "text_hash"]
        before = {r["item_id"]: r["text_hash"] for r in self._query(HEAD_ROWS, fields, old)}
        after = {r["item_id"]: r["text_hash"] for r in self._query(HEAD_ROWS, fields, new)}
        gone = [i for i in after if i not in before]
        for batch in self._batches(gone):
            self._call("delete", new, filter=self._ids_in("item_id", batch))
        changed = [i for i, h in before.items() if after.get(i) != h]
        for batch in self._batches(changed):
            self._call("delete", new, filter=self._ids_in("item_id", batch))
            self.name = old
            try:
                self._copy_with(new, name, batch)
            finally:
                self.name = new

    @contextmanager
    def job_lock(self, job: str) -> Iterator[None]:
        """A lease in the meta collection (Milvus has no locks): held while its holder
        renews it. One not renewed for LEASE_SECONDS, or whose holder was a process of
        this machine that is gone, is free again."""
        key = f"lock:{job}"
        if self.job_running(job):
            raise SpaceLockedError(
                f"a {job} of {self.location} is already running ({self.get_meta(key)}); wait "
                "for it to finish (space.info()['reembed'] shows how far it is), then retry"
            )
        stop = threading.Event()

        def lease() -> str:
            return json.dumps({"at": time.time(), "host": socket.gethostname(), "pid": os.getpid()})

        def renew() -> None:
            while not stop.wait(LEASE_SECONDS / 3):
                self._put_meta({key: lease()})

        self._put_meta({key: lease()})
        renewer = threading.Thread(target=renew, daemon=True)
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            self._put_meta({key: ""})

    def job_running(self, job: str) -> bool:
        held = self.get_meta(f"lock:{job}")
        if not held:
            return False
        lease = json.loads(held)
        if lease["host"] == socket.gethostname():
            try:
                os.kill(lease["pid"], 0)  # signal 0: does it exist?
            except ProcessLookupError:
                return False
            except PermissionError:  # another user's live process
                pass
        return bool(time.time() - lease["at"] < LEASE_SECONDS)

    def _put_meta(self, values: dict[str, str]) -> None:
        """Meta rows that no reader derives anything from (no generation change)."""
        rows = [{"key": k, "value": v, "unused": [0.0, 0.0]} for k, v in values.items()]
        self._call("upsert", self.meta_name, rows)

    def drop(self) -> None:
        """Delete the space's collections."""
        sets = [self._set_collection(n) for n in self._set_names()]
        for name in (self.name, *sets, self.meta_name):
            if self._client.has_collection(name):
                self._call("drop_collection", name)

    def close(self) -> None:
        with self._lock:
            self._client.close()
