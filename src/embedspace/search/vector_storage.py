"""Where the search view keeps its (n, d) float32 chunk matrix: in RAM or in a file.

``RamVectors`` is a column-major numpy buffer (fastest; needs n x d x 4 bytes of memory
plus up to a quarter of growth room).
``MappedVectors`` keeps the rows in a private file in the space folder and hands out a
read-only ``np.memmap`` of it: the operating system pages rows in as searches touch them
and can drop them again under memory pressure, so a space whose vectors exceed the RAM
still opens and searches (exact search streams the file; speed is then disk speed).
The file is a cache derived from the store: it is filled from the store when a space
opens, page by page, so building it never holds the whole matrix in memory either.
Both expose the same three operations the chunk table needs.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np

VECTOR_STORAGE = ("ram", "mmap")
#: Rows copied at a time when compacting the file (bounded memory: ~15 MB at 384-d).
_COPY_ROWS = 10_000


class RamVectors:
    """Rows in one growing float32 buffer, handed out as an (n, dim) view; column-major
    while the view searches exactly, row-major once it holds an ANN index (``arrange``).

    Why column-major for exact search: one query's exact search is a matrix-vector
    product, and OpenBLAS streams a column-major matrix (its gemv_n kernel) at ~0.9 of
    this machine's memory bandwidth but a row-major one (gemv_t) at ~0.6 (measured on
    100k x 384, 2 cores). Why row-major beside an ANN index: then no search scans the
    whole matrix; they gather rows (a filter's subset, the candidates to rescore), and a
    row-major row is one contiguous read while a column-major one touches a cache line
    (and at 1M rows a page) per dimension: 10k of 1M rows gather in ~4 ms instead of
    ~27 ms. Callers that pick rows go through ``index.exact.similarity_of_rows``, which
    scans a column-major matrix instead when that is cheaper. Capacity grows by a quarter
    at a time: appends cost amortised O(1) per row and at most a quarter of the buffer is
    slack. Views handed out earlier stay valid: appends only write rows past them, and
    ``keep`` and ``arrange`` move to a new buffer.
    """

    GROWTH = 1.25
    MIN_CAPACITY = 1024

    def __init__(self, dim: int) -> None:
        self._order: Literal["C", "F"] = "F"
        self._buffer = np.empty((0, dim), dtype=np.float32, order="F")
        self._rows = 0

    @property
    def array(self) -> np.ndarray:
        return self._buffer[: self._rows]

    @property
    def row_major(self) -> bool:
        return self._order == "C"

    def _moved(self, rows: np.ndarray, capacity: int) -> None:
        """Copy ``rows`` into a fresh buffer of ``capacity`` rows in the current order."""
        fresh = np.empty((capacity, self._buffer.shape[1]), dtype=np.float32, order=self._order)
        fresh[: len(rows)] = rows
        self._buffer, self._rows = fresh, len(rows)

    def append(self, vectors: np.ndarray) -> np.ndarray:
        needed = self._rows + len(vectors)
        capacity = len(self._buffer)
        if needed > capacity:
            grown = max(needed, int(capacity * self.GROWTH), self.MIN_CAPACITY)
            self._moved(self.array, grown)
        self._buffer[self._rows : needed] = vectors
        self._rows = needed
        return self.array

    def keep(self, mask: np.ndarray) -> np.ndarray:
        kept = int(np.count_nonzero(mask))
        fresh = np.empty((kept, self._buffer.shape[1]), dtype=np.float32, order=self._order)
        np.compress(mask, self.array, axis=0, out=fresh)  # one copy, in the kept layout
        self._buffer, self._rows = fresh, kept
        return self.array

    def arrange(self, row_major: bool) -> np.ndarray:
        """Lay the rows out row- or column-major (one copy when the layout changes)."""
        order: Literal["C", "F"] = "C" if row_major else "F"
        if order != self._order:
            old, self._order = self.array, order
            self._moved(old, len(old))
        return self.array


class MappedVectors:
    """Rows appended to a private file and memory-mapped read-only.

    The file lives in the space folder (the disk the user chose for the space) but is
    unlinked as soon as it is created: only this process can see it, two processes
    never write into each other's, and it disappears when the process ends, even after
    ``kill -9``. Deletions compact it into a fresh file, copied in pages.
    """

    def __init__(self, folder: Path, dim: int) -> None:
        self.folder, self.dim = Path(folder), dim
        self._file = self._private_file()
        self.array = self._map()

    def _private_file(self) -> BinaryIO:
        fd, name = tempfile.mkstemp(dir=self.folder, prefix=".vectors-", suffix=".f32")
        os.unlink(name)
        return os.fdopen(fd, "w+b")

    def _map(self) -> np.ndarray:
        rows = os.fstat(self._file.fileno()).st_size // (4 * self.dim)
        if rows == 0:
            return np.empty((0, self.dim), dtype=np.float32)
        return np.memmap(self._file, dtype=np.float32, mode="r", shape=(rows, self.dim))

    def append(self, vectors: np.ndarray) -> np.ndarray:
        self._file.seek(0, os.SEEK_END)
        self._file.write(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
        self._file.flush()
        self.array = self._map()
        return self.array

    def arrange(self, row_major: bool) -> np.ndarray:
        """Rows in a file are row-major whatever the index: nothing to do."""
        return self.array

    def keep(self, mask: np.ndarray) -> np.ndarray:
        source, fresh = self.array, self._private_file()
        for start in range(0, len(source), _COPY_ROWS):
            rows = source[start : start + _COPY_ROWS][mask[start : start + _COPY_ROWS]]
            fresh.write(np.ascontiguousarray(rows).tobytes())
        fresh.flush()
        self._file.close()  # arrays still mapped from it stay valid until dropped
        self._file = fresh
        self.array = self._map()
        return self.array


def make_storage(kind: str, folder: Path | None, dim: int) -> RamVectors | MappedVectors:
    if kind == "mmap":
        if folder is None:
            raise ValueError("memory-mapped vectors need the space folder")
        return MappedVectors(Path(folder), dim)
    return RamVectors(dim)
