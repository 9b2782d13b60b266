"""Routes over the Space: health, search, similar, items, classify, the map and analyses
(duplicates, clusters, outliers, recommend).

Each handler validates, then runs the blocking work in a worker thread so the event
loop keeps serving other requests while a model encodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from .images import decode_image
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
from .service import SpaceService

if TYPE_CHECKING:
    from ..analysis.classify import Prediction as LabelScore
    from ..search.results import Hit

router = APIRouter()


def _service(request: Request) -> SpaceService:
    return request.app.state.service


def _hits(hits: Sequence[Hit]) -> list[HitOut]:
    return [HitOut(**hit.to_dict()) for hit in hits]


def _predictions(predictions: Sequence[LabelScore]) -> list[Prediction]:
    return [Prediction(label=p.label, score=p.score) for p in predictions]


@router.get("/health", response_model=Health, tags=["space"])
async def health(request: Request) -> Health:
    return Health(**await run_in_threadpool(_service(request).health))


@router.post("/search", response_model=SearchResponse, tags=["space"])
async def search(body: SearchRequest, request: Request) -> SearchResponse:
    options = body.model_dump(exclude={"query"})
    hits, position = await run_in_threadpool(_service(request).search, body.query, **options)
    return SearchResponse(hits=_hits(hits), position=position)


@router.post("/context", response_model=ContextResponse, tags=["space"])
async def context(body: ContextRequest, request: Request) -> ContextResponse:
    """Prompt-ready passages for a question, with citations (item id + character span)."""
    options = body.model_dump(exclude={"question"})
    result = await run_in_threadpool(_service(request).context, body.question, **options)
    return ContextResponse(**result.to_dict())


@router.post("/search_image", response_model=ImageSearchResponse, tags=["space"])
async def search_image(body: ImageSearchRequest, request: Request) -> ImageSearchResponse:
    image = await run_in_threadpool(decode_image, body.image)
    hits, predictions, position = await run_in_threadpool(
        _service(request).search_image, image, body.k, body.where, body.labels
    )
    return ImageSearchResponse(
        hits=_hits(hits),
        position=position,
        predictions=_predictions(predictions),
    )


@router.post("/similar/{id:path}", response_model=SearchResponse, tags=["space"])
async def similar(id: str, body: SimilarRequest, request: Request) -> SearchResponse:
    hits = await run_in_threadpool(_service(request).similar, id, body.k, body.where)
    return SearchResponse(hits=_hits(hits))


@router.post("/items", response_model=IdsResponse, tags=["items"])
async def add_items(body: AddRequest, request: Request) -> IdsResponse:
    service = _service(request)
    service.check_batch(len(body.items), "items")
    items = [it.model_dump() for it in body.items]
    return IdsResponse(ids=await run_in_threadpool(service.add, items))


@router.get("/items/{id:path}", response_model=ItemOut, tags=["items"])
async def get_item(id: str, request: Request) -> ItemOut:
    item = await run_in_threadpool(_service(request).get, id)
    return ItemOut(**item.to_dict())


@router.patch("/items/{id:path}", response_model=ItemOut, tags=["items"])
async def update_item(id: str, body: UpdateRequest, request: Request) -> ItemOut:
    item = await run_in_threadpool(_service(request).update, id, body.text, body.metadata)
    return ItemOut(**item.to_dict())


@router.delete("/items/{id:path}", response_model=DeleteResponse, tags=["items"])
async def delete_item(id: str, request: Request) -> DeleteResponse:
    return DeleteResponse(deleted=await run_in_threadpool(_service(request).delete, [id]))


@router.post("/items/delete", response_model=DeleteResponse, tags=["items"])
async def delete_items(body: DeleteRequest, request: Request) -> DeleteResponse:
    return DeleteResponse(deleted=await run_in_threadpool(_service(request).delete, body.ids))


@router.post("/classify", response_model=list[Prediction], tags=["space"])
async def classify(body: ClassifyRequest, request: Request) -> list[Prediction]:
    predictions = await run_in_threadpool(
        _service(request).classify, body.id, body.text, body.labels
    )
    return _predictions(predictions)


@router.post("/compare", response_model=CompareResponse, tags=["space"])
async def compare(body: CompareRequest, request: Request) -> CompareResponse:
    """Cosine of two texts under one-hot, bag-of-words, TF-IDF, mean GloVe, dense..."""
    return CompareResponse(**await run_in_threadpool(_service(request).compare, body.a, body.b))


@router.get("/map", response_model=MapResponse, tags=["space"])
async def space_map(
    request: Request, color_by: str | None = None, clusters: bool = False
) -> MapResponse:
    """Every item's 2-D position (PCA), optionally grouped by a metadata key; with
    ``clusters=true`` also each item's cluster (k-means, automatic k) and cluster labels."""
    service = _service(request)
    projected = await run_in_threadpool(service.map)
    columns = projected.to_columns(color_by)
    if clusters:
        numbers, labels = await run_in_threadpool(service.map_clusters, projected)
        columns |= {"clusters": numbers, "cluster_labels": labels}
    return MapResponse(**columns)


@router.get("/map/clusters", response_model=MapClusters, tags=["space"])
async def map_clusters(request: Request) -> MapClusters:
    """Each /map point's cluster (same order; -1 = none) and the cluster labels, without
    the map itself: the explorer draws the points first and colours them when this comes."""
    service = _service(request)
    projected = await run_in_threadpool(service.map)
    numbers, labels = await run_in_threadpool(service.map_clusters, projected)
    return MapClusters(generation=projected.generation, clusters=numbers, cluster_labels=labels)


@router.get(
    "/thumbnails/{name}",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}}},
    tags=["space"],
)
async def thumbnail(name: str, request: Request) -> FileResponse:
    """An image item's thumbnail (a JPEG of at most 256 px), by the name ``/map`` lists."""
    path = await run_in_threadpool(_service(request).thumbnail, name)
    # private: behind an API key the picture is the key holder's, not a shared cache's
    return FileResponse(
        path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"}
    )


@router.post("/duplicates", response_model=DuplicatesResponse, tags=["analysis"])
async def duplicates(body: DuplicatesRequest, request: Request) -> DuplicatesResponse:
    """Groups of near-duplicate items, largest first (paraphrases and exact copies)."""
    threshold, groups = await run_in_threadpool(
        _service(request).duplicates, body.threshold, body.k, body.where
    )
    return DuplicatesResponse(
        threshold=threshold, groups=[DuplicateGroupOut(**g.to_dict()) for g in groups]
    )


@router.post("/clusters", response_model=ClustersResponse, tags=["analysis"])
async def clusters(body: ClustersRequest, request: Request) -> ClustersResponse:
    """Topics: k-means (automatic k unless given) or HDBSCAN (noise left out, or given
    its nearest cluster with ``noise="nearest"``)."""
    found = await run_in_threadpool(_service(request).clusters, **body.model_dump())
    return ClustersResponse(clusters=[ClusterOut(**c.to_dict()) for c in found])


@router.post("/outliers", response_model=OutliersResponse, tags=["analysis"])
async def outliers(body: OutliersRequest, request: Request) -> OutliersResponse:
    """The items least like their neighbours (local outlier factor, k-NN distance)."""
    found = await run_in_threadpool(
        _service(request).outliers, body.k, body.by, body.limit, body.where
    )
    return OutliersResponse(outliers=[OutlierOut(**o.to_dict()) for o in found])


@router.post("/recommend", response_model=SearchResponse, tags=["analysis"])
async def recommend(body: RecommendRequest, request: Request) -> SearchResponse:
    """Items to suggest from liked/disliked ids (or texts) and/or a typed description."""
    options = body.model_dump(exclude={"liked", "disliked"})
    hits = await run_in_threadpool(
        _service(request).recommend, body.liked, body.disliked, **options
    )
    return SearchResponse(hits=_hits(hits))
