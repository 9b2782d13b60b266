"""Checks on what callers pass in, before any work is done.

Every public entry point (``Space``, ``embed``, ``classify``) validates its arguments
here first, so a bad argument fails with a message naming the fix and nothing is ever
half-written. A leaf module: it imports only the errors and numpy, so any layer may use it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import InvalidInputError

#: Longest id a space accepts (ids become keys in every backend).
MAX_ID_LENGTH = 1024


def is_unicode(text: str) -> bool:
    """False for strings holding lone surrogates (e.g. from ``surrogateescape`` decoding):
    they are not Unicode text, cannot be stored as UTF-8 and mean nothing to a tokenizer."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_unicode(values: Sequence[str], what: str) -> None:
    """Refuse strings that no backend could store (see :func:`is_unicode`)."""
    bad = [i for i, v in enumerate(values) if not is_unicode(v)]
    if bad:
        raise InvalidInputError(
            f"{what} at positions {bad[:10]} contain lone surrogate code points (not valid "
            "Unicode); decode your data strictly, or clean it with "
            "s.encode('utf-8', 'replace').decode() - nothing was written"
        )


def as_list(values: Any, what: str) -> list:
    """A sequence argument as a list; a clear error for a scalar or a bare string."""
    if isinstance(values, str | bytes | dict) or not hasattr(values, "__iter__"):
        raise InvalidInputError(f"{what} must be a list, got {type(values).__name__}")
    return list(values)


def check_texts(texts: Sequence[str]) -> list[str]:
    """Texts to embed: a list of non-empty Unicode strings (a bare string is a mistake)."""
    if isinstance(texts, str):
        raise InvalidInputError("pass a list of texts; wrap a single text in [ ]")
    texts = as_list(texts, "texts")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
    if bad:
        shown = ", ".join(map(str, bad[:10])) + (" ..." if len(bad) > 10 else "")
        raise InvalidInputError(
            f"{len(bad)} text(s) are empty, whitespace-only or not strings (positions {shown}); "
            "remove them before adding - nothing was written"
        )
    check_unicode(texts, "texts")
    return texts


def check_query(query: Any) -> str:
    """A search query: a non-empty Unicode string."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidInputError("the query is empty; type some words to search for")
    check_unicode([query], "the query")
    return query


def check_metadata(metadata: Sequence[dict] | None, n: int) -> list[dict[str, Any]]:
    """One JSON-serialisable dict per item (empty ones when None)."""
    if metadata is None:
        return [{} for _ in range(n)]
    metadata = as_list(metadata, "metadata")
    if len(metadata) != n:
        raise InvalidInputError(
            f"got {n} items but {len(metadata)} metadata dicts; pass one per item"
        )
    for i, md in enumerate(metadata):
        if not isinstance(md, dict):
            raise InvalidInputError(f"metadata[{i}] must be a dict, got {type(md).__name__}")
        try:
            json.dumps(md, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"metadata[{i}] is not JSON-serialisable: {exc}") from exc
    return metadata


def lookup_ids(ids: Any) -> list[str]:
    """Ids to look up or delete: one string or a list of them (ints count as their digits)."""
    if isinstance(ids, str):
        ids = [ids]
    ids = [str(i) if isinstance(i, int) else i for i in as_list(ids, "ids")]
    bad = [i for i in ids if not isinstance(i, str)]
    if bad:
        raise InvalidInputError(f"ids must be strings, got {bad[:5]!r}")
    check_unicode(ids, "ids")
    return ids


def check_ids(ids: Sequence[str], n: int) -> list[str]:
    """Ids to write: one per text, non-empty, distinct within the call."""
    ids = [str(i) if isinstance(i, int) else i for i in as_list(ids, "ids")]
    if len(ids) != n:
        raise InvalidInputError(f"got {n} texts but {len(ids)} ids; pass one id per text")
    bad = [i for i in ids if not isinstance(i, str) or not i or len(i) > MAX_ID_LENGTH]
    if bad:
        raise InvalidInputError(
            f"ids must be non-empty strings up to {MAX_ID_LENGTH} characters; bad: {bad[:5]}"
        )
    check_unicode(ids, "ids")
    dupes = [i for i, c in Counter(ids).items() if c > 1]
    if dupes:
        raise InvalidInputError(f"ids repeat within one call: {dupes[:5]}; each id may appear once")
    return ids


def check_k(k: int) -> int:
    """A result count: a positive integer, capped where index libraries' int32 ends."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InvalidInputError(f"k must be a positive integer, got {k!r}")
    return int(min(k, 2**31 - 1))


def check_vectors(vectors: Any, dim: int, metric: str) -> np.ndarray:
    """Vectors for a space of ``dim`` and ``metric``: float32 (n, dim), finite, and with a
    direction when the metric is cosine."""
    try:
        vectors = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"vectors must be numeric: {exc}") from exc
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    if vectors.ndim != 2 or vectors.shape[1] != dim:
        raise InvalidInputError(f"this space holds {dim}-d vectors; got shape {vectors.shape}")
    if not np.isfinite(vectors).all():
        raise InvalidInputError("vectors contain NaN or infinity; clean them before adding")
    if metric == "cosine" and (np.linalg.norm(vectors, axis=1) == 0).any():
        raise InvalidInputError("zero vectors have no direction for cosine similarity")
    return vectors
