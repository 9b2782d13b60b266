"""SpaceService: one served Space, shared between the server's worker threads.

Every method is blocking and meant to run in a worker thread (never on the event loop).
Reads share a readers-writer lock; a write holds it alone and brings the search view up
to date before releasing it, so readers never rebuild the view concurrently. The map is
cached per store generation. A restore holds the lock alone too, closes the space, swaps
its folder for the verified backup and reopens it: requests waiting meanwhile run on the
restored space. Backups take no lock (the store is copied online), only the admin lock
that keeps one backup, restore or drop at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..analysis.classify import Prediction, zero_shot
from ..analysis.clusters import Cluster, assignments
from ..analysis.compare import REPRESENTATIONS, compare
from ..analysis.duplicates import DuplicateGroup
from ..analysis.mapping import MAP_METHODS, check_method
from ..analysis.outliers import Outlier
from ..analysis.projection import SpaceMap
from ..backup import BackupReport, RestoreReport, restore
from ..encoders.base import Encoder, l2_normalise
from ..encoders.calibration import duplicate_threshold
from ..encoders.image import thumbnail_file
from ..errors import NotSupportedError
from ..ingest.hashing import content_id
from ..search.context import Context
from ..search.results import Hit
from ..space import Item, Space, embed_images
from .errors import ApiError, RequestTooLargeError
from .locks import ReadWriteLock

#: Characters of text one request may have embedded (~500 chunks of the default model).
MAX_REQUEST_CHARS = 500_000


class SpaceService:
    def __init__(self, location: str | Path, *, name: str, max_batch: int = 256) -> None:
        self.location, self.name, self.max_batch = location, name, max_batch
        self._lock = ReadWriteLock()
        # one lock per map method: the instant PCA map never waits for a layout
        self._map_locks = {method: threading.Lock() for method in MAP_METHODS}
        self._cluster_lock = threading.Lock()
        self._admin = threading.Lock()
        self._retired = False
        self._open()

    def _open(self) -> None:
        self.space = Space(self.location, create=False, progress=False)
        self._maps: dict[str, SpaceMap] = {}
        self._clusters: tuple[int, dict[str, int], list[str]] | None = None

    @property
    def model_name(self) -> str:
        """Read from the store each time: a re-embed elsewhere may have changed it."""
        return self.space.model_name or "none"

    @contextmanager
    def _reading(self) -> Iterator[None]:
        with self._lock.reading():
            self._check_live()
            yield

    @contextmanager
    def _writing(self) -> Iterator[None]:
        with self._lock.writing():
            self._check_live()
            yield

    def _check_live(self) -> None:
        if self._retired:  # dropped while this request waited for the lock
            raise ApiError(f"no space named {self.name!r} here", 404, code="space_not_found")

    # -- helpers --------------------------------------------------------------------------
    def check_batch(self, n: int, param: str) -> None:
        if n > self.max_batch:
            raise RequestTooLargeError(
                f"{n} entries in one request; the limit is {self.max_batch}, split the batch",
                param=param,
            )

    @staticmethod
    def check_text_total(texts: Sequence[str], param: str) -> None:
        """One request's texts together: what it may make the model embed (and a write
        hold the space's lock for) is bounded, whatever the batch and body limits allow."""
        total = sum(len(t) for t in texts)
        if total > MAX_REQUEST_CHARS:
            raise RequestTooLargeError(
                f"{total:,} characters of text in one request; the limit is "
                f"{MAX_REQUEST_CHARS:,}, split the batch",
                param=param,
            )

    def encoder(self) -> Encoder:
        if self.space.encoder is None:
            raise ApiError("this space stores your own vectors (no model): it cannot embed text")
        return self.space.encoder

    # -- OpenAI embeddings ---------------------------------------------------------------
    def serves_model(self, name: str) -> bool:
        """A space embeds with its own model only: vectors of another would not fit it."""
        return name in {self.model_name, self.space.model_id, "default"}

    def embed(self, texts: list[str], dimensions: int | None) -> tuple[np.ndarray, int]:
        """Vectors (optionally truncated to ``dimensions`` and re-normalised) and the
        token count by the model's own tokenizer (0 if the encoder cannot tell)."""
        self.check_text_total(texts, "input")
        encoder = self.encoder()
        if dimensions is not None and not 1 <= dimensions <= encoder.dim:
            raise ApiError(
                f"dimensions must be between 1 and {encoder.dim} for this model",
                param="dimensions",
            )
        vectors = encoder.encode(texts, role="document")
        if dimensions is not None and dimensions < encoder.dim:
            vectors = l2_normalise(vectors[:, :dimensions])
        count = getattr(encoder, "count_tokens", None)
        return vectors, (sum(count(texts)) if count else 0)

    # -- reads ----------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        info = self.space.info()
        return {k: info[k] for k in ("items", "model", "dim", "vectors")}

    def search(self, query: str, **options: Any) -> tuple[list[Hit], list[float] | None]:
        with self._reading():
            hits = self.space.search(query, **options)
        position = None
        # the map is drawn from the main vectors: a named vector's query has no place on it
        if options.get("mode", "dense") != "sparse" and options.get("using") is None:
            position = self._position(self.encoder().encode([query], role="query"))
        return hits, position

    def context(self, question: str, **options: Any) -> Context:
        with self._reading():
            return self.space.context(question, **options)

    def _position(self, vector: np.ndarray) -> list[float]:
        """Where a query vector falls on the map the explorer shows: the default map once
        it has been made, the PCA map (instant) until then. Any cached map will do (a few
        writes barely move it), so searches never wait for a 100k-item re-map."""
        space_map = self._maps.get("auto") or self._maps.get("pca") or self.map("pca")
        return space_map.place(vector)[0].round(5).tolist()

    def search_image(
        self, image: Image.Image, k: int, where: dict | None, labels: list[str]
    ) -> tuple[list[Hit], list[Prediction], list[float]]:
        """Items nearest to an image, zero-shot ``labels`` for it, and its map position:
        the image tower runs once for all three."""
        self.check_batch(len(labels), "labels")
        encoder = self.encoder()
        vector = embed_images([image], model=encoder)
        with self._reading():
            hits = self.space.search_vector(vector, k, where)
        predictions = zero_shot(vector, labels, encoder)[0] if labels else []
        return hits, predictions, self._position(vector)

    def similar(self, id: str, k: int, where: dict | None) -> list[Hit]:
        """The k items nearest to a stored item, itself excluded."""
        with self._reading():
            hits = self.space.search_vector(self.space.vectors([id]), k + 1, where)
        return [h for h in hits if h.id != id][:k]

    def get(self, id: str) -> Item:
        with self._reading():
            return self.space.get(id)

    def classify(self, id: str | None, text: str | None, labels: list[str]) -> list[Prediction]:
        """Zero-shot labels for a stored item or a text, always by the explicit form: a
        text is embedded as text even if it names an image file (clients must not make
        the server read its own files), an id only ever names a stored item."""
        if (id is None) == (text is None):
            raise ApiError("give either id (a stored item) or text, not both", param="id")
        if text is not None and not text.strip():
            raise ApiError("text is empty", param="text")
        self.check_batch(len(labels), "labels")
        self.encoder()  # a space without a model answers with the API's own message
        if id is None:
            return self.space.classify(text=text, labels=labels)
        with self._reading():
            return self.space.classify(id=id, labels=labels)

    def compare(self, a: str, b: str) -> dict[str, Any]:
        """``a`` vs ``b`` under each representation of ``es.compare`` (dense = this model),
        and where the two texts fall on the map."""
        encoder = self.encoder()
        scores = compare(a, b, model=encoder)
        vectors = encoder.encode([a, b], role="document")
        return {
            "representations": [
                {"key": r.key, "sees": r.sees, "cosine": scores[r.key]} for r in REPRESENTATIONS
            ],
            "positions": [self._position(v) for v in vectors],
        }

    def map(self, method: str = "auto", *, relayout: bool = False) -> SpaceMap:
        """The 2-D map of every item by ``method`` (``Space.map``), remade only when the
        store has changed (the layout itself is cached in the space and updated there)."""
        with self._map_locks[check_method(method)]:
            with self._reading():
                cached = self._maps.get(method)
                if relayout or cached is None or cached.generation != self.space.generation:
                    self._maps[method] = self.space.map(method, relayout=relayout)
            return self._maps[method]

    def thumbnail(self, name: str) -> Path:
        """The file of thumbnail ``name`` (as the map lists it). Only digest-named JPEGs in
        the space's thumbnails folder qualify: no other path can be asked for."""
        found = thumbnail_file(self.space.path, name) if self.space.path else None
        if found is None:
            raise ApiError(f"no thumbnail {name!r} in this space", 404, param="name")
        return found

    # -- analysis -------------------------------------------------------------------------
    def duplicates(
        self, threshold: float | None, k: int, where: dict | None
    ) -> tuple[float, list[DuplicateGroup]]:
        """Near-duplicate groups and the threshold used (the model's calibrated default
        unless one is given)."""
        if threshold is None:
            threshold = duplicate_threshold(self.space.model_id)
        with self._reading():
            return threshold, self.space.duplicates(threshold, k=k, where=where)

    def clusters(self, **options: Any) -> list[Cluster]:
        with self._reading():
            return self.space.clusters(**options)

    def outliers(self, k: int, by: str, limit: int, where: dict | None) -> list[Outlier]:
        with self._reading():
            return self.space.outliers(k, by=by, limit=limit, where=where)

    def recommend(self, liked: list[str], disliked: list[str], **options: Any) -> list[Hit]:
        """Recommendations; texts among liked/disliked are embedded as text, never opened
        as files."""
        self.check_batch(len(liked) + len(disliked) + len(options.get("exclude", [])), "liked")
        with self._reading():
            return self.space.recommend(liked, disliked, **options)

    def map_clusters(self, space_map: SpaceMap) -> tuple[list[int], list[str]]:
        """Each map point's cluster number (-1 = none) and each cluster's label: k-means
        with the automatic k, cached per store generation like the map."""
        with self._cluster_lock:
            cached = self._clusters
            if cached is None or cached[0] != space_map.generation:
                with self._reading():
                    found = self.space.clusters()
                where = assignments(found)
                cached = (space_map.generation, where, [c.label for c in found])
                self._clusters = cached
        _, where, labels = cached
        return [where.get(id_, -1) for id_ in space_map.ids], labels

    # -- writes ---------------------------------------------------------------------------
    def add(self, items: Sequence[dict[str, Any]]) -> list[str]:
        self.check_batch(len(items), "items")
        texts = [it["text"] for it in items]
        self.check_text_total(texts, "items")
        ids = [it.get("id") or content_id(it["text"]) for it in items]
        given = [it.get("metadata") for it in items]
        metadata = None if all(m is None for m in given) else [m or {} for m in given]
        with self._writing():
            ids = self.space.add(texts, ids=ids, metadata=metadata)
            self.space.refresh()
        return ids

    def update(self, id: str, text: str | None, metadata: dict | None) -> Item:
        with self._writing():
            self.space.update(id, text=text, metadata=metadata)
            self.space.refresh()
            return self.space.get(id)

    def delete(self, ids: list[str]) -> int:
        self.check_batch(len(ids), "ids")
        with self._writing():
            deleted = self.space.delete(ids)
            self.space.refresh()
        return deleted

    # -- admin ---------------------------------------------------------------------------
    def backup(self, destination: Path) -> BackupReport:
        """An online backup: readers and writers carry on while the store is copied."""
        with self._admin:
            return self.space.backup(destination)

    def restore(self, source: Path) -> RestoreReport:
        """Replace the space with the backup in ``source`` (verified and checked first);
        on any failure the space reopens as it was."""
        with self._admin, self._writing():
            folder = self.space.path
            if folder is None:
                raise NotSupportedError(
                    "a remote space is restored by its own database (see docs/reliability.md)"
                )
            self.space.close()
            try:
                return restore(source, folder, force=True)
            finally:
                self._open()

    def retire(self) -> Path | None:
        """Stop serving: wait for requests in flight, close the space, answer 404 to any
        that were waiting. Returns the folder (None for a remote space), for a drop."""
        with self._admin, self._writing():
            self._retired = True
            self.space.close()
            return self.space.path

    def close(self) -> None:
        with self._lock.writing():
            if not self._retired:
                self._retired = True
                self.space.close()
