"""The space behind a framework's vector store.

A store either lets the space embed with its own model (opened at once), or stores
vectors that the framework's embedding model made. A new space of the second kind needs
its dimension, which only the first vectors tell, so it is created on the first add;
until then an empty store answers searches with nothing. One lock keeps two threads
(LangChain's async methods run in an executor) from creating it twice.
"""

from __future__ import annotations

import threading

from ..encoders.base import Encoder
from ..errors import NotASpaceError
from ..space import Space


class SpaceSlot:
    """The space at ``path``: embedding with ``model``, or (``model=None``) holding
    vectors made elsewhere, opened if it exists and created by ``for_vectors``."""

    def __init__(self, path: str, model: str | Encoder | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.space: Space | None
        if model is not None:
            self.space = Space(path, model=model, progress=False)
            return
        try:
            self.space = Space(path, model=None, progress=False, create=False)
        except NotASpaceError:
            self.space = None

    def for_vectors(self, dim: int) -> Space:
        """The space, created for ``dim``-d vectors if there is none yet."""
        with self._lock:
            if self.space is None:
                self.space = Space(self.path, model=None, dim=dim, progress=False)
            return self.space

    def close(self) -> None:
        """Save the space's index (if any) and close its store."""
        if self.space is not None:
            self.space.close()
