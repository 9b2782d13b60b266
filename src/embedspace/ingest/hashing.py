"""Content hashes: the embedding cache key.

An item's vectors are valid exactly as long as its text hash and the space's model id are
unchanged; ``add`` and ``sync`` compare hashes to re-embed only what changed.
"""

from __future__ import annotations

import hashlib


def text_hash(text: str) -> str:
    """Stable hash of a text (sha256, hex, 32 chars)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def content_id(text: str) -> str:
    """Default id of an item added without one: derived from its text, so re-running
    the same ``add`` after a crash upserts instead of duplicating."""
    return text_hash(text)[:16]
