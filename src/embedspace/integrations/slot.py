"""The space behind a framework's vector store.

A store either lets the space embed with its own model (opened at once), or stores
vectors that the framework's embedding model made. A new space of the second kind needs
its dimension, which only the first vectors tell, so it is created on the first add;
until then an empty store answers searches with nothing. One lock keeps two threads
(LangChain's async methods run in an executor) from creating it twice.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from ..encoders.base import Encoder
from ..errors import ItemNotFoundError, NotASpaceError
from ..space import Item, Space


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

    def opened(self) -> Space:
        """The space of a store that embeds with its own model: always opened at once."""
        if self.space is None:
            raise NotASpaceError(f"no space at {self.path} yet: it is created by the first add")
        return self.space

    def for_vectors(self, dim: int) -> Space:
        """The space, created for ``dim``-d vectors if there is none yet."""
        with self._lock:
            if self.space is None:
                self.space = Space(self.path, model=None, dim=dim, progress=False)
            return self.space

    def ids(self, where: dict[str, Any] | None = None) -> list[str]:
        """Ids of the items matching ``where`` (all when None)."""
        return [] if self.space is None else self.space.ids(where)

    def found(self, ids: Iterable[str]) -> list[Item]:
        """The items with these ids that exist, each once, in the order asked: frameworks
        ask for ids that may be gone, where ``Space.items`` would raise."""
        if self.space is None:
            return []
        items = []
        for id_ in dict.fromkeys(ids):
            try:
                items.append(self.space.get(id_))
            except ItemNotFoundError:
                continue
        return items

    def delete(self, ids: Iterable[str]) -> None:
        """Delete these items; ids that are not there are ignored."""
        ids = list(ids)
        if self.space is not None and ids:
            self.space.delete(ids)

    def close(self) -> None:
        """Save the space's index (if any) and close its store."""
        if self.space is not None:
            self.space.close()
