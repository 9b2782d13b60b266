"""The pre-computed vectors of the 100k and 1M runs, made once and fed to every tool.

At a million texts, embedding inside each tool would time five encoders (hours of fp32
on two cores) instead of five stores, so the corpus (``corpus.large_corpus``), the
queries and the write workload's texts are embedded once, by embedspace's default model
(int8 all-MiniLM-L6-v2), and every tool is handed the same float32 unit vectors. The
files live under ``.cache/bench/peers/vectors-<key>/`` (1.5 GB at 1M; never committed);
the encoding resumes where a killed run stopped. The exact top-k of every query, over
the first ``size`` documents and over the filter's 1%, is what each tool's answers are
scored against (recall@k).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.peers import corpus

#: documents embedded per step (and per resume checkpoint)
STEP = 20_000
DIM = 384


@dataclass(frozen=True)
class VectorFiles:
    """Where one pre-computed corpus lives; ``data.json`` holds ids, texts, write texts."""

    folder: Path

    @property
    def docs(self) -> Path:
        return self.folder / "docs.npy"

    @property
    def queries(self) -> Path:
        return self.folder / "queries.npy"

    @property
    def writes(self) -> Path:
        return self.folder / "writes.npy"

    @property
    def data(self) -> Path:
        return self.folder / "data.json"

    @property
    def progress(self) -> Path:
        return self.folder / "encoded-rows.txt"

    def rows_done(self) -> int:
        return int(self.progress.read_text()) if self.progress.is_file() else 0


def prepared(big: corpus.LargeCorpus, root: Path, model: str = "default") -> VectorFiles:
    """The vector files of ``big`` under ``root``, encoding what is not there yet."""
    key = hashlib.sha256(json.dumps([model, big.ids, big.queries]).encode()).hexdigest()[:12]
    files = VectorFiles(root / f"vectors-{key}")
    files.folder.mkdir(parents=True, exist_ok=True)
    with (files.folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second run waits instead of writing too
        _encode_missing(big, files, model)
    return files


def _encode_missing(big: corpus.LargeCorpus, files: VectorFiles, model: str) -> None:
    from embedspace.encoders.registry import load_encoder
    from embedspace.progress import progress_bar

    total = len(big.texts)
    if files.rows_done() >= total and files.data.is_file():
        return
    encoder = load_encoder(model)
    if not files.data.is_file():
        np.save(files.queries, _unit(encoder.encode(big.queries, role="query")))
        np.save(files.writes, _unit(encoder.encode(big.held_texts)))
        if not files.docs.is_file():
            np.lib.format.open_memmap(files.docs, mode="w+", dtype=np.float32, shape=(total, DIM))
    docs = np.lib.format.open_memmap(files.docs, mode="r+")
    done = files.rows_done()
    with progress_bar(total, "pre-computing vectors") as bar:
        bar.advance(done)
        for start in range(done, total, STEP):
            end = min(total, start + STEP)
            docs[start:end] = _unit(encoder.encode(big.texts[start:end]))
            docs.flush()
            files.progress.write_text(str(end))
            bar.advance(end - start)
    del docs
    tmp = files.data.with_suffix(".tmp")
    tmp.write_text(json.dumps({"ids": big.ids, "texts": big.texts, "write_texts": big.held_texts}))
    tmp.replace(files.data)


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def exact_top_k(files: VectorFiles, size: int, k: int, rows: np.ndarray | None = None,
                chunk: int = 200_000) -> np.ndarray:  # fmt: skip
    """Row numbers of every query's k nearest documents among the first ``size`` (or
    among ``rows``), by exact inner product of the unit vectors, best first."""
    docs = np.load(files.docs, mmap_mode="r")
    queries = np.load(files.queries)
    candidates = np.arange(size) if rows is None else rows
    best_scores = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_rows = np.zeros((len(queries), 0), dtype=np.int64)
    for start in range(0, len(candidates), chunk):
        part = candidates[start : start + chunk]
        scores = queries @ np.asarray(docs[part]).T
        best_scores = np.hstack([best_scores, scores])
        best_rows = np.hstack([best_rows, np.broadcast_to(part, scores.shape)])
        keep = np.argsort(-best_scores, axis=1)[:, :k]
        best_scores = np.take_along_axis(best_scores, keep, axis=1)
        best_rows = np.take_along_axis(best_rows, keep, axis=1)
    return best_rows


def recall_at_k(found: list[list[str]], truth: list[list[str]]) -> float:
    """Mean share of each query's true top-k that the tool returned (in any order)."""
    shares = [len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True) if t]
    return float(np.mean(shares)) if shares else 0.0
