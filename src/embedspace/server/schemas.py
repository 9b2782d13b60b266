"""Request and response bodies (pydantic): the server's OpenAPI spec is generated from them.

Names follow the Python API (``query``, ``k``, ``mode``, ``where``, ``fusion``, ``alpha``);
``/v1/embeddings`` follows OpenAI's field names exactly.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..search.hybrid import DEFAULT_ALPHA
from ..search.rerank import RERANK_DEPTH
from .names import MAX_LENGTH, NAME_PATTERN

Metadata = dict[str, Any]
#: The memory ceiling of one request, with k <= 1000 and batches <= 256 (app.MAX_BATCH):
#: a query is embedded within the model's window, so 10k characters is already generous;
#: an item's text is chunked and every chunk embedded while the space's write lock is
#: held, so one item stays under ~100 chunks. service.py caps a whole request's texts.
MAX_QUERY_CHARS = 10_000
MAX_TEXT_CHARS = 100_000
#: A backup's id: when it was taken and a random part.
BACKUP_ID_PATTERN = r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$"


# -- OpenAI-compatible embeddings ---------------------------------------------------------
class EmbeddingRequest(BaseModel):
    """OpenAI's body. ``input`` is checked by hand so token-id arrays get a clear 400."""

    model: str
    input: Any = Field(description="A string or a list of strings.")
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, description="Truncate, then re-normalise.")
    user: str | None = None


class Embedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class Usage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: Usage


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "embedspace"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


# -- the space ------------------------------------------------------------------------------
class QueryCacheStats(BaseModel):
    hits: int
    misses: int
    hit_rate: float
    evictions: int
    entries: int
    bytes: int
    max_bytes: int


class ServerStats(BaseModel):
    query_cache: QueryCacheStats


class VectorOut(BaseModel):
    """One named vector of the space (``using=`` in a search picks one)."""

    name: str
    model: str | None
    model_id: str | None
    dim: int
    main: bool


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    items: int
    model: str | None
    dim: int
    vectors: list[VectorOut] = []


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    k: int = Field(default=10, ge=1, le=1000)
    mode: Literal["dense", "sparse", "hybrid"] = "dense"
    where: Metadata | None = None
    fusion: Literal["convex", "rrf"] = "convex"
    alpha: float = Field(default=DEFAULT_ALPHA, ge=0.0, le=1.0)
    rerank: bool = Field(
        default=False, description="Re-score the top hits with the packaged cross-encoder."
    )
    rerank_depth: int = Field(default=RERANK_DEPTH, ge=1, le=200)
    rerank_weight: float | None = Field(default=None, ge=0.0, le=1.0)
    using: str | None = Field(
        default=None,
        max_length=64,
        description="A named vector to search (GET /info lists them); default the main one.",
    )


class ContextRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    max_tokens: int = Field(default=1000, ge=16, le=100_000)
    k: int = Field(default=20, ge=1, le=200)
    mode: Literal["dense", "sparse", "hybrid"] = "hybrid"
    rerank: bool = True
    order: Literal["relevance", "source"] = "relevance"
    where: Metadata | None = None


class CitationOut(BaseModel):
    n: int
    id: str
    span: list[int]
    score: float
    metadata: Metadata
    page: int | None = None
    section: str | None = None


class ContextResponse(BaseModel):
    question: str
    text: str
    tokens: int
    max_tokens: int
    citations: list[CitationOut]
    dropped_duplicates: list[str]
    dropped_for_budget: list[str]


class HitOut(BaseModel):
    id: str
    score: float
    text: str
    metadata: Metadata
    chunk: list[int] | None = None
    #: 1-based page where the best chunk starts (PDFs), else null
    page: int | None = None
    #: heading path where it starts ("Install > From source"), else null
    section: str | None = None


class Prediction(BaseModel):
    label: str
    score: float


class SearchResponse(BaseModel):
    hits: list[HitOut]
    #: Where the query falls on the /map projection (dense and hybrid modes).
    position: list[float] | None = None


class SimilarRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    k: int = Field(default=10, ge=1, le=1000)
    where: Metadata | None = None


class ImageSearchRequest(BaseModel):
    """An image as base64 file bytes (PNG, JPEG...; a ``data:`` URL works too)."""

    model_config = ConfigDict(extra="forbid")
    image: str = Field(min_length=1)
    k: int = Field(default=10, ge=1, le=1000)
    where: Metadata | None = None
    labels: list[str] = Field(default_factory=list, description="Zero-shot labels to rank.")


class ImageSearchResponse(SearchResponse):
    predictions: list[Prediction]


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(default=None, min_length=1, max_length=1024)
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    metadata: Metadata | None = None


class AddRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[ItemIn] = Field(min_length=1)


class IdsResponse(BaseModel):
    ids: list[str]


class ItemOut(BaseModel):
    id: str
    text: str
    metadata: Metadata


class UpdateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT_CHARS)
    metadata: Metadata | None = None


class DeleteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[str] = Field(min_length=1)


class DeleteResponse(BaseModel):
    deleted: int


class ClassifyRequest(BaseModel):
    """Zero-shot labels for a stored item (``id``) or a new text (``text``)."""

    model_config = ConfigDict(extra="forbid")
    id: str | None = None
    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT_CHARS)
    labels: list[str] = Field(min_length=1)


class CompareRequest(BaseModel):
    """Two texts to compare under every representation, from integer ids to dense."""

    model_config = ConfigDict(extra="forbid")
    a: str = Field(min_length=1, max_length=10_000)
    b: str = Field(min_length=1, max_length=10_000)


class CompareRow(BaseModel):
    key: str
    sees: str
    cosine: float


class CompareResponse(BaseModel):
    representations: list[CompareRow]
    #: Where ``a`` and ``b`` fall on the /map projection (dense vectors).
    positions: list[list[float]]


class AnalogyRequest(BaseModel):
    """``a - b + c`` over the packaged word vectors: king - man + woman -> queen."""

    model_config = ConfigDict(extra="forbid")
    a: str = Field(min_length=1)
    b: str = Field(min_length=1)
    c: str = Field(min_length=1)
    k: int = Field(default=5, ge=1, le=100)


class SimilarWordsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    word: str = Field(min_length=1)
    k: int = Field(default=10, ge=1, le=100)


class WordScore(BaseModel):
    word: str
    score: float


#: ``GET /map?method=``: "auto" (the default: the neighbour-preserving map, or PCA with a
#: notice saying why not), the neighbour method by name, or "pca".
MapMethod = Literal["auto", "pca", "umap"]


class MapResponse(BaseModel):
    """Columns, not one object per point, so 100k points stay a compact payload."""

    generation: int
    count: int
    #: Items in the space: more than ``count`` when the map shows a sample.
    total: int
    #: The method that made this map ("umap" or "pca").
    method: str
    #: What the reader must know (a sample, a fallback to PCA and why), else null.
    notice: str | None
    ids: list[str]
    x: list[float]
    y: list[float]
    text: list[str]
    #: Metadata keys the map can be coloured by, most common first.
    keys: list[str]
    color_by: str | None
    #: Each item's ``color_by`` value ("" where missing), when colouring was asked for.
    groups: list[str] | None
    #: With ``clusters=true``: each item's cluster number (-1 = in none) and each
    #: cluster's label (its distinctive words), as ``/clusters`` finds them with defaults.
    clusters: list[int] | None = None
    cluster_labels: list[str] | None = None
    #: Image items' thumbnail names ("" for texts; null when the space has no images):
    #: each is served at ``GET /thumbnails/{name}``.
    thumbnails: list[str] | None = None


class TourResponse(BaseModel):
    """``/tour/data``: see analysis/tour.py for what each part holds."""

    shared_space: dict[str, Any]
    analogy: dict[str, Any]
    representations: list[dict[str, str]]
    pairs: list[dict[str, Any]]
    negation: list[dict[str, Any]]


class MapClusters(BaseModel):
    """``/map/clusters``: the cluster columns of ``/map?clusters=true`` alone."""

    generation: int
    clusters: list[int]
    cluster_labels: list[str]


# -- analysis: duplicates, clusters, outliers, recommendations -----------------------------
class DuplicatesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    threshold: float | None = Field(
        default=None, ge=-1.0, le=1.0, description="Cosine; default: the model's calibrated value."
    )
    k: int = Field(default=10, ge=1, le=100, description="Neighbours examined per item.")
    where: Metadata | None = None


class PairOut(BaseModel):
    a: str
    b: str
    score: float


class DuplicateGroupOut(BaseModel):
    ids: list[str]
    size: int
    #: Every member has the very same content (found by hash).
    exact: bool
    score: float
    pairs: list[PairOut]


class DuplicatesResponse(BaseModel):
    #: The cosine used (the model's calibrated default when none was given).
    threshold: float
    groups: list[DuplicateGroupOut]


class ClustersRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    k: int | None = Field(default=None, ge=1, le=1000, description="k-means only; default: auto.")
    method: Literal["kmeans", "hdbscan"] = "kmeans"
    min_size: int | None = Field(default=None, ge=2, le=100_000, description="HDBSCAN only.")
    noise: Literal["keep", "nearest"] = Field(
        default="keep",
        description="HDBSCAN only: leave noise out, or give each noise item its nearest cluster.",
    )
    where: Metadata | None = None


class ClusterOut(BaseModel):
    id: int
    size: int
    label: str
    terms: list[str]
    central: list[str]
    ids: list[str]


class ClustersResponse(BaseModel):
    clusters: list[ClusterOut]


class OutliersRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    k: int = Field(default=20, ge=1, le=200)
    by: Literal["lof", "knn"] = "lof"
    limit: int = Field(default=10, ge=1, le=1000)
    where: Metadata | None = None


class OutlierOut(BaseModel):
    id: str
    score: float
    knn_distance: float
    lof: float


class OutliersResponse(BaseModel):
    outliers: list[OutlierOut]


class RecommendRequest(BaseModel):
    """Ids of stored items (or free texts) liked and disliked, and/or a typed description."""

    model_config = ConfigDict(extra="forbid")
    liked: list[str] = Field(default_factory=list)
    disliked: list[str] = Field(default_factory=list)
    query: str | None = Field(default=None, min_length=1, max_length=MAX_QUERY_CHARS)
    k: int = Field(default=10, ge=1, le=1000)
    diversity: float = Field(default=0.0, ge=0.0, le=1.0)
    exclude: list[str] = Field(default_factory=list)
    where: Metadata | None = None


# -- several spaces: listing, creating, dropping; backups ------------------------------------
class ServerHealth(BaseModel):
    """``/health`` of a server of several spaces (each has its own /spaces/{name}/health)."""

    status: Literal["ok"] = "ok"
    spaces: int


class SpaceOut(BaseModel):
    name: str
    items: int
    model: str | None
    dim: int


class SpaceList(BaseModel):
    spaces: list[SpaceOut]


class CreateSpaceRequest(BaseModel):
    """A new empty space. ``model``: "default", a packaged model's name, or null for a
    space of your own vectors (then ``dim`` is required)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME_PATTERN, max_length=MAX_LENGTH)
    model: str | None = "default"
    dim: int | None = Field(default=None, ge=1, le=65_536)


class BackupOut(BaseModel):
    id: str
    created: str
    generation: int
    items: int
    chunks: int
    bytes: int


class BackupList(BaseModel):
    backups: list[BackupOut]


class RestoreRequest(BaseModel):
    """Which of this space's backups to restore; ``force`` must be true, since it
    replaces the space (as ``embedspace restore --force`` does)."""

    model_config = ConfigDict(extra="forbid")
    backup: str = Field(pattern=BACKUP_ID_PATTERN)
    force: bool = False


class RestoreOut(BaseModel):
    backup: str
    generation: int
    items: int
    chunks: int
    notes: list[str]
