"""Distributed ingest with Ray Data: chunk and embed on a cluster, write in batches.

``space.add_dataset(ray_dataset, text_column="text")`` runs a pool of Ray actors, each
holding one copy of the space's model, over the dataset's batches (``map_batches``). An
actor first asks the space's store which rows it already holds with the same content
hash and embeds only the others, so re-running an ingest that died half-way embeds only
what is missing (the same rule as ``Space.add``). The driver receives the vectors and
writes them to the store, one transaction per batch: a crash keeps whole batches only.

Actors ask for a fraction of a CPU (``cpus_per_worker=0.5`` by default): Ray Data needs
CPU slots for its read tasks too, and an actor pool that takes every slot of a small
machine waits forever for a read that cannot be scheduled. Each actor's ONNX Runtime is
capped at ``threads_per_worker`` threads so workers do not fight over cores.

The actors open the store by its location to look up hashes: a Postgres or Milvus URI
works from any node; a folder space works with a local Ray (or a folder every node
mounts).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InvalidInputError, MissingDependencyError, ModelMismatchError
from ..store.base import ChunkRecord, ItemRecord
from .hashing import content_id, text_hash
from .loaders import LoadedItem

#: Rows per Ray batch handed to one actor call.
DEFAULT_RAY_BATCH = 128


def require_ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            "distributed ingest needs Ray: pip install 'embedspace[ray]'"
        ) from exc
    return ray


def connect(address: str | None = None, num_cpus: int | None = None) -> None:
    """Start a local Ray (no dashboard) or join the cluster at ``address`` (``ray://...``,
    ``auto``), unless this process is connected already."""
    ray = require_ray()
    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)


class Embedder:
    """A Ray actor: one loaded model, embedding the rows of a batch that changed."""

    def __init__(
        self,
        location: str,
        model: str,
        model_id: str,
        chunk_tokens: int | None,
        chunk_overlap: int,
        columns: dict[str, Any],
    ) -> None:
        from ..encoders.registry import load_encoder
        from ..store.factory import open_backend

        self.encoder = load_encoder(model)
        if self.encoder.model_id != model_id:
            raise ModelMismatchError(
                f"this worker's {model!r} is {self.encoder.model_id!r}, but the space holds "
                f"{model_id!r}: install the same model version on every node"
            )
        self.store = open_backend(location, create=False, index="auto", index_params={}).store
        self.chunk_tokens, self.chunk_overlap, self.columns = chunk_tokens, chunk_overlap, columns

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from .embedding import embed_records

        rows = _rows(batch, **self.columns)
        known = self.store.hashes([r.id for r in rows])
        status, changed = [], []
        for rec in rows:
            previous = known.get(rec.id)
            if previous is None or previous[0] != rec.text_hash:
                status.append("updated" if previous else "added")
                changed.append(rec)
            else:
                status.append("unchanged" if previous[1] == rec.metadata else "metadata")
        if changed:
            embed_records(self.encoder, changed, self.chunk_tokens, self.chunk_overlap)
        return {
            "id": np.array([r.id for r in rows], dtype=object),
            "text": np.array([r.text for r in rows], dtype=object),
            "metadata": np.array([json.dumps(r.metadata) for r in rows], dtype=object),
            "text_hash": np.array([r.text_hash for r in rows], dtype=object),
            "source": np.array([r.source or "" for r in rows], dtype=object),
            "status": np.array(status, dtype=object),
            "spans": np.array(
                [json.dumps([[c.start, c.end] for c in r.chunks]) for r in rows], dtype=object
            ),
            "vectors": np.array(
                [
                    np.stack([c.vector for c in r.chunks]).tobytes() if r.chunks else b""
                    for r in rows
                ],
                dtype=object,
            ),
        }


def _plain(value: Any) -> Any:
    """numpy scalars and arrays from a Ray batch -> JSON-ready Python values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _rows(
    batch: dict[str, np.ndarray],
    text_column: str,
    id_column: str | None,
    metadata_columns: Sequence[str],
    metadata_json_column: str | None,
    source_column: str | None,
) -> list[ItemRecord]:
    texts = batch[text_column]
    rows = []
    for i, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise InvalidInputError(f"row with an empty or non-text {text_column!r}: {text!r}")
        item_id = str(_plain(batch[id_column][i])) if id_column else content_id(text)
        metadata = {c: _plain(batch[c][i]) for c in metadata_columns}
        if metadata_json_column:
            metadata.update(json.loads(batch[metadata_json_column][i]))
        source = str(batch[source_column][i]) or None if source_column else None
        rows.append(ItemRecord(item_id, text, metadata, text_hash(text), source))
    return rows


def add_dataset(
    space,
    dataset,
    text_column: str,
    id_column: str | None = None,
    *,
    metadata_columns: Sequence[str] | None = None,
    metadata_json_column: str | None = None,
    source_column: str | None = None,
    workers: int = 2,
    cpus_per_worker: float = 0.5,
    threads_per_worker: int = 1,
    batch_size: int = DEFAULT_RAY_BATCH,
) -> Counter:
    """Embed a Ray Dataset into ``space``; returns counts (added, updated, unchanged)."""
    encoder = space._require_encoder("adding a dataset")
    columns = list(dataset.columns())
    for name in (text_column, id_column, metadata_json_column, source_column):
        if name is not None and name not in columns:
            raise InvalidInputError(f"the dataset has no column {name!r}; it has {columns}")
    special = {text_column, id_column, metadata_json_column, source_column}
    if metadata_columns is None:
        metadata_columns = [c for c in columns if c not in special]
    if workers < 1 or cpus_per_worker <= 0:
        raise InvalidInputError("workers must be >= 1 and cpus_per_worker > 0")
    ray = require_ray()
    embedded = dataset.map_batches(
        Embedder,
        fn_constructor_kwargs={
            "location": space._reopen,
            "model": getattr(encoder, "name", encoder.model_id),
            "model_id": encoder.model_id,
            "chunk_tokens": space.chunk_tokens,
            "chunk_overlap": space.chunk_overlap,
            "columns": {
                "text_column": text_column,
                "id_column": id_column,
                "metadata_columns": list(metadata_columns),
                "metadata_json_column": metadata_json_column,
                "source_column": source_column,
            },
        },
        batch_size=batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=cpus_per_worker,
        runtime_env={"env_vars": {"EMBEDSPACE_THREADS": str(threads_per_worker)}},
    )
    counts: Counter = Counter()
    seen: set[str] = set()
    for batch in embedded.iter_batches(batch_size=space.batch_size, batch_format="numpy"):
        records, metadata_only = [], {}
        for i, item_id in enumerate(batch["id"]):
            if item_id in seen:
                if id_column is None:  # the same text again: one item, already handled
                    counts["unchanged"] += 1
                    continue
                raise InvalidInputError(f"id {item_id!r} appears twice in column {id_column!r}")
            seen.add(item_id)
            status = batch["status"][i]
            counts["unchanged" if status == "metadata" else status] += 1
            metadata = json.loads(batch["metadata"][i])
            if status == "metadata":
                metadata_only[item_id] = metadata
            elif status in ("added", "updated"):
                vectors = np.frombuffer(batch["vectors"][i], dtype=np.float32).reshape(
                    -1, space.dim
                )
                chunks = [
                    ChunkRecord(a, b, v)
                    for (a, b), v in zip(json.loads(batch["spans"][i]), vectors, strict=True)
                ]
                text, source = batch["text"][i], batch["source"][i] or None
                records.append(
                    ItemRecord(item_id, text, metadata, batch["text_hash"][i], source, chunks)
                )
        if records:
            space._store.upsert(records)
        if metadata_only:
            space._store.update_metadata(metadata_only)
    return counts


def add_items(space, items: Sequence[LoadedItem], address: str | None, **options: Any) -> Counter:
    """Embed already-loaded items (``embedspace add ... --ray``) on Ray: files are read
    here, chunking and encoding run on the cluster."""
    ray = require_ray()
    connect(None if address in (None, "", "local") else address)
    dataset = ray.data.from_items(
        [
            {
                "id": it.id,
                "text": it.text,
                "meta": json.dumps(it.metadata),
                "source": it.source or "",
            }
            for it in items
        ]
    )
    return add_dataset(
        space,
        dataset,
        "text",
        "id",
        metadata_columns=[],
        metadata_json_column="meta",
        source_column="source",
        **options,
    )
