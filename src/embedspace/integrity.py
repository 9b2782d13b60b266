"""``embedspace check``: is a space whole, and if not, can it be made whole?

A space is a SQLite store (the truth) plus derived files (ANN index files beside it,
thumbnails). The check reads the store in one snapshot (store/audit.py), rebuilds the
chunk table from it and compares: the live search view of an open Space (caught up
incrementally) must equal a table built from scratch, its ANN index must hold exactly
the table's chunks, and every index file on disk must load. Errors mean something is
wrong; notes are expected after a crash and harmless (a stale index file is diffed
against the store when the space opens). ``repair`` rebuilds what is derived; it never
touches items: a stale embedding needs the item added again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import thumbnails
from .atomic import abandoned_temp_files
from .errors import NotSupportedError
from .index.factory import SAVED_KINDS, load_index, make_index
from .index.faiss_base import TornIndexFileError
from .search.chunks import ChunkTable
from .search.view import SearchView
from .store.audit import SHOWN, audit_store
from .store.base import Store
from .store.sqlite import SqliteStore


#: Index kinds that save a file (``index-<kind>.faiss``); the others are rebuilt in memory.
@dataclass
class CheckReport:
    """The outcome of a check: ``ok`` when there are no errors."""

    path: str
    items: int = 0
    chunks: int = 0
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ok": self.ok,
            "items": self.items,
            "chunks": self.chunks,
            "errors": self.errors,
            "notes": self.notes,
            "repaired": self.repaired,
        }


def check_path(path: str | Path, *, repair: bool = False) -> CheckReport:
    """Check the space at ``path`` without loading its model (works for any space)."""
    store = SqliteStore(Path(path), create=False)
    try:
        return check_store(store, Path(path), repair=repair)
    finally:
        store.close()


def check_store(
    store: Store, folder: Path, *, view: SearchView | None = None, repair: bool = False
) -> CheckReport:
    """Check (and with ``repair``, fix the derived files of) one space: an embedded one,
    whose SQLite file and folder are all there is to audit."""
    if not isinstance(store, SqliteStore):
        raise NotSupportedError(
            f"check audits an embedded (folder) space, not a {type(store).__name__}"
        )
    report = _inspect(store, folder, view)
    if repair and (report.errors or report.notes):
        actions = _repair(store, folder, view, report)
        report = _inspect(store, folder, view)
        report.repaired = actions
    return report


def _inspect(store: SqliteStore, folder: Path, view: SearchView | None) -> CheckReport:
    dim = int(store.get_meta("dim") or 0)
    metric = store.get_meta("metric") or "cosine"
    report = CheckReport(str(folder))
    audit = audit_store(store, dim)
    report.items, report.chunks = audit.items, audit.chunks
    report.errors += audit.problems()
    table = _fresh_table(store, dim, metric)
    if view is not None:
        report.errors += _compare_view(store, view, dim, metric)
    for thumb in _missing_thumbnails(folder, audit.thumbnails):
        report.notes.append(f"thumbnail missing: {thumb} (the image is still searchable)")
    unused = thumbnails.unused_files(folder, audit.thumbnails)
    if unused:
        report.notes.append(
            f"{len(unused)} thumbnails no item uses (e.g. {unused[0].name}); repair removes them"
        )
    for path in _index_files(folder):
        problem, stale = _check_index_file(path, table)
        if problem:
            report.errors.append(problem)
        elif stale:
            report.notes.append(stale)
    for tmp in abandoned_temp_files(folder):
        report.notes.append(f"temporary file left by a crashed save: {tmp.name}")
    return report


def _missing_thumbnails(folder: Path, recorded: dict[str, str]) -> list[str]:
    """Recorded thumbnails that are not a file inside the space folder."""
    inside = folder.resolve()
    targets = {thumb: (folder / thumb).resolve() for thumb in recorded}
    return [t for t, p in targets.items() if not (p.is_relative_to(inside) and p.is_file())]


def _fresh_table(store: SqliteStore, dim: int, metric: str) -> ChunkTable:
    table = ChunkTable(dim, metric)
    table.catch_up(store)
    return table


def _compare_view(store: SqliteStore, view: SearchView, dim: int, metric: str) -> list[str]:
    """The incrementally maintained view must equal one built from scratch. Another
    process may write meanwhile, so both are taken at one generation (retried)."""
    for _ in range(5):
        view.refresh()
        generation = store.generation()
        fresh = _fresh_table(store, dim, metric)
        if store.generation() == generation == view.generation:
            break
    else:
        return []  # the space kept changing; nothing can be compared right now
    table, errors = view.table, []
    if not np.array_equal(table.chunk_ids, fresh.chunk_ids):
        missing = np.setdiff1d(fresh.chunk_ids, table.chunk_ids)
        extra = np.setdiff1d(table.chunk_ids, fresh.chunk_ids)
        errors.append(
            f"search view out of step with the store: {len(missing)} chunks missing "
            f"(e.g. {missing[:SHOWN].tolist()}), {len(extra)} extra "
            f"(e.g. {extra[:SHOWN].tolist()})"
        )
        return errors
    if not (
        np.array_equal(table.item_rowids, fresh.item_rowids)
        and np.array_equal(table.starts, fresh.starts)
        and np.array_equal(table.ends, fresh.ends)
    ):
        errors.append("search view maps chunks to the wrong items or spans")
    if not np.allclose(table.matrix, fresh.matrix, atol=1e-6):
        errors.append("search view holds vectors that differ from the stored ones")
    ann = getattr(view, "_ann", None)
    if ann is not None and not np.array_equal(np.sort(ann.labels()), fresh.chunk_ids):
        errors.append(f"the in-memory {ann.kind} index does not hold exactly the stored chunks")
    return errors


def _index_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.glob("index-*.faiss") if p.stem.removeprefix("index-") in SAVED_KINDS
    )


def _check_index_file(path: Path, table: ChunkTable) -> tuple[str | None, str | None]:
    """(error, note): an unloadable file is an error; a stale one, or a pair torn by a
    crash between its two renames (which the checksum catches), only a note: the space
    rebuilds it from the store, the only truth, on open."""
    kind = path.stem.removeprefix("index-")
    try:
        index = load_index(kind, path)
    except TornIndexFileError:
        return None, (
            f"{path.name} was torn by an interrupted save (checksum refused it); "
            "it is rebuilt from the store when the space opens"
        )
    except Exception as exc:  # any other failure to load means the file is damaged
        return (
            f"{path.name} cannot be loaded ({exc}); `embedspace check --repair` rebuilds it",
            None,
        )
    if getattr(index, "dim", table.dim) != table.dim:
        return f"{path.name} holds {index.dim}-d vectors, the space {table.dim}-d", None
    labels = index.labels()
    behind = np.setdiff1d(table.chunk_ids, labels).size
    ahead = np.setdiff1d(labels, table.chunk_ids).size
    if behind or ahead:
        return None, (
            f"{path.name} is behind the store ({behind} chunks to add, {ahead} to drop); "
            "it is caught up when the space opens"
        )
    return None, None


def _repair(
    store: SqliteStore, folder: Path, view: SearchView | None, report: CheckReport
) -> list[str]:
    """Fix what is derived or orphaned; items themselves are never rewritten."""
    actions: list[str] = []
    dim = int(store.get_meta("dim") or 0)
    audit = audit_store(store, dim)
    if audit.orphan_chunks:
        removed = store.delete_chunks(audit.orphan_chunks)
        actions.append(f"deleted {removed} orphan chunk rows")
    for tmp in abandoned_temp_files(folder):
        tmp.unlink(missing_ok=True)
        actions.append(f"removed {tmp.name}")
    unused = thumbnails.unused_files(folder, audit.thumbnails)
    for path in unused:
        path.unlink(missing_ok=True)
    if unused:
        actions.append(f"removed {len(unused)} thumbnails no item uses")
    for thumb in _missing_thumbnails(folder, audit.thumbnails):
        if thumbnails.remake(folder, thumb, audit.thumbnails[thumb]):
            actions.append(f"made {thumb} again from {audit.thumbnails[thumb]}")
    table = _fresh_table(store, dim, store.get_meta("metric") or "cosine")
    for path in _index_files(folder):
        problem, stale = _check_index_file(path, table)
        if problem or stale:
            _rebuild_index_file(path, table)
            actions.append(f"rebuilt {path.name} from the store")
    if view is not None and report.errors:
        view.reset()
        actions.append("rebuilt the in-memory search view")
    return actions


def _rebuild_index_file(path: Path, table: ChunkTable) -> None:
    kind = path.stem.removeprefix("index-")
    try:
        # keep the user's tuning if readable (binary indexes have none)
        params = dict(getattr(load_index(kind, path), "params", {}))
    except Exception:
        params = {}
    params.pop("trained_on", None)
    if not len(table):  # nothing to index: an index file would only mislead
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".json").unlink(missing_ok=True)
        return
    index = make_index(kind, table.dim, table.metric, **params)
    index.add(table.chunk_ids, table.matrix)
    index.save(path)
