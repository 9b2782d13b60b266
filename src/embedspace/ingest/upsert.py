"""Write items batch by batch, embedding only what changed.

A batch is one transaction, so a crash loses at most one batch of work and never half of
one; re-running after a crash finds the committed batches unchanged and embeds only the
rest. What changed is decided by a digest (the text's hash for text, the file's bytes
for an image) compared with the one stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..progress import progress_bar
from ..store.base import ChunkRecord, ItemRecord, Store
from .hashing import text_hash
from .loaders import LoadedItem

#: Items per write transaction: a crash loses at most one batch of work, never half of one.
DEFAULT_BATCH = 256


@dataclass
class BatchPlan:
    """What one batch needs: records to embed and write, metadata-only updates, counts."""

    to_embed: list[ItemRecord] = field(default_factory=list)
    metadata_only: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)


def plan_batch(
    store: Store,
    batch: Sequence[LoadedItem],
    digest: Callable[[LoadedItem], str],
    keep_metadata: bool,
) -> BatchPlan:
    """Compare a batch with the stored digests: new and changed items are embedded,
    unchanged ones only get new metadata (unless ``keep_metadata``: then a changed item
    keeps its stored metadata too). A document whose layout changed while its text did
    not (read by a newer loader) is embedded again too: its chunks follow its layout."""
    known = store.hashes([it.id for it in batch])
    layouts = {it.id: it.layout.to_json() if it.layout else None for it in batch}
    relaid = _layout_changed(store, layouts, known, digest, batch)
    plan = BatchPlan()
    for it in batch:
        item_hash = digest(it)
        previous = known.get(it.id)
        if previous is None or previous[0] != item_hash or it.id in relaid:
            plan.counts["updated" if previous else "added"] += 1
            md = previous[1] if (previous and keep_metadata) else it.metadata
            plan.to_embed.append(
                ItemRecord(it.id, it.text, md, item_hash, it.source, layout=layouts[it.id])
            )
        else:
            plan.counts["unchanged"] += 1
            if not keep_metadata and previous[1] != it.metadata:
                plan.metadata_only[it.id] = it.metadata
    return plan


def _layout_changed(
    store: Store,
    layouts: dict[str, dict[str, Any] | None],
    known: dict[str, tuple[str, dict[str, Any]]],
    digest: Callable[[LoadedItem], str],
    batch: Sequence[LoadedItem],
) -> set[str]:
    """Ids of stored, unchanged documents whose layout differs from the stored one (only
    documents with a layout are looked up: plain texts never pay for this)."""
    candidates = [
        it.id
        for it in batch
        if layouts[it.id] is not None and it.id in known and known[it.id][0] == digest(it)
    ]
    if not candidates:
        return set()
    return {rec.id for rec in store.get(candidates) if rec.layout != layouts[rec.id]}


def upsert_items(
    store: Store,
    items: Sequence[LoadedItem],
    embed: Callable[[list[ItemRecord]], None],
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: bool = False,
    keep_metadata: bool = False,
    digest: Callable[[LoadedItem], str] | None = None,
    expect_model: str | None = None,
) -> Counter:
    """Upsert ``items``, one transaction per batch of ``batch_size``; ``embed`` fills in
    the vectors of the records that changed, ``digest`` says when one did (default: the
    text's hash). Returns the counts (added, updated, unchanged). ``expect_model``: each
    batch is refused if the space's model id is no longer that (see ``Store.upsert``)."""
    digest = digest or (lambda item: text_hash(item.text))
    counts: Counter = Counter()
    with progress_bar(len(items), "adding", progress and len(items) > batch_size) as bar:
        for start in range(0, len(items), batch_size):
            batch = items[start : start + batch_size]
            plan = plan_batch(store, batch, digest, keep_metadata)
            if plan.to_embed:
                embed(plan.to_embed)
                store.upsert(plan.to_embed, expect_model)
            if plan.metadata_only:
                store.update_metadata(plan.metadata_only)
            counts.update(plan.counts)
            bar.advance(len(batch))
    return counts


def write_vectors(
    store: Store,
    ids: Sequence[str],
    texts: Sequence[str],
    metadata: Sequence[dict[str, Any]],
    vectors: np.ndarray,
    *,
    batch_size: int = DEFAULT_BATCH,
) -> None:
    """Items whose vectors the caller brings (one chunk each), one transaction per batch.
    Nothing is compared first: the given vectors replace whatever was stored."""
    for start in range(0, len(ids), batch_size):
        stop = start + batch_size
        store.upsert(
            [
                ItemRecord(i, t, m, text_hash(t), None, [ChunkRecord(0, len(t), v)])
                for i, t, m, v in zip(
                    ids[start:stop],
                    texts[start:stop],
                    metadata[start:stop],
                    vectors[start:stop],
                    strict=True,
                )
            ]
        )
