"""``space.map()``: which map a space gets, its sample, and its cached layout.

``method="auto"`` is the neighbour-preserving layout (``layout.py``) when umap-learn is
installed and the space has enough items, else PCA, and the map's ``notice`` (and an
EmbedspaceWarning) says which and why: a fallback is never silent. ``method="pca"`` is
the instant first paint.

A layout costs seconds to minutes, so it is cached in the space folder
(``map-umap.npz`` for the main vector, ``map-umap.<name>.npz`` for a named one: the
model id of the vectors, ids, content hashes, raw coordinates, and which points the
layout itself placed). A layout of another model's vectors (the space was re-embedded)
is never reused. The next map reuses it: items gone are dropped, new or re-embedded items
are placed beside their nearest laid-out items (``layout.place_near``) and the cache is
rewritten (atomically). When fewer than half of the items on the map were laid out by
the layout itself, or on ``relayout=True``, the whole layout runs again.

Past ``MAP_SAMPLE`` items the map shows a sample (the items whose id hashes lowest, so
adding items keeps most of the sample) and says so.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_path
from ..errors import EmbedspaceWarning, InvalidInputError
from .layout import (
    INSTALL_HINT,
    LAYOUT_NEIGHBOURS,
    MIN_LAYOUT_ITEMS,
    NEIGHBOUR_METHOD,
    PLACE_NEIGHBOURS,
    neighbour_layout,
    neighbour_layout_available,
    place_near,
    umap_module,
)
from .neighbours import Searcher, knn_graph
from .projection import SpaceMap, pca_map, scaled

MAP_METHODS = ("auto", "pca", NEIGHBOUR_METHOD)
#: Most items one map lays out and draws (100k: ~1 min of UMAP on 2 cores, and what the
#: explorer draws smoothly); a larger space is shown as a sample of this many.
MAP_SAMPLE = 100_000
#: Below this share of points laid out by the layout itself (the rest placed one by one
#: as they were added), the cached layout is redone.
RELAYOUT_BELOW = 0.5
CACHE_FILE = f"map-{NEIGHBOUR_METHOD}.npz"


def cache_file(vector: str | None) -> str:
    """The layout cache's file name: ``CACHE_FILE`` for the main vector, else one per
    named vector (its name made safe for a file name)."""
    if vector is None:
        return CACHE_FILE
    return f"map-{NEIGHBOUR_METHOD}.{''.join(c if c.isalnum() or c in '-_' else '_' for c in vector)}.npz"


#: ``nearest(vectors) -> ids`` of the stored items nearest each vector, best first.
Nearest = Callable[[np.ndarray], list[list[str]]]


def check_method(method: str) -> str:
    if method not in MAP_METHODS:
        raise InvalidInputError(f"method must be one of {MAP_METHODS}, not {method!r}")
    return method


@dataclass
class MapInput:
    """One consistent snapshot of a space's items: what a map is made of."""

    ids: list[str]
    texts: list[str]
    metadata: list[dict[str, Any]]
    hashes: list[str | None]
    matrix: np.ndarray  # float32 (n, d), unit rows
    generation: int
    #: the model id of ``matrix``: a cached layout of other vectors is not reused
    model_id: str = ""
    #: a named vector's name (its own cache file), None = the main vector
    vector: str | None = None


def make_map(
    items: MapInput,
    method: str = "auto",
    *,
    folder: Path | None = None,
    relayout: bool = False,
    searcher: Searcher | None = None,
    nearest: Nearest | None = None,
) -> SpaceMap:
    """The map of ``items``: PCA or the cached / fresh neighbour layout (see the module
    docstring). ``searcher`` may lend the space's ANN index for the k-NN graph (used only
    when the map is not a sample); ``nearest`` places queries on a neighbour map."""
    method = check_method(method)
    total = len(items.ids)
    notices = []
    if total > MAP_SAMPLE:
        items, searcher = _sample(items, MAP_SAMPLE), None
        notices.append(
            f"a sample: {MAP_SAMPLE:,} of {total:,} items (the map lays out at most {MAP_SAMPLE:,})"
        )
    base = pca_map(items.ids, items.texts, items.metadata, items.matrix, items.generation)
    base.total = total
    fallback = None if method == "pca" else _why_not_neighbours(method, len(items.ids))
    if method == "pca" or fallback:
        if fallback:
            warnings.warn(fallback, EmbedspaceWarning, stacklevel=3)
            notices.append(fallback)
        base.notice = "; ".join(notices) or None
        return base
    raw = _layout_xy(items, folder, relayout, searcher)
    xy, _ = scaled(raw)
    return SpaceMap(
        items.ids,
        items.texts,
        items.metadata,
        xy,
        base.mean,
        base.axes,
        base.scale,
        items.generation,
        method=NEIGHBOUR_METHOD,
        total=total,
        notice="; ".join(notices) or None,
        locator=_locator(items.ids, xy, nearest) if nearest else None,
    )


def _why_not_neighbours(method: str, n: int) -> str | None:
    """Why this map cannot be the neighbour layout (None: it can). Asking for the method
    by name without umap-learn is an error; ``auto`` falls back to PCA and says why."""
    if not neighbour_layout_available():
        if method == NEIGHBOUR_METHOD:
            umap_module()  # raises MissingDependencyError with the install hint
        return f"PCA map: the neighbour-preserving map needs umap-learn ({INSTALL_HINT})"
    if n < MIN_LAYOUT_ITEMS:
        return (
            f"PCA map: {n} items are too few for a neighbour layout (it needs {MIN_LAYOUT_ITEMS})"
        )
    return None


def _sample(items: MapInput, limit: int) -> MapInput:
    """The ``limit`` items whose id hashes lowest, in their original order: the same
    items stay in the sample as others are added."""
    keys = np.array(
        [int.from_bytes(hashlib.blake2b(i.encode(), digest_size=8).digest()) for i in items.ids],
        dtype=np.uint64,
    )
    keep = np.sort(np.argpartition(keys, limit)[:limit])
    return MapInput(
        [items.ids[i] for i in keep],
        [items.texts[i] for i in keep],
        [items.metadata[i] for i in keep],
        [items.hashes[i] for i in keep],
        items.matrix[keep],
        items.generation,
    )


def _locator(
    ids: list[str], xy: np.ndarray, nearest: Nearest
) -> Callable[[np.ndarray], np.ndarray]:
    """Places vectors on a neighbour map: the median of their nearest mapped items."""
    row = {id_: i for i, id_ in enumerate(ids)}

    def locate(vectors: np.ndarray) -> np.ndarray:
        placed = np.zeros((len(vectors), 2), dtype=np.float32)
        for n, found in enumerate(nearest(vectors)):
            rows = [row[i] for i in found if i in row][:PLACE_NEIGHBOURS]
            if rows:
                placed[n] = np.median(xy[rows], axis=0)
        return placed

    return locate


# -- the cached layout -------------------------------------------------------------------
@dataclass
class _Cached:
    ids: list[str]
    hashes: list[str]
    xy: np.ndarray  # float32 (n, 2), raw layout coordinates
    laid_out: np.ndarray  # bool (n,): placed by the layout itself, not beside neighbours
    model_id: str


def _layout_xy(
    items: MapInput, folder: Path | None, relayout: bool, searcher: Searcher | None
) -> np.ndarray:
    path = folder / cache_file(items.vector) if folder is not None else None
    cached = None if relayout or path is None else _load(path, items.model_id)
    hashes = [h or "" for h in items.hashes]
    if cached is not None:
        reused = _reuse(cached, items, hashes)
        if reused is not None:
            if path is not None and reused.ids != cached.ids:
                _save(path, reused)
            return reused.xy
    graph = knn_graph(items.matrix, LAYOUT_NEIGHBOURS - 1, searcher=searcher, description="map")
    fresh = _Cached(
        items.ids,
        hashes,
        neighbour_layout(items.matrix, graph),
        np.ones(len(items.ids), bool),
        items.model_id,
    )
    if path is not None:
        _save(path, fresh)
    return fresh.xy


def _reuse(cached: _Cached, items: MapInput, hashes: list[str]) -> _Cached | None:
    """The cached layout brought up to date with ``items`` (new ones placed near their
    neighbours), or None when too little of it is left to keep."""
    where = {(i, h): n for n, (i, h) in enumerate(zip(cached.ids, cached.hashes, strict=True))}
    old = np.array([where.get(key, -1) for key in zip(items.ids, hashes, strict=True)])
    kept = old >= 0
    laid_out = np.zeros(len(old), dtype=bool)
    laid_out[kept] = cached.laid_out[old[kept]]
    if laid_out.sum() < max(MIN_LAYOUT_ITEMS, RELAYOUT_BELOW * len(old)):
        return None
    xy = np.zeros((len(old), 2), dtype=np.float32)
    xy[kept] = cached.xy[old[kept]]
    if not kept.all():
        xy[~kept] = place_near(items.matrix[kept], xy[kept], items.matrix[~kept])
    return _Cached(items.ids, hashes, xy, laid_out, cached.model_id)


def _load(path: Path, model_id: str) -> _Cached | None:
    """The cached layout, or None when there is none, it cannot be read (it is only a
    cache: a damaged file means a new layout, never an error) or it lays out another
    model's vectors."""
    try:
        with np.load(path, allow_pickle=False) as data:
            cached = _Cached(
                data["ids"].tolist(),
                data["hashes"].tolist(),
                data["xy"],
                data["laid_out"],
                str(data["model_id"]),
            )
    except (OSError, KeyError, ValueError):
        return None
    if cached.model_id != model_id:
        return None
    if not (len(cached.ids) == len(cached.hashes) == len(cached.xy) == len(cached.laid_out)):
        return None
    return cached


def _save(path: Path, cached: _Cached) -> None:
    try:
        with atomic_path(path) as tmp, tmp.open("wb") as f:
            np.savez(
                f,
                ids=np.array(cached.ids, dtype=str),
                hashes=np.array(cached.hashes, dtype=str),
                xy=cached.xy.astype(np.float32),
                laid_out=cached.laid_out,
                model_id=np.array(cached.model_id),
            )
    except OSError as exc:  # a read-only folder: the map is still right, only uncached
        warnings.warn(f"map layout not cached in {path}: {exc}", EmbedspaceWarning, stacklevel=4)
