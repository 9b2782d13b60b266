"""Routes over one space: health, search, similar, items, classify, the map and analyses
(duplicates, clusters, outliers, recommend). app.py mounts this one router at the root
(``serve SPACE``) and under ``/spaces/{name}``; access.py says which space a request is
about and each route the scope it needs (``WRITE`` for changes, ``READ`` for the rest).

Each handler validates, then runs the blocking work in a worker thread so the event
loop keeps serving other requests while a model encodes; expensive work (re-ranking,
whole-space analyses, images) goes through the bounded heavy lane (limits.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from .access import READ, SPACE, WRITE, require, service_of
from .images import decode_image
from .limits import work
from .schemas import (
    AddRequest,
    ClassifyRequest,
    ClusterOut,
    ClustersRequest,
    ClustersResponse,
    CompareRequest,
    CompareResponse,
    ContextRequest,
    ContextResponse,
    DeleteRequest,
    DeleteResponse,
    DuplicateGroupOut,
    DuplicatesRequest,
    DuplicatesResponse,
    Health,
    HitOut,
    IdsResponse,
    ImageSearchRequest,
    ImageSearchResponse,
    ItemOut,
    MapClusters,
    MapMethod,
    MapResponse,
    OutlierOut,
    OutliersRequest,
    OutliersResponse,
    Prediction,
    RecommendRequest,
    SearchRequest,
    SearchResponse,
    SimilarRequest,
    UpdateRequest,
)

if TYPE_CHECKING:
    from ..analysis.classify import Prediction as LabelScore
    from ..search.results import Hit

router = APIRouter()


def _hits(hits: Sequence[Hit]) -> list[HitOut]:
    return [HitOut(**hit.to_dict()) for hit in hits]


def _predictions(predictions: Sequence[LabelScore]) -> list[Prediction]:
    return [Prediction(label=p.label, score=p.score) for p in predictions]


@router.get("/health", response_model=Health, tags=["space"], dependencies=[READ])
async def health(request: Request) -> Health:
    return Health(**await work(request, service_of(request).health))


@router.post("/search", response_model=SearchResponse, tags=["space"], dependencies=[READ])
async def search(body: SearchRequest, request: Request) -> SearchResponse:
    options = body.model_dump(exclude={"query"})
    service = service_of(request)
    hits, position = await work(request, service.search, body.query, heavy=body.rerank, **options)
    return SearchResponse(hits=_hits(hits), position=position)


@router.post("/context", response_model=ContextResponse, tags=["space"], dependencies=[READ])
async def context(body: ContextRequest, request: Request) -> ContextResponse:
    """Prompt-ready passages for a question, with citations (item id + character span)."""
    options = body.model_dump(exclude={"question"})
    service = service_of(request)
    result = await work(request, service.context, body.question, heavy=body.rerank, **options)
    return ContextResponse(**result.to_dict())


@router.post(
    "/search_image", response_model=ImageSearchResponse, tags=["space"], dependencies=[READ]
)
async def search_image(body: ImageSearchRequest, request: Request) -> ImageSearchResponse:
    service = service_of(request)
    image = await work(request, decode_image, body.image, heavy=True)
    hits, predictions, position = await work(
        request, service.search_image, image, body.k, body.where, body.labels, heavy=True
    )
    return ImageSearchResponse(
        hits=_hits(hits),
        position=position,
        predictions=_predictions(predictions),
    )


@router.post(
    "/similar/{id:path}", response_model=SearchResponse, tags=["space"], dependencies=[READ]
)
async def similar(id: str, body: SimilarRequest, request: Request) -> SearchResponse:
    hits = await work(request, service_of(request).similar, id, body.k, body.where)
    return SearchResponse(hits=_hits(hits))


@router.post("/items", response_model=IdsResponse, tags=["items"], dependencies=[WRITE])
async def add_items(body: AddRequest, request: Request) -> IdsResponse:
    service = service_of(request)
    service.check_batch(len(body.items), "items")
    items = [it.model_dump() for it in body.items]
    return IdsResponse(ids=await work(request, service.add, items))


@router.get("/items/{id:path}", response_model=ItemOut, tags=["items"], dependencies=[READ])
async def get_item(id: str, request: Request) -> ItemOut:
    item = await work(request, service_of(request).get, id)
    return ItemOut(**item.to_dict())


@router.patch("/items/{id:path}", response_model=ItemOut, tags=["items"], dependencies=[WRITE])
async def update_item(id: str, body: UpdateRequest, request: Request) -> ItemOut:
    service = service_of(request)
    item = await work(request, service.update, id, body.text, body.metadata)
    return ItemOut(**item.to_dict())


@router.delete(
    "/items/{id:path}", response_model=DeleteResponse, tags=["items"], dependencies=[WRITE]
)
async def delete_item(id: str, request: Request) -> DeleteResponse:
    return DeleteResponse(deleted=await work(request, service_of(request).delete, [id]))


@router.post("/items/delete", response_model=DeleteResponse, tags=["items"], dependencies=[WRITE])
async def delete_items(body: DeleteRequest, request: Request) -> DeleteResponse:
    return DeleteResponse(deleted=await work(request, service_of(request).delete, body.ids))


@router.post("/classify", response_model=list[Prediction], tags=["space"], dependencies=[READ])
async def classify(body: ClassifyRequest, request: Request) -> list[Prediction]:
    predictions = await work(request, service_of(request).classify, body.id, body.text, body.labels)
    return _predictions(predictions)


@router.post("/compare", response_model=CompareResponse, tags=["space"], dependencies=[READ])
async def compare(body: CompareRequest, request: Request) -> CompareResponse:
    """Cosine of two texts under one-hot, bag-of-words, TF-IDF, mean GloVe, dense..."""
    return CompareResponse(**await work(request, service_of(request).compare, body.a, body.b))


@router.get("/map", response_model=MapResponse, tags=["space"], dependencies=[READ])
async def space_map(
    request: Request,
    method: MapMethod = "auto",
    color_by: str | None = None,
    clusters: bool = False,
    relayout: bool = False,
) -> MapResponse:
    """Every item's 2-D position: ``method`` "auto" (the default: neighbours stay
    neighbours, UMAP over the k-NN graph; PCA with a ``notice`` when it cannot be had),
    "umap", or "pca" (instant, for a first paint); ``relayout=true`` lays the space out
    anew (it rewrites the cached layout in the space: a write key's right). Optionally
    grouped by a metadata key; with ``clusters=true`` also each item's cluster (k-means,
    automatic k) and the cluster labels."""
    if relayout:
        require(request, "write", request.scope.get(SPACE))
    service = service_of(request)
    projected = await work(request, service.map, method, relayout=relayout, heavy=method != "pca")
    columns = projected.to_columns(color_by)
    if clusters:
        numbers, labels = await work(request, service.map_clusters, projected, heavy=True)
        columns |= {"clusters": numbers, "cluster_labels": labels}
    return MapResponse(**columns)


@router.get("/map/clusters", response_model=MapClusters, tags=["space"], dependencies=[READ])
async def map_clusters(request: Request, method: MapMethod = "auto") -> MapClusters:
    """Each point's cluster on the /map of ``method`` (same order; -1 = none) and the
    cluster labels, without the map itself: the explorer draws the points first and
    colours them (and labels the islands) when this comes."""
    service = service_of(request)
    projected = await work(request, service.map, method, heavy=method != "pca")
    numbers, labels = await work(request, service.map_clusters, projected, heavy=True)
    return MapClusters(generation=projected.generation, clusters=numbers, cluster_labels=labels)


@router.get(
    "/thumbnails/{thumbnail}",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}}},
    tags=["space"],
    dependencies=[READ],
)
async def thumbnail(thumbnail: str, request: Request) -> FileResponse:
    """An image item's thumbnail (a JPEG of at most 256 px), by the name ``/map`` lists."""
    path = await work(request, service_of(request).thumbnail, thumbnail)
    # private: behind an API key the picture is the key holder's, not a shared cache's
    return FileResponse(
        path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"}
    )


@router.post(
    "/duplicates", response_model=DuplicatesResponse, tags=["analysis"], dependencies=[READ]
)
async def duplicates(body: DuplicatesRequest, request: Request) -> DuplicatesResponse:
    """Groups of near-duplicate items, largest first (paraphrases and exact copies)."""
    service = service_of(request)
    threshold, groups = await work(
        request, service.duplicates, body.threshold, body.k, body.where, heavy=True
    )
    return DuplicatesResponse(
        threshold=threshold, groups=[DuplicateGroupOut(**g.to_dict()) for g in groups]
    )


@router.post("/clusters", response_model=ClustersResponse, tags=["analysis"], dependencies=[READ])
async def clusters(body: ClustersRequest, request: Request) -> ClustersResponse:
    """Topics: k-means (automatic k unless given) or HDBSCAN (noise left out, or given
    its nearest cluster with ``noise="nearest"``)."""
    found = await work(request, service_of(request).clusters, heavy=True, **body.model_dump())
    return ClustersResponse(clusters=[ClusterOut(**c.to_dict()) for c in found])


@router.post("/outliers", response_model=OutliersResponse, tags=["analysis"], dependencies=[READ])
async def outliers(body: OutliersRequest, request: Request) -> OutliersResponse:
    """The items least like their neighbours (local outlier factor, k-NN distance)."""
    service = service_of(request)
    found = await work(
        request, service.outliers, body.k, body.by, body.limit, body.where, heavy=True
    )
    return OutliersResponse(outliers=[OutlierOut(**o.to_dict()) for o in found])


@router.post("/recommend", response_model=SearchResponse, tags=["analysis"], dependencies=[READ])
async def recommend(body: RecommendRequest, request: Request) -> SearchResponse:
    """Items to suggest from liked/disliked ids (or texts) and/or a typed description."""
    options = body.model_dump(exclude={"liked", "disliked"})
    service = service_of(request)
    hits = await work(request, service.recommend, body.liked, body.disliked, **options)
    return SearchResponse(hits=_hits(hits))
