"""Query vectors kept in memory, so a repeated query is not encoded again.

Why: documents are embedded once, queries all the time, and people repeat them (the same
search from many users, a classifier's labels at every call, a recommendation's
description). A cached vector costs ~1.6 KB; encoding it costs milliseconds. Only the
query role is cached: documents are embedded once anyway, and caching them would fill
the cache with texts never seen again.

Why it changes no answer: an encoder's vector for a text is a function of that text
alone (no batch effects, ``encoders/base.py``), and the key holds everything else a
vector depends on: the model id (weights, pooling, truncation), its recipe (how this CPU
runs it), the role and the text.

One cache per process (``QUERY_CACHE``), shared by every space and thread: a server of
several spaces of one model shares their queries. Bounded in bytes, least recently used
out first. ``$EMBEDSPACE_QUERY_CACHE_MB`` sets its size (default 32; 0 turns it off).
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np

from ..errors import EmbedspaceWarning, InvalidInputError
from .base import Encoder, Role

#: Bytes an entry costs beyond its vector and text: the key tuple and the dict's slot.
ENTRY_OVERHEAD = 200
DEFAULT_MB = 32.0

Key = tuple[str, str, str, str]


@dataclass(frozen=True)
class CacheStats:
    """What ``space.info()["query_cache"]`` and the server's ``/stats`` show."""

    hits: int
    misses: int
    evictions: int
    entries: int
    bytes: int
    max_bytes: int

    @property
    def hit_rate(self) -> float:
        looked_up = self.hits + self.misses
        return self.hits / looked_up if looked_up else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "hits": self.hits,
            "misses": self.misses,
            "hit_rate": round(self.hit_rate, 4),
            "evictions": self.evictions,
            "entries": self.entries,
            "bytes": self.bytes,
            "max_bytes": self.max_bytes,
        }


class QueryCache:
    """A thread-safe LRU of query vectors bounded by ``max_bytes`` (0 = off)."""

    def __init__(self, max_bytes: int) -> None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
            raise InvalidInputError(f"max_bytes must be an integer >= 0, not {max_bytes!r}")
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Key, tuple[np.ndarray, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._bytes = self._hits = self._misses = self._evictions = 0

    def get(self, key: Key) -> np.ndarray | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self._misses += 1
                return None
            self._entries.move_to_end(key)
            self._hits += 1
            return entry[0]

    def put(self, key: Key, vector: np.ndarray) -> None:
        """Keep a copy of ``vector`` (read-only, so no caller can alter a cached one)."""
        vector = np.array(vector, dtype=np.float32)
        vector.flags.writeable = False
        size = vector.nbytes + sys.getsizeof(key[3]) + ENTRY_OVERHEAD
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (vector, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped
                self._evictions += 1

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = self._hits = self._misses = self._evictions = 0

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                self._hits,
                self._misses,
                self._evictions,
                len(self._entries),
                self._bytes,
                self.max_bytes,
            )


def _configured_bytes() -> int:
    """``$EMBEDSPACE_QUERY_CACHE_MB`` in bytes; a value that is not a number warns and
    keeps the default (it is read at import, where raising would break ``import
    embedspace`` itself)."""
    raw = os.environ.get("EMBEDSPACE_QUERY_CACHE_MB", "").strip()
    try:
        megabytes = float(raw) if raw else DEFAULT_MB
    except ValueError:
        warnings.warn(
            f"EMBEDSPACE_QUERY_CACHE_MB must be a number of megabytes (0 = off), not {raw!r}; "
            f"using {DEFAULT_MB:g}",
            EmbedspaceWarning,
            stacklevel=2,
        )
        megabytes = DEFAULT_MB
    return max(0, int(megabytes * 1e6))


#: The process's cache (read from the environment at import).
QUERY_CACHE = QueryCache(_configured_bytes())


class CachedEncoder:
    """An encoder whose query vectors go through a ``QueryCache``; documents, and
    everything else (token spans, limits, images), are the wrapped encoder's own."""

    def __init__(self, base: Encoder, cache: QueryCache = QUERY_CACHE) -> None:
        self.base, self.cache = base, cache
        self.model_id, self.modalities = base.model_id, base.modalities
        self._recipe = str(getattr(base, "recipe", None) or "")

    def __repr__(self) -> str:
        return f"CachedEncoder({self.base!r})"

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.base, attribute)

    @property
    def dim(self) -> int:
        return self.base.dim

    def encode(
        self, items: Sequence[str], role: Role = "document", *, progress: bool = False
    ) -> np.ndarray:
        if role != "query" or self.cache.max_bytes == 0 or isinstance(items, str):
            return self.base.encode(items, role, progress=progress)
        texts = list(items)
        keys = [(self.model_id, self._recipe, role, t) for t in texts]
        found = [self.cache.get(k) for k in keys]
        missing = list(dict.fromkeys(t for t, v in zip(texts, found, strict=True) if v is None))
        fresh = {}
        if missing:
            vectors = self.base.encode(missing, role, progress=progress)
            fresh = dict(zip(missing, vectors, strict=True))
            for text, vector in fresh.items():
                self.cache.put((self.model_id, self._recipe, role, text), vector)
        rows = [v if v is not None else fresh[t] for t, v in zip(texts, found, strict=True)]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if rows:
            out[:] = np.stack(rows)
        return out


@overload
def with_query_cache(encoder: Encoder) -> Encoder: ...
@overload
def with_query_cache(encoder: None) -> None: ...
def with_query_cache(encoder: Encoder | None) -> Encoder | None:
    """``encoder`` behind the process's query cache (``None`` stays ``None``)."""
    if encoder is None or isinstance(encoder, CachedEncoder):
        return encoder
    return CachedEncoder(encoder)
