"""Maps: how much of each item's neighbourhood a 2-D map keeps, and what it costs.

Quality on three real sets (banking77 train + test, AG News test, the packaged demo
corpus), each embedded with the default model: 10-NN preservation (the share of each
item's 10 nearest neighbours in the full space, exact cosine, that are among its 10
nearest on the map) over every item, and scikit-learn's trustworthiness (k=10) on a
seeded sample of 4,000 items (it needs an n x n distance matrix). Methods: PCA (the
first paint), UMAP over the project's own k-NN graph (``analysis.layout``: what
``space.map()`` runs), and openTSNE (FFT) over the same graph as the peer, when it is
installed (the bench extra).

Time on GloVe word vectors (real, packaged) at 10k and 100k items: the k-NN graph
(exact blocks / FAISS HNSW past 50k, as ``space.map``), the layout, and placing 1,000 new
items beside their neighbours (the incremental update). The first UMAP layout in a
process includes numba's compilation (cold); later ones are warm.
"""

from __future__ import annotations

import csv
import time
import warnings
from pathlib import Path

import numpy as np

from embedspace.analysis.layout import LAYOUT_NEIGHBOURS, neighbour_layout, place_near
from embedspace.analysis.neighbours import knn_graph
from embedspace.analysis.projection import pca_map
from embedspace.encoders.cpu import describe
from embedspace.errors import EmbedspaceWarning

CACHE = Path(".cache/bench")
TRUST_SAMPLE = 4000


def _texts(name: str, root: Path | None) -> list[str] | None:
    """The texts of one quality set, or None when its data is absent."""
    if name == "demo":
        from embedspace.ingest.demo_corpus import demo_corpus

        return [d.text[:1000] for d in demo_corpus()]
    if root is None:
        return None
    if name == "banking77":
        folder = root / "cls" / "banking77"
        files = [folder / "banking77_train.csv", folder / "banking77_test.csv"]
        if not all(f.exists() for f in files):
            return None
        return [r["text"] for f in files for r in csv.DictReader(f.open(encoding="utf-8"))]
    path = root / "cls" / "agnews" / "test.csv"
    if not path.exists():
        return None
    with path.open(encoding="utf-8") as f:
        return [f"{r['title']} {r['description']}" for r in csv.DictReader(f)]


def _vectors(name: str, texts: list[str]) -> np.ndarray:
    """The default model's vectors of ``texts``, cached under .cache/bench."""
    from embedspace.encoders.registry import load_encoder

    cache = CACHE / f"maps_{name}_{len(texts)}.npy"
    if cache.exists():
        return np.load(cache)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmbedspaceWarning)  # long texts are truncated
        vectors = load_encoder("default").encode(texts)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


def _map_neighbours(xy: np.ndarray, k: int) -> np.ndarray:
    import faiss

    points = np.ascontiguousarray(xy, dtype=np.float32)
    index = faiss.IndexFlatL2(2)
    index.add(points)
    _, found = index.search(points, k + 1)
    return found


def preservation(truth: np.ndarray, xy: np.ndarray, k: int = 10) -> float:
    """Mean share of each row's ``truth`` neighbours (self excluded) among its k nearest
    on the map (self excluded wherever it falls: coincident points tie with it)."""
    found = _map_neighbours(xy, k)
    hits = 0
    for i, (want, got) in enumerate(zip(truth[:, :k], found, strict=True)):
        hits += len(set(want.tolist()) & (set(got.tolist()) - {i}))
    return hits / (k * len(truth))


def trust(matrix: np.ndarray, xy: np.ndarray) -> float:
    from sklearn.manifold import trustworthiness

    rng = np.random.default_rng(0)
    rows = rng.choice(len(matrix), min(len(matrix), TRUST_SAMPLE), replace=False)
    return float(trustworthiness(matrix[rows], xy[rows], n_neighbors=10, metric="cosine"))


def _tsne(matrix: np.ndarray, graph_indices: np.ndarray, graph_scores: np.ndarray) -> np.ndarray:
    """openTSNE (FFT gradients, perplexity 15 over the same 45-NN graph), the usual
    250 exaggerated + 500 plain iterations."""
    from openTSNE import TSNEEmbedding, affinity, initialization
    from openTSNE.nearest_neighbors import PrecomputedNeighbors

    distances = np.sqrt(np.maximum(0.0, 2.0 - 2.0 * graph_scores)).astype(np.float64)
    neighbours = PrecomputedNeighbors(graph_indices.astype(np.int64), distances)
    affinities = affinity.PerplexityBasedNN(knn_index=neighbours, perplexity=15, n_jobs=2)
    start = initialization.pca(matrix, random_state=0)
    embedding = TSNEEmbedding(start, affinities, n_jobs=2, random_state=0)
    embedding = embedding.optimize(n_iter=250, exaggeration=12)
    return np.asarray(embedding.optimize(n_iter=500))


def _has_opentsne() -> bool:
    try:
        import openTSNE  # noqa: F401
    except ImportError:
        return False
    return True


def quality(name: str, matrix: np.ndarray) -> list[dict]:
    """Rows of (method, preservation, trustworthiness, seconds) on one set."""
    truth = knn_graph(matrix, 45)  # exact below 50k: the reference neighbourhoods
    rows = []

    def measure(method: str, make: object) -> None:
        started = time.perf_counter()
        xy = make()  # type: ignore[operator]
        seconds = time.perf_counter() - started
        rows.append(
            {
                "set": f"{name} ({len(matrix):,})",
                "method": method,
                "10-NN kept": preservation(truth.indices, xy),
                "trustworthiness": trust(matrix, xy),
                "seconds": seconds,
            }
        )
        print(rows[-1], flush=True)

    measure("PCA", lambda: pca_map([], [], [], matrix, 0).xy)
    graph = knn_graph(matrix, LAYOUT_NEIGHBOURS - 1)
    measure("UMAP (space.map)", lambda: neighbour_layout(matrix, graph))
    if _has_opentsne():
        measure("openTSNE (FFT)", lambda: _tsne(matrix, truth.indices, truth.scores))
    return rows


def glove_sample(n: int) -> np.ndarray:
    from embedspace.encoders.packaged import glove_vectors_file

    vectors = np.load(glove_vectors_file(), mmap_mode="r")[:n].astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def timing(sizes: tuple[int, ...] = (10_000, 100_000)) -> list[dict]:
    """Graph, layout and incremental placement time by size, on GloVe 50d."""
    rows = []
    for n in sizes:
        matrix = glove_sample(n + 1000)
        base, new = matrix[:n], matrix[n:]
        started = time.perf_counter()
        graph = knn_graph(base, LAYOUT_NEIGHBOURS - 1)
        graph_s = time.perf_counter() - started
        started = time.perf_counter()
        xy = neighbour_layout(base, graph)
        layout_s = time.perf_counter() - started
        started = time.perf_counter()
        place_near(base, xy, new)
        place_s = time.perf_counter() - started
        started = time.perf_counter()
        pca_map([], [], [], base, 0)
        pca_s = time.perf_counter() - started
        rows.append(
            {
                "items": f"{n:,}",
                "k-NN graph s": graph_s,
                "UMAP layout s": layout_s,
                "total s": graph_s + layout_s,
                "place 1,000 new s": place_s,
                "PCA s": pca_s,
            }
        )
        print(rows[-1], flush=True)
    return rows


def _table(rows: list[dict]) -> list[str]:
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        cells = [
            f"{v:.3f}"
            if isinstance(v, float) and v < 10
            else f"{v:.1f}"
            if isinstance(v, float)
            else str(v)
            for v in row.values()
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def maps_markdown(root: Path | None) -> str:
    started = time.perf_counter()
    cold = timing((2_000,))[0]["UMAP layout s"]  # the first layout in this process: JIT
    cold_total = time.perf_counter() - started
    quality_rows = []
    for name in ("banking77", "agnews", "demo"):
        texts = _texts(name, root)
        if texts is None:
            print(f"skipping maps on {name}: data not found (set EMBEDSPACE_DATA)", flush=True)
            continue
        quality_rows += quality(name, _vectors(name, texts))
    time_rows = timing()
    ratios = []
    by_set: dict[str, dict[str, float]] = {}
    for r in quality_rows:
        by_set.setdefault(r["set"], {})[r["method"]] = r["10-NN kept"]
    for name, kept in by_set.items():
        ratios.append(f"{name}: {kept['UMAP (space.map)'] / kept['PCA']:.1f}x")
    lines = [
        "### Maps: neighbours kept on the 2-D map (quality), and time on 2 cores",
        "",
        "10-NN kept = share of each item's 10 nearest neighbours (exact cosine, full "
        "space) among its 10 nearest on the map, over every item; trustworthiness "
        f"(scikit-learn, k=10) on a seeded sample of {TRUST_SAMPLE:,}. Vectors: the default model.",
        "",
        *_table(quality_rows),
        "",
        "UMAP keeps " + ", ".join(ratios) + " as many true neighbours as PCA (target >= 3x).",
        "",
        "Time on GloVe 50d word vectors (real, packaged); k-NN graph exact below 50k items, "
        "FAISS HNSW above (as `space.map`); new items placed at the median of their 5 "
        "nearest laid-out items, without a new layout:",
        "",
        *_table(time_rows),
        "",
        f"The first layout in a fresh process (2,000 items) took {cold:.1f} s "
        f"({cold_total:.1f} s with the graph): numba compiles UMAP's kernels once, then "
        "caches them on disk. `import umap` adds ~2 s. A map is cached in the space "
        "(`map-umap.npz`), so a space is laid out once and reopened instantly.",
        "",
        f"CPU: {describe()}. The machine was shared with other jobs while this ran (load "
        "above its 2 cores): absolute seconds are pessimistic, the methods ran one after "
        "another in the same run. Command: `python -m benchmarks.run --only maps`.",
    ]
    return "\n".join(lines)
