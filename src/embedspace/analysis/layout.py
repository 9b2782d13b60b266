"""Neighbour-preserving 2-D layouts: UMAP over the space's own k-NN graph.

PCA keeps the two directions of largest variance, which in a sentence-embedding space say
little about who is near whom (on banking77 about 3% of each item's 10 nearest neighbours
are still among its 10 nearest on a PCA map). UMAP lays the k-NN graph out instead, so
islands on the map are neighbourhoods in the space (9-25x PCA's 10-NN preservation on
banking77, AG News and the demo corpus). Chosen over openTSNE, which keeps more
neighbours (0.63 vs 0.45 on banking77) but took 7-12x as long on 2 cores (181 s for
13k items, far over the 30 s budget for 10k); figures in docs/benchmarks.md ("Maps").

The graph is the one ``neighbours.knn_graph`` builds (exact blocks, or FAISS HNSW past
50k items), handed to umap-learn as ``precomputed_knn`` so UMAP never builds its own
(pynndescent). umap-learn (numba) is the optional ``map`` extra: importing it costs ~2 s
and its first layout in a process ~10 s of JIT compilation (cached on disk afterwards).

New items are placed without a new layout: at the coordinate-wise median of their
nearest already-laid-out items (the median, not the mean, so an item whose neighbours
straddle two islands lands on one of them rather than in the gap between).
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from types import ModuleType

import numpy as np

from ..errors import MissingDependencyError
from ..index.exact import top_k
from .neighbours import Neighbours

#: The name of the neighbour-preserving method (``space.map(method=...)``).
NEIGHBOUR_METHOD = "umap"
#: Neighbours per item in the layout's graph (UMAP's own default).
LAYOUT_NEIGHBOURS = 15
#: Fewer items than this get a PCA map: UMAP needs a neighbourhood to lay out, and the
#: notice says so.
MIN_LAYOUT_ITEMS = 16
#: Already-placed neighbours whose median places a new item.
PLACE_NEIGHBOURS = 5
#: Query rows per exact block when placing new items (rows x known items scores).
PLACE_BLOCK = 1024

INSTALL_HINT = 'pip install "embedspace[map]" (umap-learn)'


def umap_module() -> ModuleType:
    """umap-learn, or MissingDependencyError naming the extra."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numba / tqdm notices at import
            import umap
    except ImportError as exc:
        raise MissingDependencyError(
            f"the neighbour-preserving map needs umap-learn: {INSTALL_HINT}"
        ) from exc
    return umap


def neighbour_layout_available() -> bool:
    """Whether umap-learn is installed, without importing it: a map read from its cache
    never pays the import (seconds: numba, pynndescent)."""
    return importlib.util.find_spec("umap") is not None


def neighbour_layout(
    matrix: np.ndarray, graph: Neighbours, *, seed: int | None = None
) -> np.ndarray:
    """UMAP coordinates (float32 (n, 2), unscaled) of the unit rows of ``matrix`` from
    their k-NN ``graph`` (self excluded, -1 = missing). ``seed`` makes the layout
    reproducible, at the price of numba's parallel epochs (UMAP runs them on one core)."""
    umap = umap_module()
    n = len(matrix)
    indices = np.hstack([np.arange(n, dtype=np.int64)[:, None], graph.indices])
    # cosine distance; a missing neighbour is "far" (UMAP skips index -1 anyway)
    distances = np.where(graph.indices >= 0, 1.0 - graph.scores, 2.0)
    distances = np.hstack([np.zeros((n, 1)), np.clip(distances, 0.0, 2.0)]).astype(np.float32)
    reducer = umap.UMAP(
        n_neighbors=indices.shape[1],
        metric="cosine",
        precomputed_knn=(indices, distances),
        # PCA start: ~30% faster than the spectral one at 100k, same 10-NN preservation
        init="pca",
        random_state=seed,
        n_jobs=1 if seed is not None else (os.cpu_count() or 1),
        # UMAP's exact small-data path (< 4096 rows) would drop the graph we give it
        force_approximation_algorithm=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs overridden by random_state" and the like
        xy = reducer.fit_transform(matrix)
    xy = np.asarray(xy, dtype=np.float32)
    if not np.isfinite(xy).all():  # pragma: no cover - UMAP on a degenerate graph
        raise ValueError("the layout produced non-finite coordinates")
    return xy


def place_near(
    known_matrix: np.ndarray, known_xy: np.ndarray, new_matrix: np.ndarray
) -> np.ndarray:
    """Coordinates for the rows of ``new_matrix`` on a layout of ``known_matrix`` (whose
    coordinates are ``known_xy``): the median of each one's nearest known rows."""
    placed = np.zeros((len(new_matrix), 2), dtype=np.float32)
    if not len(known_matrix):
        return placed
    for start in range(0, len(new_matrix), PLACE_BLOCK):
        block = new_matrix[start : start + PLACE_BLOCK]
        nearest, _ = top_k(block @ known_matrix.T, PLACE_NEIGHBOURS)
        placed[start : start + len(block)] = np.median(known_xy[nearest], axis=1)
    return placed
