"""The named vector sets of one open space: specs, models and search views.

``Space`` keeps one ``NamedVectors``. The specs are read from the store whenever they
matter (a write, a search with ``using=``), never cached, so a set declared or a
re-embed started by another process is honoured at this process's next batch. Models
are loaded once per process; a set's search view is built at its first search and kept
in step with the store like the main view (exact search, no index file: named sets are
the second, rarer way into a space).
"""

from __future__ import annotations

from dataclasses import dataclass

from .encoders.base import Encoder
from .encoders.query_cache import with_query_cache
from .encoders.registry import load_encoder
from .errors import InvalidInputError, ModelMismatchError, NotSupportedError
from .ingest.named import VectorMaker
from .search.engine import SearchEngine
from .search.local import LocalSource
from .search.view import SearchView
from .store.base import NamedVectorStore, Store
from .store.named import PENDING, VectorSpec, read_specs


@dataclass
class NamedSet:
    """A named set ready to search: its spec, its model and its view."""

    name: str
    spec: VectorSpec
    encoder: Encoder
    view: SearchView
    engine: SearchEngine


class NamedVectors:
    def __init__(self, store: Store, location: str, metric: str, chunk_overlap: int) -> None:
        self._store, self._location, self._metric = store, location, metric
        self._chunk_overlap = chunk_overlap
        self._encoders: dict[str, Encoder] = {}
        self._sets: dict[str, NamedSet] = {}

    def specs(self) -> dict[str, VectorSpec]:
        """Every named set, the one a running re-embed builds included."""
        return read_specs(self._store.get_meta)

    def visible(self) -> dict[str, VectorSpec]:
        """The sets a user can name in ``using=``."""
        return {n: s for n, s in self.specs().items() if n != PENDING}

    def store(self) -> NamedVectorStore:
        """The store as one that keeps named sets, or a clear refusal."""
        if not isinstance(self._store, NamedVectorStore):
            raise NotSupportedError(
                f"{self._location} ({self._store.kind}) keeps one vector per chunk only: "
                "named vectors and re-embedding need an embedded (folder) space"
            )
        return self._store

    def encoder(self, name: str, spec: VectorSpec) -> Encoder:
        """The model of a set, loaded once; one that now gives other vectors is refused."""
        encoder = self._encoders.get(spec.model_name)
        if encoder is None:
            # Searches with using= repeat queries too: the process's query cache.
            encoder = self._encoders[spec.model_name] = with_query_cache(
                load_encoder(spec.model_name)
            )
        if encoder.model_id != spec.model_id:
            raise ModelMismatchError(
                f"the vector {name!r} of {self._location} was made by {spec.model_id!r}, but "
                f"{spec.model_name!r} loads {encoder.model_id!r} here; install that model"
            )
        return encoder

    def makers(self) -> dict[str, VectorMaker]:
        """How to embed a written item under every set (writes fill them all)."""
        return {
            name: VectorMaker.for_encoder(self.encoder(name, spec), self._chunk_overlap)
            for name, spec in self.specs().items()
        }

    def resolve(self, using: str | None, main: str) -> NamedSet | None:
        """The set ``using`` names (None: the main vectors), or an error listing them."""
        if using is None or using == main:
            return None
        specs = self.visible()
        spec = specs.get(using) if isinstance(using, str) else None
        if spec is None:
            raise InvalidInputError(
                f"{self._location} has no vector named {using!r}; it has "
                f"{sorted([main, *specs])} (main: {main!r})"
            )
        if not spec.complete:
            raise InvalidInputError(
                f"the vector {using!r} is still being built (add_vector was interrupted?); "
                f"run space.add_vector({using!r}, {spec.model_name!r}) again to finish it"
            )
        held = self._sets.get(using)
        if held is None or held.spec != spec:
            self.store()  # refuse early on a backend without named sets
            view = SearchView(self._store, None, spec.dim, self._metric, "exact", {}, named=using)
            held = self._sets[using] = NamedSet(
                using,
                spec,
                self.encoder(using, spec),
                view,
                SearchEngine(LocalSource(view, self._store)),
            )
        return held

    def forget(self) -> None:
        """Drop every view (the sets changed under them: a re-embed swapped models)."""
        self._sets.clear()
