"""Space: the one facade over encoder + store + index + search.

A space is a folder on disk, or a collection in PostgreSQL or Milvus named by a URI
(``store/factory.py``). ``Space(path)`` creates it or reopens it; it remembers its
model, dimension and metric, refuses to mix vectors from another model, and keeps an
in-memory view (vectors grouped by item, keyword index) that it refreshes whenever any
process commits a write (the store's generation counter changes).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .analysis.classify import Prediction, check_labels, classify_subject, zero_shot
from .analysis.clusters import Cluster, build_clusters, cluster_labels
from .analysis.duplicates import DEFAULT_K as DUPLICATE_K
from .analysis.duplicates import DuplicateGroup, check_threshold, find_duplicates
from .analysis.items import ItemSet, mean_item_vectors
from .analysis.mapping import MapInput, check_method, make_map
from .analysis.neighbours import Searcher, knn_graph
from .analysis.outliers import SCORES as OUTLIER_SCORES
from .analysis.outliers import Outlier, outlier_scores
from .analysis.projection import MAP_TEXT_CHARS, SpaceMap
from .analysis.recommend import check_diversity, mmr, profile_vector
from .backup import BackupReport
from .backup import backup as take_backup
from .encoders.base import Encoder, Role, check_role, l2_normalise
from .encoders.calibration import duplicate_threshold
from .encoders.image import IMAGE_SUFFIXES, ImageEncoder, ImageLike
from .encoders.query_cache import QUERY_CACHE, with_query_cache
from .encoders.registry import DEFAULT_MODEL, load_encoder, load_image_encoder
from .encoders.reranker import CrossEncoder, packaged_reranker
from .errors import (
    InvalidInputError,
    ItemNotFoundError,
    MissingDependencyError,
    ModelChangedError,
    ModelMismatchError,
    UnsupportedFileError,
)
from .index.base import METRICS
from .index.factory import INDEX_KINDS
from .ingest.chunking import SPECIAL_TOKEN_MARGIN
from .ingest.embedding import embed_records
from .ingest.hashing import content_id, text_hash
from .ingest.images import image_tower, load_images, tower_embedder
from .ingest.loaders import SUPPORTED_SUFFIXES, LoadedItem, discover, load_file
from .ingest.named import VectorMaker, embed_named
from .ingest.upsert import DEFAULT_BATCH, upsert_items, write_vectors
from .integrity import CheckReport, check_store
from .named_vectors import NamedVectors
from .progress import progress_bar
from .reembed import JOB as REEMBED_JOB
from .reembed import STATE_KEY as REEMBED_STATE
from .reembed import ReembedReport
from .reembed import build as build_set
from .reembed import plan_names as plan_reembed_names
from .reembed import start as start_reembed
from .reembed import state as reembed_state
from .search.context import DEDUPE_COSINE, Context, build_context, check_context_args
from .search.engine import MODES, InPlace, SearchEngine, to_hits
from .search.hybrid import DEFAULT_ALPHA, check_fusion
from .search.local import LocalSource, ViewSearch
from .search.rerank import RERANK_DEPTH, check_rerank_args
from .search.rerank import resolve as resolve_reranker
from .search.results import Hit
from .search.vector_storage import VECTOR_STORAGE
from .search.view import SearchView, StaleView
from .store.base import ItemRecord
from .store.factory import open_backend
from .store.named import PENDING, VectorSpec, check_vector_name, specs_meta
from .thumbnails import thumbnails_for
from .validation import (
    as_list,
    check_ids,
    check_k,
    check_metadata,
    check_query,
    check_texts,
    check_unicode,
    check_vectors,
    lookup_ids,
)

#: Hybrid default fusion (and DEFAULT_ALPHA), chosen on the retrieval suite (docs/benchmarks.md).
DEFAULT_FUSION = "convex"


@dataclass
class Item:
    """An item as stored."""

    id: str
    text: str
    metadata: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "metadata": self.metadata}


@dataclass
class UpsertReport:
    """What an add/sync did, item by item."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    def merge(self, counts: Counter) -> None:
        for key in ("added", "updated", "unchanged", "deleted"):
            setattr(self, key, getattr(self, key) + counts.get(key, 0))


@dataclass
class SyncReport(UpsertReport):
    #: files and parts that could not be used, each "where: why"
    skipped: list[str] = field(default_factory=list)
    #: what was read with a caveat (pages without text, a malformed header), "where: what"
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "notes": self.notes,
        }


class Space:
    """A searchable vector space in a folder.

    ``model`` names the encoder ("default" = the space's own model when reopening, else the
    packaged all-MiniLM-L6-v2); ``model=None`` makes a bring-your-own-vectors space of ``dim``.
    ``index`` is "auto" (exact below 50k chunks, HNSW above), "exact", "hnsw", "ivf" or
    "ivfpq"; extra keyword arguments tune it (``M``, ``ef_search``, ``nlist``, ``nprobe``...).
    ``vector_storage="mmap"`` keeps the search view's vectors in a memory-mapped file in
    the space folder instead of RAM, so spaces whose vectors exceed the memory still open
    and search (exact search then runs at disk speed; ANN indexes hold their own copy).
    ``vectors={"multilingual": "glove"}`` declares named vectors besides the main one:
    every item is also embedded by each of those models, and ``search(using=...)`` and
    the analyses choose one (``add_vector`` adds one later; docs/models-over-time.md).
    """

    def __init__(
        self,
        path: str | Path,
        model: str | Encoder | None = "default",
        index: str = "auto",
        *,
        dim: int | None = None,
        metric: str = "cosine",
        chunk_tokens: int | None = None,
        chunk_overlap: int = 32,
        batch_size: int = DEFAULT_BATCH,
        progress: bool = True,
        create: bool = True,
        vector_storage: str = "ram",
        vectors: Mapping[str, str] | None = None,
        **index_params: Any,
    ) -> None:
        if vector_storage not in VECTOR_STORAGE:
            raise InvalidInputError(
                f"vector_storage must be one of {VECTOR_STORAGE}, not {vector_storage!r}"
            )
        if index not in INDEX_KINDS:
            raise InvalidInputError(f"index must be one of {INDEX_KINDS}, not {index!r}")
        if metric not in METRICS:
            raise InvalidInputError(f"metric must be one of {METRICS}, not {metric!r}")
        self.index_kind = index
        self.batch_size = batch_size
        self.progress = progress
        # A folder (embedded SQLite) or a postgresql:// / milvus:// URI: see store/factory.py.
        backend = open_backend(path, create=create, index=index, index_params=index_params)
        self._backend, self._store = backend, backend.store
        self.path: Path | None = backend.folder  # None on a remote backend
        self.location, self._reopen = backend.location, backend.reopen
        if vector_storage == "mmap":
            backend.require_folder(
                'vector_storage="mmap" needs an embedded (folder) space; {location} '
                "keeps its vectors in the database"
            )
        self._index_params, self._vector_storage = index_params, vector_storage
        self._chunk_tokens_asked, self.chunk_overlap = chunk_tokens, chunk_overlap
        self._thumbnails = thumbnails_for(self._store, self.path)
        self._open_vectors(model, dim, metric)
        self._named = NamedVectors(self._store, self.location, self.metric, chunk_overlap)
        for name, named_model in (vectors or {}).items():
            held = self._named.visible().get(name)
            if held is None:
                self.add_vector(name, named_model)
            elif load_encoder(named_model).model_id != held.model_id:
                raise ModelMismatchError(
                    f"the vector {name!r} of {self.location} is made by {held.model_id!r}, "
                    f"not {named_model!r}; open it without vectors= or with that model"
                )

    def _open_vectors(self, model: str | Encoder | None, dim: int | None, metric: str) -> None:
        """The main model, its search view and engine (again after a re-embed swapped
        models, in this process or another)."""
        # Queries (searches, labels, descriptions) go through the process's query cache.
        self.encoder = with_query_cache(self._open_model(model, dim, metric))
        self._view = SearchView(
            self._store,
            self.path,
            self.dim,
            self.metric,
            self._backend.view_index,
            self._index_params,
            self._vector_storage,
        )
        # Chosen once: a remote backend searches its own indexes, a folder its local view
        # (which stays available over any backend for what needs every vector).
        native = self._backend.native
        self._search = SearchEngine(
            InPlace(native) if native is not None else LocalSource(self._view, self._store)
        )
        limit = getattr(self.encoder, "max_tokens", None)
        self.chunk_tokens = self._chunk_tokens_asked or (
            limit - SPECIAL_TOKEN_MARGIN if limit else None
        )

    def _follow_model(self) -> None:
        """Switch to the space's current main model if a re-embed (here or in another
        process) swapped it since this object opened: one meta read."""
        stored = self._store.get_meta("model_id")
        if stored is not None and stored != self.model_id and self._store.get_meta("dim"):
            self._named.store().follow_swap()
            self._open_vectors("default", None, self.metric)
            self._named.forget()

    # -- model bookkeeping ----------------------------------------------------------------
    def _open_model(
        self, model: str | Encoder | None, dim: int | None, metric: str
    ) -> Encoder | None:
        stored_id = self._store.get_meta("model_id")
        stored_name = self._store.get_meta("model_name")
        stored_dim = self._store.get_meta("dim")
        if stored_dim is not None and model == "default":
            model = None if stored_name == "" else stored_name
        encoder = load_encoder(model) if model is not None else None
        model_id = encoder.model_id if encoder else ""
        new_dim = encoder.dim if encoder else dim
        if stored_dim is not None:
            if model_id != stored_id:
                raise ModelMismatchError(
                    f"{self.location} was built with model {stored_id or 'None (your own vectors)'!r} "
                    f"but was opened with {model_id or 'None (your own vectors)'!r}; vectors of "
                    "different models cannot be mixed. Open it with its own model, or create a new space"
                )
            self.dim = int(stored_dim)
            self.metric = self._store.get_meta("metric") or "cosine"
            if dim is not None and dim != self.dim:
                raise InvalidInputError(f"{self.location} holds {self.dim}-d vectors, not {dim}-d")
            return encoder
        if new_dim is None or new_dim <= 0:
            raise InvalidInputError("a space without a model needs dim=<vector size>, e.g. dim=384")
        self.dim, self.metric = int(new_dim), metric
        self._store.set_meta(
            {
                "model_id": model_id,
                "model_name": getattr(encoder, "name", model_id) if encoder else "",
                "dim": str(self.dim),
                "metric": metric,
            }
        )
        return encoder

    @property
    def model_name(self) -> str | None:
        """The name the main model was opened by (None: your own vectors); it changes
        when a re-embed swaps models, in this process or another."""
        return self._store.get_meta("model_name") or None

    @property
    def model_id(self) -> str:
        return self.encoder.model_id if self.encoder else ""

    def _require_encoder(self, what: str) -> Encoder:
        if self.encoder is None:
            raise InvalidInputError(
                f"{what} needs a model, but this space stores your own vectors (model=None); "
                "use add_vectors/search_vector instead"
            )
        return self.encoder

    # -- writing --------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._store.count()

    def add(
        self,
        texts: Sequence[str],
        ids: Sequence[str] | None = None,
        metadata: Sequence[dict[str, Any]] | None = None,
    ) -> list[str]:
        """Add or upsert texts; returns their ids.

        Without ids, an id is derived from the text, so adding the same text twice (or
        re-running an interrupted add) never duplicates it. A given id is an upsert: same
        text is a no-op, new text is re-embedded.
        """
        texts = check_texts(texts)
        ids = [content_id(t) for t in texts] if ids is None else check_ids(ids, len(texts))
        metas = check_metadata(metadata, len(texts))
        keep_metadata = metadata is None
        self._upsert(
            [LoadedItem(i, t, m, None) for i, t, m in zip(ids, texts, metas, strict=True)],
            keep_metadata=keep_metadata,
        )
        return ids

    def _upsert(
        self,
        items: Sequence[LoadedItem],
        *,
        keep_metadata: bool = False,
        digest: Callable[[LoadedItem], str] | None = None,
        embed: Callable[[list[ItemRecord]], None] | None = None,
    ) -> Counter:
        """Embed what changed, batch by batch, one transaction per batch (see
        ``ingest/upsert.py``), then bring the ANN index up to date.

        ``digest`` says when an item changed (default: its text's hash) and ``embed`` fills
        in the vectors of changed records (default: the text encoder, chunked); images
        pass their own.
        """
        self._follow_model()
        encoder = self._require_encoder("adding text")

        def embed_all(records: list[ItemRecord]) -> None:
            if embed is None:
                embed_records(encoder, records, self.chunk_tokens, self.chunk_overlap)
            else:
                embed(records)
            # every named set the store lists now, a running re-embed's included
            embed_named(self._named.makers(), records)

        try:
            counts = upsert_items(
                self._store,
                items,
                embed_all,
                batch_size=self.batch_size,
                progress=self.progress,
                keep_metadata=keep_metadata,
                digest=digest,
                expect_model=self.model_id,
            )
        except ModelChangedError:
            if embed is not None:  # the caller's embedder belongs to the old model
                raise
            # A re-embed swapped models mid-write: the batches committed before it were
            # carried over; the rest is embedded again with the new model.
            self._follow_model()
            return self._upsert(items, keep_metadata=keep_metadata, digest=digest)
        self._persist_index()
        return counts

    def _persist_index(self) -> None:
        """Bring an ANN index up to date and save it when enough has changed."""
        if self._view.index_kind != "exact":
            self._view.refresh()
            self._view.save_index()

    def add_vectors(
        self,
        vectors: np.ndarray,
        ids: Sequence[str] | None = None,
        metadata: Sequence[dict[str, Any]] | None = None,
        texts: Sequence[str] | None = None,
    ) -> list[str]:
        """Add your own vectors (from any model); ids default to a hash of the vector."""
        if self._named.visible():
            raise InvalidInputError(
                f"{self.location} has named vectors {sorted(self._named.visible())}, which "
                "its models embed from each item's text; add_vectors brings main vectors "
                "only, so add the items with add() (or drop those vectors first)"
            )
        vectors = check_vectors(vectors, self.dim, self.metric)
        n = len(vectors)
        texts_list = as_list(texts, "texts") if texts is not None else [""] * n
        if len(texts_list) != n:
            raise InvalidInputError(f"got {n} vectors but {len(texts_list)} texts")
        if not all(isinstance(t, str) for t in texts_list):
            raise InvalidInputError("texts must be strings (use '' for an item without text)")
        check_unicode(texts_list, "texts")
        if ids is None:
            ids = [text_hash(v.tobytes().hex())[:16] for v in vectors]
        ids = check_ids(ids, n)
        metas = check_metadata(metadata, n)
        write_vectors(self._store, ids, texts_list, metas, vectors, batch_size=self.batch_size)
        return ids

    def add_dataset(
        self,
        dataset: Any,
        text_column: str,
        id_column: str | None = None,
        **options: Any,
    ) -> UpsertReport:
        """Embed a Ray Dataset on a Ray cluster (local, or joined with ``ray.init``) and
        write it here in batches; re-running skips rows already stored with the same text.

        Other columns become metadata (``metadata_columns=`` chooses); ``workers``,
        ``cpus_per_worker`` (0.5) and ``threads_per_worker`` (1) size the actor pool.
        Without ``id_column`` an id is derived from the text, as in ``add``.
        """
        from .ingest.distributed import add_dataset

        report = UpsertReport()
        report.merge(add_dataset(self, dataset, text_column, id_column, **options))
        self._persist_index()
        return report

    def get(self, id: str) -> Item:
        found = self._store.get(lookup_ids([id]))
        if not found:
            raise ItemNotFoundError(f"no item with id {id!r} in {self.location}")
        rec = found[0]
        return Item(rec.id, rec.text, rec.metadata)

    def update(
        self, id: str, text: str | None = None, metadata: dict[str, Any] | None = None
    ) -> None:
        """Change an item's text (re-embedded) and/or replace its metadata."""
        current = self.get(id)
        if text is not None:
            self._upsert(
                [
                    LoadedItem(
                        id,
                        check_texts([text])[0],
                        metadata if metadata is not None else current.metadata,
                        None,
                    )
                ]
            )
        elif metadata is not None:
            self._store.update_metadata({id: check_metadata([metadata], 1)[0]})

    def delete(self, ids: Sequence[str] | str) -> int:
        """Delete items by id; returns how many existed. Thumbnails that no remaining
        item uses go with them."""
        ids = lookup_ids(ids)
        pictures = self._thumbnails.used_by(ids)
        removed = self._store.delete(ids)
        self._thumbnails.drop_unused(pictures)
        return removed

    # -- files ----------------------------------------------------------------------------
    def add_files(
        self,
        paths: Sequence[str | Path],
        *,
        text_field: str | None = None,
        id_field: str | None = None,
        ray: str | None = None,
    ) -> SyncReport:
        """Add files or folders (recursively): .txt .md .csv .tsv .jsonl .parquet, and
        documents: .pdf .html .htm .docx .epub .eml .mbox (the ``docs`` extra).

        A document's item keeps where its pages start and its headings stand, so hits
        report ``page`` and ``section``; an e-mail's attachments become items of their
        own. Unusable files inside a folder are skipped and listed in the report (and
        what was read with a caveat in its notes); a single unusable file named directly
        raises. ``ray="local"`` (or a Ray address) embeds on Ray workers instead of in
        this process (see ``add_dataset``).
        """
        paths = list(paths)
        single_file = len(paths) == 1 and Path(paths[0]).is_file()
        items, report, _ = _load_files(
            paths, text_field, id_field, raise_errors=single_file, progress=self.progress
        )
        if ray is not None:
            from .ingest.distributed import add_items

            report.merge(add_items(self, items, ray))
            self._persist_index()
            return report
        report.merge(self._upsert(items))
        return report

    def sync(
        self, folder: str | Path, *, text_field: str | None = None, id_field: str | None = None
    ) -> SyncReport:
        """Make the space mirror a folder: embed new and changed files, drop deleted ones.

        Every supported file is read again (with a progress bar per file) and only items
        whose text changed are embedded again. A file that exists but cannot be read
        keeps its old items: a bad read never deletes anything, and one bad file never
        stops the folder.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise InvalidInputError(f"{folder} is not a folder")
        before = self._store.ids_from_source_prefix(str(folder.resolve()) + "/")
        items, report, unreadable = _load_files(
            [folder], text_field, id_field, raise_errors=False, progress=self.progress
        )
        report.merge(self._upsert(items))
        current = {it.id for it in items}
        stale = [
            i
            for i, src in before.items()
            if i not in current
            and src not in unreadable
            and Path(src).suffix.lower() not in IMAGE_SUFFIXES  # images are add_images' job
        ]
        report.deleted = self._store.delete(stale) if stale else 0
        return report

    # -- images ---------------------------------------------------------------------------
    def _image_tower_changed(self, encoder: Encoder) -> bool:
        """Whether the space's images were embedded by another image tower than the one
        this install gives ``encoder`` (an upgrade): re-embedding with the same text
        model then reads the images again, which is how such a space catches up."""
        stored = self._store.get_meta("image_model_id")
        return bool(stored) and stored != load_image_encoder(encoder).model_id

    def _image_tower(self, *, record: bool = False) -> ImageEncoder:
        """The image tower for this space's model (``record``: note it in the store)."""
        return image_tower(
            self._require_encoder("images"), self._store, self.location, record=record
        )

    def add_images(
        self,
        paths: Sequence[str | Path] | str | Path,
        ids: Sequence[str] | None = None,
        metadata: Sequence[dict[str, Any]] | dict[str, Any] | None = None,
    ) -> SyncReport:
        """Add image files, folders (recursively) or glob patterns such as ``covers/*.jpg``.

        Images land in this space's own vector space, so text queries find them and
        ``search_image`` finds texts. An image's text is its path (relative to the folder
        named, else its file name), so keyword search can match file names; so is its id
        unless ``ids`` gives one per file found (in the order found). ``metadata`` is one
        dict for every image or one per file; the space adds ``modality="image"``, the
        absolute ``path`` and ``thumbnail``, a JPEG of at most 256 px kept in the space
        folder (relative to it) for display. Unchanged files are not re-embedded;
        unreadable, corrupt or truncated files are skipped and reported, and nothing
        else in the batch is lost.
        """
        folder = self._backend.require_folder(
            "add_images keeps thumbnails in the space folder; {location} is a remote "
            "backend. Embed images with es.embed_images and use add_vectors instead"
        )
        tower = self._image_tower(record=True)
        batch = load_images(paths, ids, metadata, folder)
        report = SyncReport(skipped=batch.skipped)
        replaced = self._thumbnails.used_by([it.id for it in batch.items])  # a new image?
        report.merge(self._upsert(batch.items, digest=batch.digest, embed=tower_embedder(tower)))
        self._thumbnails.drop_unused(replaced)
        return report

    def search_image(
        self, image: ImageLike, k: int = 10, where: dict[str, Any] | None = None
    ) -> list[Hit]:
        """The k items (images or texts) closest to an image: reverse image search."""
        return self.search_vector(self._image_tower().encode_images([image]), k, where)

    def classify(
        self,
        item: str | ImageLike | None = None,
        labels: Sequence[str] | None = None,
        *,
        text: str | None = None,
        image: ImageLike | None = None,
        id: str | None = None,
    ) -> list[Prediction]:
        """Zero-shot: rank ``labels`` by closeness to one item, best first.

        Say what the item is: ``text=`` (embedded as a text, even if it names a file),
        ``image=`` (a path to an image file, a Pillow image or an array) or ``id=`` (a
        stored item, text or image: its vector). A positional ``item`` is guessed: the
        id of a stored item, else an image, else a text, in that order.
        """
        encoder = self._require_encoder("classify")
        kind, value = classify_subject(
            item, {"text": text, "image": image, "id": id}, lambda s: bool(self._store.get([s]))
        )
        if kind == "id":
            vector = self.vectors([value])
        elif kind == "image":
            vector = self._image_tower().encode_images([value])
        else:
            vector = encoder.encode(check_texts([value]), role="document")
        return zero_shot(vector, _required_labels(labels), encoder)[0]

    # -- models over time: named vectors, re-embedding -------------------------------------
    def add_vector(self, name: str, model: str) -> int:
        """Embed every item under a new named vector ``name`` with ``model`` (its own
        dimension; chunked by its own tokenizer); returns how many items were embedded.
        From now on every write embeds it too. Batches commit as they go: an interrupted
        run is finished by calling it again, without redoing the finished batches."""
        named = self._named.store()
        specs = self._named.specs()
        encoder = load_encoder(model)
        spec = VectorSpec(getattr(encoder, "name", model), encoder.model_id, encoder.dim, False)
        if name not in specs or specs[name] != spec:
            check_vector_name(name, self.vector_name, specs)
            specs[name] = spec
            self._store.set_meta(specs_meta(specs))
        embedded, _ = build_set(
            self._store,
            named,
            name,
            VectorMaker.for_encoder(encoder, self.chunk_overlap),
            batch_size=self.batch_size,
            progress=self.progress,
            description=f"embedding {name!r}",
        )
        specs = self._named.specs()
        specs[name] = replace(spec, complete=True)
        self._store.set_meta(specs_meta(specs))
        return embedded

    def drop_vector(self, name: str) -> None:
        """Delete the named vector ``name`` (never the main one)."""
        if name == self.vector_name:
            raise InvalidInputError(
                f"{name!r} is the main vector; re-embed the space to replace it instead"
            )
        specs = self._named.visible()
        if name not in specs:
            raise InvalidInputError(f"no vector named {name!r}; the space has {sorted(specs)}")
        del specs[name]
        pending = self._named.specs().get(PENDING)
        self._store.set_meta(specs_meta(specs | ({PENDING: pending} if pending else {})))
        self._named.store().drop_named(name)

    def reembed(self, model: str, *, keep_old: bool = False) -> ReembedReport:
        """Re-embed every item with ``model`` while the space keeps serving, then make it
        the space's model in one atomic swap (docs/models-over-time.md). The same model
        is accepted when the space's images came from another image tower (an upgraded
        install): its images are read again from their files, its texts embedded alike.

        The new vectors are built beside the old ones, batch by batch; searches and
        writes use the old model meanwhile and writes are embedded by both. A run killed
        at any point leaves the old model serving, and running it again resumes without
        redoing finished batches. ``keep_old`` keeps the old vectors as a named vector
        (named after the old model) instead of dropping them. A model that does not load
        is refused before anything is written; so is a second re-embed while one runs.
        """
        started = time.perf_counter()
        self._follow_model()
        self._require_encoder("reembed (it embeds the items' texts)")
        named = self._named.store()
        encoder = load_encoder(model)  # a model that does not load: nothing written yet
        if encoder.model_id == self.model_id and not self._image_tower_changed(encoder):
            raise InvalidInputError(f"{self.location} already uses {encoder.model_id!r}")
        old = self.vector_sets()[0]
        new_name, kept = plan_reembed_names(
            old["name"], getattr(encoder, "name", model), keep_old, self._named.visible()
        )
        with named.job_lock(REEMBED_JOB):
            discarded = start_reembed(self._store, named, encoder, keep_old)
            maker = VectorMaker.for_encoder(encoder, self.chunk_overlap)
            embedded, resumed = 0, None
            while True:
                now, done_before = build_set(
                    self._store,
                    named,
                    PENDING,
                    maker,
                    batch_size=self.batch_size,
                    progress=self.progress,
                    description=f"re-embedding with {model}",
                )
                embedded += now
                resumed = done_before if resumed is None else resumed
                specs = self._named.visible()
                if kept is not None:
                    specs[kept] = VectorSpec(old["model"] or "", self.model_id, self.dim)
                meta = {
                    "model_id": encoder.model_id,
                    "model_name": getattr(encoder, "name", model),
                    "dim": str(encoder.dim),
                    "metric": self.metric,
                    "vector_name": new_name,
                    REEMBED_STATE: "",
                    **specs_meta(specs),
                }
                if self._store.get_meta("image_model_id"):  # images were embedded again
                    meta["image_model_id"] = load_image_encoder(encoder).model_id
                if named.promote_named(PENDING, kept, meta):
                    break  # else an item arrived without the new vectors: embed it too
        self._open_vectors("default", None, self.metric)
        self._named.forget()
        self._view.refresh()
        self._persist_index()
        return ReembedReport(
            model=getattr(encoder, "name", model),
            model_id=encoder.model_id,
            dim=encoder.dim,
            items=len(self),
            reembedded=embedded,
            resumed=resumed or 0,
            previous_model=str(old["model"]),
            kept_old=kept,
            discarded=discarded,
            seconds=round(time.perf_counter() - started, 3),
        )

    # -- reading --------------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int = 10,
        mode: str = "dense",
        where: dict[str, Any] | None = None,
        *,
        fusion: str = DEFAULT_FUSION,
        alpha: float = DEFAULT_ALPHA,
        sparse_model: str = "bm25",
        rerank: bool | str | CrossEncoder = False,
        rerank_depth: int = RERANK_DEPTH,
        rerank_weight: float | None = None,
        using: str | None = None,
    ) -> list[Hit]:
        """Find the k items closest to ``query``.

        ``using``: the named vector to search (``info()["vectors"]``); None = the main one.

        ``mode``: "dense" (embeddings), "sparse" (BM25 keywords) or "hybrid" (both, fused
        with ``fusion`` = "convex" (``alpha`` weighs dense) or "rrf").
        ``rerank``: True (the packaged cross-encoder), a cross-encoder folder or object:
        the top ``rerank_depth`` hits are re-scored on their matched passage and mixed
        with the first stage by ``rerank_weight`` (None = the model's tuned default).
        """
        k = check_k(k)
        if mode not in MODES:
            raise InvalidInputError(f"mode must be one of {MODES}, not {mode!r}")
        check_fusion(fusion, alpha)
        check_rerank_args(rerank_depth, rerank_weight)
        cross = resolve_reranker(rerank)
        query = check_query(query)
        self._follow_model()
        named = self._named.resolve(using, self.vector_name)
        engine = self._search if named is None else named.engine
        qvec = None
        if mode != "sparse":
            encoder = self._require_encoder("text search") if named is None else named.encoder
            qvec = encoder.encode([query], role="query")
        return engine.search(
            query,
            qvec,
            k,
            mode,
            where,
            fusion=fusion,
            alpha=alpha,
            sparse_model=sparse_model,
            cross=cross,
            rerank_depth=rerank_depth,
            rerank_weight=rerank_weight,
        )

    def context(
        self,
        question: str,
        max_tokens: int = 1000,
        *,
        k: int = 20,
        mode: str = "hybrid",
        rerank: bool | str | CrossEncoder = True,
        rerank_weight: float | None = None,
        dedupe: float = DEDUPE_COSINE,
        order: str = "relevance",
        where: dict[str, Any] | None = None,
    ) -> Context:
        """A prompt-ready context for ``question``: the best passages (hybrid search,
        re-ranked), near-duplicates dropped, fitted to ``max_tokens`` of the space's model
        tokenizer, each numbered ``[n]`` with a citation (item id + character span)."""
        check_context_args(max_tokens, dedupe, order)
        encoder = self._require_encoder("context")
        token_spans = getattr(encoder, "token_spans", None)
        if token_spans is None:  # e.g. a remote model: count with the re-ranker's tokenizer
            token_spans = packaged_reranker().token_spans
        hits = self.search(
            question, k=k, mode=mode, where=where, rerank=rerank, rerank_weight=rerank_weight
        )
        return build_context(
            question,
            hits,
            embed=lambda texts: encoder.encode(texts, role="document"),
            token_spans=token_spans,
            max_tokens=max_tokens,
            dedupe=dedupe,
            order=order,
        )

    def search_vector(
        self,
        vector: np.ndarray,
        k: int = 10,
        where: dict[str, Any] | None = None,
        *,
        using: str | None = None,
    ) -> list[Hit]:
        """Dense search with a vector you computed yourself (of the ``using`` vector's
        model and size when given)."""
        k = check_k(k)
        self._follow_model()
        named = self._named.resolve(using, self.vector_name)
        dim = self.dim if named is None else named.spec.dim
        qvec = check_vectors(vector, dim, self.metric)[:1]
        if not len(qvec):
            raise InvalidInputError(f"the query vector is empty; pass one {dim}-d vector")
        return (self._search if named is None else named.engine).search_vector(qvec, k, where)

    def ids(self, where: dict[str, Any] | None = None) -> list[str]:
        """Every item id, in insertion order (for exports and maps of the whole space);
        with ``where``, only the items whose metadata matches (e.g. every chunk of one
        source document, to delete them together)."""
        if where is None:
            return self._store.ids()
        rowids = sorted(self._store.filter_rowids(where))
        records = self._store.get_by_rowids(rowids)
        return [records[r].id for r in rowids if r in records]

    def items(self, ids: Sequence[str]) -> list[Item]:
        """Several items at once, in the order of ``ids``; unknown ids raise."""
        ids = lookup_ids(ids)
        found = {rec.id: rec for rec in self._store.get(ids)}
        missing = [i for i in ids if i not in found]
        if missing:
            raise ItemNotFoundError(f"unknown ids: {missing[:5]}")
        return [Item(found[i].id, found[i].text, found[i].metadata) for i in ids]

    @property
    def generation(self) -> int:
        """The store's write counter: it changes whenever any process commits a write,
        so anything derived from the items (a map, a cache) is keyed by it."""
        return self._store.generation()

    def refresh(self) -> None:
        """Catch the in-memory search view up with the store now rather than at the next
        search (a server does it right after a write, while readers wait)."""
        self._follow_model()
        self._view.refresh()

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        """Each item's vector, in the order of ``ids`` (repeats allowed): the unit mean of
        its chunk vectors, the same item vector duplicates, clusters and recommendations
        use (for a single-chunk item, its stored vector), so "similar to this document"
        weighs the whole document, not just its first chunk."""
        ids = lookup_ids(ids)
        distinct = list(dict.fromkeys(ids))
        row = {id_: i for i, id_ in enumerate(distinct)}
        return self._mean_vectors(distinct)[[row[id_] for id_ in ids]]

    @property
    def vector_name(self) -> str:
        """The main vector's name: what ``using=`` calls it (its model's name unless a
        re-embed named it)."""
        return (
            self._store.get_meta("vector_name") or self._store.get_meta("model_name") or "vectors"
        )

    def vector_sets(self) -> list[dict[str, Any]]:
        """Every named vector, the main one first: name, model, model id, dimension."""
        main = {
            "name": self.vector_name,
            "model": self.model_name,
            "model_id": self.model_id or None,
            "dim": self.dim,
            "main": True,
        }
        others = [
            {"name": n, "model": s.model_name, "model_id": s.model_id, "dim": s.dim, "main": False}
            | ({} if s.complete else {"complete": False})
            for n, s in self._named.visible().items()
        ]
        return [main, *others]

    def reembed_progress(self) -> dict[str, Any] | None:
        """How far a re-embed has gone (running, or interrupted and waiting for a re-run
        to resume it), or None."""
        current = reembed_state(self._store)
        if current is None:
            return None
        named = self._named.store()
        done = len(named.named_ids(PENDING))
        total = len(self)
        return {
            "model": current["model"],
            "model_id": current["model_id"],
            "done": done,
            "total": total,
            "running": named.job_running(REEMBED_JOB),
        }

    def info(self) -> dict[str, Any]:
        """Counts, model, dims, disk size, named vectors, any re-embed under way, and the
        process's query cache (hits, misses, hit rate, bytes)."""
        self._follow_model()
        return {
            "path": self.location,
            "backend": self._store.kind,
            "items": len(self),
            "chunks": self._store.chunk_count(),
            "model": self.model_name,
            "model_id": self.model_id or None,
            "recipe": getattr(self.encoder, "recipe", None),  # how this CPU runs the model
            "dim": self.dim,
            "metric": self.metric,
            "index": self._search.index_name,
            "disk_bytes": self._store.disk_bytes(),
            "vectors": self.vector_sets(),
            "reembed": self.reembed_progress(),
            "query_cache": QUERY_CACHE.stats().to_dict(),  # the process's, shared by spaces
        }

    # -- analysis: duplicates, clusters, outliers, recommendations, bulk labels ------------
    def _item_set(
        self, where: dict[str, Any] | None = None, using: str | None = None
    ) -> tuple[ItemSet, Searcher | None]:
        """Every item (or those matching ``where``) with one unit vector each (of the
        ``using`` vector), and the space's own ANN index as a neighbour searcher when it
        can answer for them (one chunk per item, cosine, no filter)."""
        self._follow_model()
        named = self._named.resolve(using, self.vector_name)
        source = self._view if named is None else named.view

        def run(view: SearchView) -> tuple[np.ndarray, np.ndarray, Searcher | None]:
            table = view.table
            matrix = mean_item_vectors(table.item_of_chunk, table.matrix, len(table.items))
            lend = None
            if (
                view.index_name != "exact"
                and len(table) == len(table.items)
                and self.metric == "cosine"
            ):
                index = view.dense.index

                def lend(queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
                    """Chunk labels -> item positions (one chunk per item)."""
                    labels, scores = index.search(queries, k)
                    items = table.item_of_chunk[table.rows_of_labels(np.maximum(labels, 0))]
                    return np.where(labels >= 0, items, -1), scores

            return table.items.copy(), matrix, lend

        rowids, matrix, lend = source.run(run)
        records = self._store.get_by_rowids(rowids.tolist())
        keep = np.fromiter((int(r) in records for r in rowids), dtype=bool, count=len(rowids))
        if where is not None:
            allowed = np.fromiter(self._store.filter_rowids(where), dtype=np.int64)
            keep &= np.isin(rowids, allowed)
        if not keep.all():
            rowids, matrix, lend = rowids[keep], matrix[keep], None
        recs = [records[int(r)] for r in rowids]
        hashes = [r.text_hash if self.encoder is not None else None for r in recs]
        return ItemSet([r.id for r in recs], [r.text for r in recs], hashes, matrix), lend

    def duplicates(
        self,
        threshold: float | None = None,
        *,
        k: int = DUPLICATE_K,
        where: dict[str, Any] | None = None,
        using: str | None = None,
    ) -> list[DuplicateGroup]:
        """Groups of near-duplicate items (largest first), each iterable over its ids.

        ``threshold`` is a cosine; by default the model's own calibrated value (best F1
        on MRPC train paraphrases, recorded with the packaged models; other models fall
        back to 0.9 with a warning). Each item's ``k`` nearest neighbours are examined
        through the index, so the cost grows with n*k, not n^2; identical texts are
        grouped by content hash first. Pairs join into groups transitively. ``using``:
        compare under that named vector (and its model's threshold).
        """
        items, lend = self._item_set(where, using)
        if threshold is None:
            named = self._named.resolve(using, self.vector_name)
            threshold = duplicate_threshold(self.model_id if named is None else named.spec.model_id)
        threshold = check_threshold(threshold)
        return find_duplicates(
            items.ids,
            items.matrix,
            threshold,
            hashes=items.hashes,
            k=check_k(k),
            searcher=lend,
            progress=self.progress,
        )

    def clusters(
        self,
        k: int | None = None,
        method: str = "kmeans",
        *,
        min_size: int | None = None,
        noise: str = "keep",
        where: dict[str, Any] | None = None,
        seed: int = 0,
        using: str | None = None,
    ) -> list[Cluster]:
        """Topics: ``method`` "kmeans" (``k`` clusters, chosen by silhouette when None) or
        "hdbscan" (density-based; ``min_size`` members at least, default 5; items in no
        dense region are left out as noise, or with ``noise="nearest"`` join the cluster
        whose centre is closest). Each cluster has its member ids, a label of distinctive
        words (class-based TF-IDF) and its most central members. Largest first.
        ``using``: cluster under that named vector.
        """
        items, _ = self._item_set(where, using)
        if not len(items):
            return []
        labels = cluster_labels(items.matrix, k, method, min_size=min_size, seed=seed, noise=noise)
        return build_clusters(items.ids, items.texts, items.matrix, labels)

    def outliers(
        self,
        k: int = 20,
        *,
        by: str = "lof",
        limit: int | None = None,
        where: dict[str, Any] | None = None,
        using: str | None = None,
    ) -> list[Outlier]:
        """Items ranked from most to least unusual (``limit`` = keep the top few).

        Each carries its mean cosine distance to its ``k`` nearest neighbours and its
        local outlier factor; ``by`` ("lof" or "knn") picks the score to sort by.
        """
        if by not in OUTLIER_SCORES:
            raise InvalidInputError(f"by must be one of {OUTLIER_SCORES}, not {by!r}")
        items, lend = self._item_set(where, using)
        graph = knn_graph(
            items.matrix, check_k(k), searcher=lend, progress=self.progress, description="outliers"
        )
        knn, lof = outlier_scores(graph)
        score = lof if by == "lof" else knn
        order = np.argsort(-score, kind="stable")[: None if limit is None else check_k(limit)]
        return [Outlier(items.ids[i], float(score[i]), float(knn[i]), float(lof[i])) for i in order]

    def map(
        self, method: str = "auto", *, relayout: bool = False, using: str | None = None
    ) -> SpaceMap:
        """A 2-D map of the items: ``.ids`` (list[str]) and ``.xy`` (float32 (n, 2) in
        [-1, 1]). ``method`` "auto" / "umap" lays out the space's k-NN graph so that
        neighbours stay neighbours (umap-learn, the ``map`` extra; cached in the space
        folder, new items placed beside their neighbours, ``relayout=True`` lays it all
        out again); "pca" is the instant linear projection. ``.notice`` says when the map
        is a sample (past 100k items) or fell back to PCA (and why). ``using``: map that
        named vector (each keeps its own cached layout)."""
        check_method(method)
        generation = self.generation  # before reading: a write meanwhile makes it stale
        items, lend = self._item_set(using=using)
        named = self._named.resolve(using, self.vector_name)
        found = {rec.id: rec.metadata for rec in self._store.get(items.ids)}
        snapshot = MapInput(
            items.ids,
            [text[:MAP_TEXT_CHARS] for text in items.texts],
            [found.get(i, {}) for i in items.ids],
            items.hashes,
            items.matrix,
            generation,
            model_id=self.model_id if named is None else named.spec.model_id,
            vector=None if named is None else named.name,
        )

        def nearest(vectors: np.ndarray) -> list[list[str]]:
            return [[h.id for h in self.search_vector(v, 10, using=using)] for v in vectors]

        return make_map(
            snapshot, method, folder=self.path, relayout=relayout, searcher=lend, nearest=nearest
        )

    def _vectors_of(self, entries: Sequence[str], what: str) -> tuple[np.ndarray, list[str]]:
        """Vectors of entries that are ids (their items' mean vector) or else texts
        (embedded as queries), and which entries were ids."""
        if isinstance(entries, str):
            raise InvalidInputError(f"{what} must be a list of ids or texts; wrap one in [ ]")
        entries = list(entries)
        bad = [e for e in entries if not isinstance(e, str) or not e.strip()]
        if bad:
            raise InvalidInputError(f"{what} entries must be non-empty strings; bad: {bad[:5]}")
        known = {r.id for r in self._store.get(entries)}
        ids = list(dict.fromkeys(e for e in entries if e in known))
        texts = [e for e in entries if e not in known]
        parts = []
        if ids:
            parts.append(self._mean_vectors(ids))
        if texts:
            parts.append(self._require_encoder(f"texts in {what}").encode(texts, role="query"))
        vectors = np.concatenate(parts) if parts else np.empty((0, self.dim), dtype=np.float32)
        return vectors, ids

    def _mean_vectors(self, ids: Sequence[str]) -> np.ndarray:
        """Each stored item's unit mean chunk vector, in the order of ``ids`` (distinct)."""
        self._follow_model()
        ids = list(ids)
        found = {r.id for r in self._store.get(ids)}
        if len(found) != len(set(ids)):
            raise ItemNotFoundError(f"unknown ids: {sorted(set(ids) - found)[:5]}")
        rowids = np.asarray(self._store.rowids(ids), dtype=np.int64)

        def run(view: SearchView) -> np.ndarray:
            table = view.table
            positions = np.searchsorted(table.items, rowids)
            if (positions >= len(table.items)).any() or (table.items[positions] != rowids).any():
                raise StaleView
            slot = np.full(len(table.items), -1, dtype=np.int64)
            slot[positions] = np.arange(len(positions))
            rows = np.flatnonzero(slot[table.item_of_chunk] >= 0)
            return mean_item_vectors(
                slot[table.item_of_chunk[rows]], table.matrix[rows], len(positions)
            )

        return self._view.run(run)

    def recommend(
        self,
        liked: Sequence[str] = (),
        disliked: Sequence[str] = (),
        k: int = 10,
        *,
        query: str | None = None,
        diversity: float = 0.0,
        exclude: Sequence[str] = (),
        where: dict[str, Any] | None = None,
    ) -> list[Hit]:
        """Items to suggest next, best first, never one already seen.

        ``liked`` / ``disliked``: ids of stored items, or free texts (an entry that is
        not an id is embedded as a description). The profile is the liked mean (plus
        ``query``, a typed description of what is wanted) pushed away from the disliked
        mean. ``diversity`` (0..1) trades closeness for variety by maximal marginal
        relevance. Liked, disliked and ``exclude`` ids are never returned. Hit scores
        are cosines to the profile.
        """
        k = check_k(k)
        diversity = check_diversity(diversity)
        self._follow_model()
        liked_vecs, liked_ids = self._vectors_of(liked, "liked")
        disliked_vecs, disliked_ids = self._vectors_of(disliked, "disliked")
        query_vec = None
        if query is not None:
            if not isinstance(query, str) or not query.strip():
                raise InvalidInputError("query is empty; describe what you are looking for")
            query_vec = self._require_encoder("a query").encode([query], role="query")
        profile = profile_vector(liked_vecs, disliked_vecs, query_vec)
        seen = set(liked_ids) | set(disliked_ids) | set(exclude)
        pool = k + len(seen) + (max(4 * k, 50) if diversity else 0)

        def run(view: SearchView) -> list[Hit]:
            local = ViewSearch(view, self._store)
            scored, rows = local.top(profile, pool, where)
            hits = to_hits(local, scored)
            if len(hits) != len(scored):
                raise StaleView  # an item was deleted meanwhile: catch up and retry
            fresh = [i for i, h in enumerate(hits) if h.id not in seen]
            if not fresh:
                return []
            vectors = view.table.matrix[rows[fresh]]
            relevance = np.array([hits[i].score for i in fresh])
            return [hits[fresh[j]] for j in mmr(relevance, vectors, k, diversity)]

        return self._view.run(run)

    def classify_all(
        self,
        labels: Sequence[str],
        ids: Sequence[str] | None = None,
        *,
        where: dict[str, Any] | None = None,
    ) -> dict[str, list[Prediction]]:
        """Zero-shot labels for many stored items at once: id -> labels ranked best first.

        The labels are embedded once (as queries) and compared with every item's vector;
        no item is re-embedded. ``ids`` limits it to those items, ``where`` to matching ones.
        """
        encoder = self._require_encoder("classify")
        if ids is not None:
            ids = list(dict.fromkeys(ids))
            vectors = self._mean_vectors(ids) if ids else np.empty((0, self.dim))
        else:
            items, _ = self._item_set(where)
            ids, vectors = items.ids, items.matrix
        if not len(ids):
            check_labels(labels)
            return {}
        return dict(zip(ids, zero_shot(vectors, labels, encoder), strict=True))

    def check(self, repair: bool = False) -> CheckReport:
        """Integrity check: store rows, vectors, hashes, the live search view and index
        files all agree (see ``embedspace.integrity``). ``repair`` rebuilds derived files
        (index files, the view) and drops orphan rows; items are never rewritten."""
        folder = self._backend.require_folder(
            "check audits an embedded (folder) space; {location} is checked by its "
            "own database (see docs/scale.md)"
        )
        self._follow_model()
        return check_store(self._store, folder, view=self._view, repair=repair)

    def backup(self, destination: str | Path) -> BackupReport:
        """A consistent backup of this space in the new folder ``destination``, taken
        online: writers (here or in other processes) keep writing meanwhile and the
        backup is one committed state of the store. ``embedspace restore`` (or
        ``embedspace.backup.restore``) brings it back. Folder spaces only: a remote one
        is exported with ``migrate`` first (docs/reliability.md)."""
        return take_backup(self.path if self.path is not None else self.location, destination)

    def close(self) -> None:
        """Save the ANN index (if any) and close the store."""
        if self._view.generation >= 0:
            self._follow_model()  # a view of a model swapped out meanwhile is dropped
        if self._view.generation >= 0:
            self._view.refresh()
            self._view.save_index(force=True)
        self._store.close()

    def __enter__(self) -> Space:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Space({self.location!r}, model={self._store.get_meta('model_name') or None!r})"


def _load_files(
    paths: Sequence[str | Path],
    text_field: str | None,
    id_field: str | None,
    *,
    raise_errors: bool,
    progress: bool,
) -> tuple[list[LoadedItem], SyncReport, set[str]]:
    """Items of every supported file under ``paths``, the report so far, and the files
    that could not be read (their stored items must be kept). A file that cannot be read,
    or needs an extra that is missing, is skipped with its reason unless ``raise_errors``."""
    report = SyncReport()
    files = discover(map(Path, paths), SUPPORTED_SUFFIXES, report.skipped)
    items: list[LoadedItem] = []
    unreadable: set[str] = set()
    with progress_bar(len(files), "reading files", progress and len(files) > 1) as bar:
        for file, rel in files:
            try:
                loaded = load_file(file, rel, text_field=text_field, id_field=id_field)
            except (UnsupportedFileError, MissingDependencyError) as exc:
                if raise_errors:
                    raise
                report.skipped.append(str(exc))
                unreadable.add(str(file if file.is_absolute() else file.resolve()))
                continue
            finally:
                bar.advance()
            items.extend(loaded.items)
            report.skipped.extend(loaded.skipped)
            report.notes.extend(loaded.notes)
    return items, report, unreadable


def embed(
    texts: Sequence[str],
    model: str | Encoder = "default",
    *,
    pooling: str | None = None,
    dim: int | None = None,
    role: Role = "document",
) -> np.ndarray:
    """Embed texts with a model: float32 (n, d), rows L2-normalised.

    ``pooling`` ("mean", "cls", "max") chooses how token vectors become one vector (ONNX
    models); ``dim`` keeps the first ``dim`` coordinates, re-normalised. Both are the
    model-name options ``"default+cls+dim=128"`` spelled as keywords. ``role``: "query"
    for what a person types to search with, "document" for what is searched; models
    trained with prefixes (multilingual-e5-small's ``query: `` / ``passage: ``) need
    the right one, the others ignore it.
    """
    texts = check_texts(texts)
    role = check_role(role)
    return load_encoder(model, pooling=pooling, dim=dim).encode(texts, role=role)


def embed_images(images: Sequence[ImageLike], model: str | Encoder = "default") -> np.ndarray:
    """Embed images into ``model``'s text space: float32 (n, d), rows L2-normalised."""
    return load_image_encoder(model).encode_images(images)


def _required_labels(labels: Sequence[str] | None) -> Sequence[str]:
    """``labels`` is optional only so that the item may be given by keyword."""
    if labels is None:
        raise InvalidInputError('give the labels to choose between, e.g. ["a dog", "a car"]')
    return labels


def classify(
    item: str | ImageLike | None = None,
    labels: Sequence[str] | None = None,
    model: str | Encoder = "default",
    *,
    text: str | None = None,
    image: ImageLike | None = None,
) -> list[Prediction]:
    """Zero-shot classification of a text (``text=``) or an image (``image=``: a path to
    an image file, a Path, a Pillow image or an array): ``labels`` ranked by closeness,
    best first. A positional ``item`` is an image if it is not a string or names an
    existing image file, else a text."""
    kind, value = classify_subject(item, {"text": text, "image": image}, lambda _: False)
    if kind == "image":
        vector = embed_images([value], model)
    else:
        vector = embed(check_texts([value]), model)
    encoder = with_query_cache(load_encoder(model))  # labels are queries: cached
    return zero_shot(vector, _required_labels(labels), encoder)[0]


def cosine(a: np.ndarray, b: np.ndarray) -> float | np.ndarray:
    """Cosine similarity: a float for two vectors, a matrix for two stacks of vectors."""
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    if a.shape[-1] != b.shape[-1]:
        raise InvalidInputError(f"dimensions differ: {a.shape[-1]} vs {b.shape[-1]}")
    sims = l2_normalise(np.atleast_2d(a)) @ l2_normalise(np.atleast_2d(b)).T
    return float(sims[0, 0]) if a.ndim == 1 and b.ndim == 1 else sims


__all__ = [
    "Space",
    "Hit",
    "Item",
    "embed",
    "embed_images",
    "classify",
    "cosine",
    "DEFAULT_MODEL",
    "SyncReport",
]
