"""Copy a space between backends without re-embedding: ``embedspace migrate SRC DST``.

Items, metadata, content hashes, chunk spans and vectors are copied store to store, and
the destination records the source's model id, so it opens with the same model and
refuses another. Copies go in batches, one transaction each, and an item already in the
destination with the same hash, metadata and chunk count is skipped: an interrupted
migration is resumed by running it again. At the end the counts must match and a few
stored vectors are searched on both sides: each must find its own item in both.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BackendError, EmbedspaceError, InvalidInputError, ModelMismatchError
from .progress import progress_bar
from .reembed import STATE_KEY as REEMBED_STATE
from .store.base import Store
from .store.factory import open_backend
from .store.named import VECTORS_KEY

#: What a space's identity is made of; copied so the destination opens like the source
#: (its named vectors' specs and the main vector's name included).
MODEL_KEYS = (
    "model_id",
    "model_name",
    "dim",
    "metric",
    "image_model_id",
    "vector_name",
    VECTORS_KEY,
)


@dataclass
class MigrationReport:
    source: str
    destination: str
    items: int = 0
    chunks: int = 0
    copied: int = 0
    skipped: int = 0
    spot_checks: int = 0
    spot_check_note: str = ""
    seconds: float = 0.0
    samples: list[tuple[str, np.ndarray]] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "samples"}


def migrate(
    source: str | Path,
    destination: str | Path,
    *,
    batch_size: int = 500,
    spot_checks: int = 5,
    progress: bool = True,
) -> MigrationReport:
    """Copy the space at ``source`` to ``destination`` (a folder or a URI) and verify it."""
    if batch_size < 1:
        raise InvalidInputError("batch_size must be a positive integer")
    started = time.perf_counter()
    src = open_backend(source, create=False, index="auto", index_params={}).store
    dst = open_backend(destination, create=True, index="auto", index_params={}).store
    report = MigrationReport(src.location, dst.location)
    try:
        _copy_model(src, dst)
        total = src.count()
        every = max(1, total // max(spot_checks, 1))
        seen = 0
        with progress_bar(total, "migrating", progress) as bar:
            for batch in src.records(batch_size):
                known = dst.hashes([r.id for r in batch])
                # every backend writes an item and its chunks in one transaction, so an
                # item present with the same hash and metadata is complete
                todo = [r for r in batch if known.get(r.id) != (r.text_hash, r.metadata)]
                if todo:
                    dst.upsert(todo)
                for rec in batch:
                    if spot_checks and seen % every == 0 and rec.chunks:
                        report.samples.append((rec.id, np.asarray(rec.chunks[0].vector)))
                    seen += 1
                report.copied += len(todo)
                report.skipped += len(batch) - len(todo)
                bar.advance(len(batch))
        report.items, report.chunks = dst.count(), dst.chunk_count()
        if report.items != total or report.chunks != src.chunk_count():
            raise BackendError(
                f"after copying, {dst.location} holds {report.items} items and {report.chunks} "
                f"chunks but {src.location} holds {total} and {src.chunk_count()}; the "
                "destination held other items already: migrate into an empty space"
            )
    finally:
        src.close()
        dst.close()
    _spot_check(report, source, destination, spot_checks)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _copy_model(src: Store, dst: Store) -> None:
    if src.get_meta(REEMBED_STATE):
        raise InvalidInputError(
            f"{src.location} is being re-embedded (or a re-embed was interrupted): run "
            "the re-embed to its end first, then migrate the space"
        )
    meta = {k: v for k in MODEL_KEYS if (v := src.get_meta(k)) is not None}
    if "dim" not in meta:
        raise InvalidInputError(f"{src.location} is empty: it has no model or dimension yet")
    if dst.get_meta("dim") is None:
        dst.set_meta(meta)
        return
    for key in ("model_id", "dim", "metric"):
        if dst.get_meta(key) != meta.get(key):
            raise ModelMismatchError(
                f"{dst.location} already holds a space with {key}={dst.get_meta(key)!r}, not "
                f"{meta.get(key)!r}; migrate into a new, empty location"
            )


def _spot_check(
    report: MigrationReport, source: str | Path, destination: str | Path, wanted: int
) -> None:
    """Search a few stored vectors on both sides: each must find its own item."""
    from .space import Space

    if not wanted or not report.samples:
        return
    try:
        src = Space(source, progress=False, create=False)
        dst = Space(destination, progress=False, create=False)
    except EmbedspaceError as exc:  # e.g. the model is not installed here
        report.spot_check_note = f"searches not checked: {exc}"
        return
    with src, dst:
        for item_id, vector in report.samples[:wanted]:
            want = [h.id for h in src.search_vector(vector, k=5)]
            got = [h.id for h in dst.search_vector(vector, k=5)]
            if item_id not in got or item_id not in want:
                raise BackendError(
                    f"spot check failed: the vector of {item_id!r} finds {got} in "
                    f"{report.destination} and {want} in {report.source}"
                )
            report.spot_checks += 1
