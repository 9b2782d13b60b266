"""Distributed ingest with Ray Data: chunk and embed on a cluster, write in batches.

``space.add_dataset(ray_dataset, text_column="text")`` runs a pool of Ray actors, each
holding one copy of the space's model, over the dataset's batches (``map_batches``). An
actor first asks the space's store which rows it already holds with the same content
hash and embeds only the others, so re-running an ingest that died half-way embeds only
what is missing (the same rule as ``Space.add``, ``ingest.upsert.plan_batch``). The
driver receives the vectors and hands each batch to the space's own upsert, which counts
and writes it in one transaction (a crash keeps whole batches only); the workers'
vectors stand in for its embedding step.

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
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidInputError, MissingDependencyError, ModelMismatchError
from ..store.base import ChunkRecord, ItemRecord
from .hashing import content_id, text_hash
from .layout import Layout
from .loaders import LoadedItem
from .upsert import plan_batch

if TYPE_CHECKING:
    from ray.data import Dataset

    from ..space import Space

#: Rows per Ray batch handed to one actor call.
DEFAULT_RAY_BATCH = 128


def require_ray() -> ModuleType:
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
        """The batch's rows, with chunks and vectors for those the store does not hold
        with the same text (decided as ``Space.add`` decides, by ``plan_batch``)."""
        from .embedding import embed_records

        items = _items(batch, **self.columns)
        changed = plan_batch(self.store, items, _text_digest, keep_metadata=False).to_embed
        if changed:
            embed_records(self.encoder, changed, self.chunk_tokens, self.chunk_overlap)
        chunks = {rec.id: rec.chunks for rec in changed}
        return {
            "id": np.array([it.id for it in items], dtype=object),
            "text": np.array([it.text for it in items], dtype=object),
            "metadata": np.array([json.dumps(it.metadata) for it in items], dtype=object),
            "source": np.array([it.source or "" for it in items], dtype=object),
            "layout": np.array([_layout_json(it.layout) for it in items], dtype=object),
            "spans": np.array(
                [json.dumps([[c.start, c.end] for c in chunks.get(it.id, [])]) for it in items],
                dtype=object,
            ),
            "vectors": np.array(
                [
                    np.stack([c.vector for c in chunks[it.id]]).tobytes()
                    if chunks.get(it.id)
                    else b""
                    for it in items
                ],
                dtype=object,
            ),
        }


def _text_digest(item: LoadedItem) -> str:
    return text_hash(item.text)


def _layout_json(layout: Layout | None) -> str:
    """A document's layout through a Ray batch column ("" for none)."""
    return json.dumps(layout.to_json()) if layout else ""


def _layout_of(value: Any) -> Layout | None:
    return Layout.from_json(json.loads(value)) if value else None


def _plain(value: Any) -> Any:
    """numpy scalars and arrays from a Ray batch -> JSON-ready Python values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _items(
    batch: dict[str, np.ndarray],
    text_column: str,
    id_column: str | None,
    metadata_columns: Sequence[str],
    metadata_json_column: str | None,
    source_column: str | None,
    layout_column: str | None = None,
) -> list[LoadedItem]:
    texts = batch[text_column]
    items = []
    for i, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise InvalidInputError(f"row with an empty or non-text {text_column!r}: {text!r}")
        item_id = str(_plain(batch[id_column][i])) if id_column else content_id(text)
        metadata = {c: _plain(batch[c][i]) for c in metadata_columns}
        if metadata_json_column:
            metadata.update(json.loads(batch[metadata_json_column][i]))
        source = str(batch[source_column][i]) or None if source_column else None
        layout = _layout_of(batch[layout_column][i]) if layout_column else None
        items.append(LoadedItem(item_id, text, metadata, source, layout))
    return items


def add_dataset(
    space: Space,
    dataset: Dataset,
    text_column: str,
    id_column: str | None = None,
    *,
    metadata_columns: Sequence[str] | None = None,
    metadata_json_column: str | None = None,
    source_column: str | None = None,
    layout_column: str | None = None,
    workers: int = 2,
    cpus_per_worker: float = 0.5,
    threads_per_worker: int = 1,
    batch_size: int = DEFAULT_RAY_BATCH,
) -> Counter:
    """Embed a Ray Dataset into ``space``; returns counts (added, updated, unchanged).
    ``layout_column`` holds documents' layouts as JSON (how ``add_items`` ships files)."""
    encoder = space._require_encoder("adding a dataset")
    columns = list(dataset.columns())
    for name in (text_column, id_column, metadata_json_column, source_column, layout_column):
        if name is not None and name not in columns:
            raise InvalidInputError(f"the dataset has no column {name!r}; it has {columns}")
    special = {text_column, id_column, metadata_json_column, source_column, layout_column}
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
                "layout_column": layout_column,
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
        items, shipped = [], {}
        for i, item_id in enumerate(batch["id"]):
            if item_id in seen:
                if id_column is None:  # the same text again: one item, already handled
                    counts["unchanged"] += 1
                    continue
                raise InvalidInputError(f"id {item_id!r} appears twice in column {id_column!r}")
            seen.add(item_id)
            metadata = json.loads(batch["metadata"][i])
            items.append(
                LoadedItem(
                    item_id,
                    batch["text"][i],
                    metadata,
                    batch["source"][i] or None,
                    _layout_of(batch["layout"][i]),
                )
            )
            if batch["vectors"][i]:
                vectors = np.frombuffer(batch["vectors"][i], dtype=np.float32).reshape(
                    -1, space.dim
                )
                shipped[item_id] = [
                    ChunkRecord(a, b, v)
                    for (a, b), v in zip(json.loads(batch["spans"][i]), vectors, strict=True)
                ]
        counts += space._upsert(items, embed=_workers_vectors(shipped, space))
    return counts


def _workers_vectors(
    shipped: dict[str, list[ChunkRecord]], space: Any
) -> Callable[[list[ItemRecord]], None]:
    """The ``embed`` step of the space's upsert: the chunks the workers embedded; a record
    that changed after its worker looked (so none were shipped) is embedded here."""
    from .embedding import embed_records

    def fill(records: list[ItemRecord]) -> None:
        missing = [rec for rec in records if rec.id not in shipped]
        for rec in records:
            rec.chunks = shipped.get(rec.id, rec.chunks)
        if missing:
            embed_records(space.encoder, missing, space.chunk_tokens, space.chunk_overlap)

    return fill


def add_items(
    space: Space, items: Sequence[LoadedItem], address: str | None, **options: Any
) -> Counter:
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
                "layout": _layout_json(it.layout),
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
        layout_column="layout",
        **options,
    )
