"""Re-embed a space with another model while it keeps serving, and build named sets.

``build`` fills a named vector set for every stored item, batch by batch: each batch is
one transaction of the new vectors only, so searches and writes go on against the main
vectors meanwhile, and a run killed at any point has lost at most the batch it was
embedding. What is done is read back from the store (the items holding vectors under
the set), so a re-run resumes where the last committed batch left off and never embeds
a finished batch again. Items written meanwhile are embedded under the set by their
writer (``Space._upsert`` embeds every set the store lists); an item whose text changed
after this job read it is skipped by ``put_named`` and left to its writer.

``reembed`` builds the set ``PENDING`` with the new model, then ``promote_named`` swaps
it in as the main vectors in one transaction (refused, and the loop goes on, while any
item still lacks it). One re-embed at a time: the store's ``job_lock`` (a file lock in
the space folder, a Postgres session lock), which is released when its holder dies, so a
``kill -9`` never leaves a stale lock.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from .encoders.base import Encoder
from .errors import InvalidInputError
from .ingest.named import VectorMaker
from .progress import progress_bar
from .store.base import NamedVectorStore, Store
from .store.named import PENDING, VectorSpec, read_specs, specs_meta

#: The meta key describing a re-embed under way (JSON), "" when none is.
STATE_KEY = "reembed"
#: The name of the job lock a re-embed holds (``NamedVectorStore.job_lock``).
JOB = "re-embed"


@dataclass
class ReembedReport:
    """What a re-embed did: ``reembedded`` items embedded by this run, ``resumed`` ones
    a killed earlier run had finished."""

    model: str
    model_id: str
    dim: int
    items: int
    reembedded: int
    resumed: int
    previous_model: str
    kept_old: str | None
    #: an interrupted re-embed to another model whose vectors were dropped first
    discarded: str | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def state(store: Store) -> dict[str, Any] | None:
    """The re-embed recorded in the store (running or interrupted), or None."""
    raw = store.get_meta(STATE_KEY)
    return json.loads(raw) if raw else None


def build(
    store: Store,
    named: NamedVectorStore,
    name: str,
    maker: VectorMaker,
    *,
    batch_size: int,
    progress: bool,
    description: str,
) -> tuple[int, int]:
    """Embed every item lacking vectors under ``name``; returns (embedded now, found
    done). Loops until a scan finds nothing missing: items written meanwhile without the
    set (by a writer that read the specs before the set existed) are caught there."""
    embedded = 0
    resumed: int | None = None
    while True:
        done = named.named_ids(name)
        todo = [i for i in store.ids() if i not in done]
        if resumed is None:
            resumed = len(done)
        if not todo:
            return embedded, resumed
        total = len(done) + len(todo)
        with progress_bar(total, description, progress) as bar:
            bar.advance(len(done))
            for start in range(0, len(todo), batch_size):
                records = store.get(todo[start : start + batch_size])
                for rec, chunks in zip(records, maker.chunks(records), strict=True):
                    rec.named[name] = chunks
                embedded += named.put_named(name, records)
                bar.advance(len(todo[start : start + batch_size]))


def plan_names(
    old_main: str, new_name: str, keep_old: bool, taken: dict[str, VectorSpec]
) -> tuple[str, str | None]:
    """(the new main vector's name, the kept old set's name or None); refused before
    any write when either would take a name the space already uses."""
    kept = (old_main if new_name != old_main else f"{old_main}-old") if keep_old else None
    for wanted in (new_name, kept):
        if wanted is not None and wanted in taken:
            raise InvalidInputError(
                f"the space already has a vector named {wanted!r}; re-embedding would "
                f"replace it. Drop it first (space.drop_vector({wanted!r}))"
            )
    return new_name, kept


def start(store: Store, named: NamedVectorStore, encoder: Encoder, keep_old: bool) -> str | None:
    """Record the re-embed and its pending set (every writer from now on embeds it);
    returns the model of an interrupted re-embed to another model, whose set is dropped."""
    previous = state(store)
    discarded = None
    if previous is not None and previous["model_id"] != encoder.model_id:
        named.drop_named(PENDING)
        discarded = str(previous["model"])
    specs = read_specs(store.get_meta)
    specs[PENDING] = VectorSpec(
        getattr(encoder, "name", encoder.model_id), encoder.model_id, encoder.dim, False
    )
    record = {
        "model": specs[PENDING].model_name,
        "model_id": encoder.model_id,
        "dim": encoder.dim,
        "keep_old": keep_old,
        "started": (previous or {}).get("started", time.time()),
    }
    store.set_meta({STATE_KEY: json.dumps(record), **specs_meta(specs)})
    return discarded
