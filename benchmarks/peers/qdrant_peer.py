"""Qdrant's local mode with fastembed as a peer (``.venv-qdrant``): ``QdrantClient(path=...)``,
the embedded, in-process Qdrant that its documentation offers for local use, fed by
fastembed (Qdrant's own embedding library) on our fp32 export of the same model.

Qdrant point ids must be integers or UUIDs, so a document's id is kept in its payload and
the point id is a UUID derived from it (an upsert of the same id replaces the point).
Local mode searches by brute force over numpy arrays and ignores payload indexes; that
is the tool as it runs embedded (a server would build HNSW).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

from benchmarks.peers.protocol import ModelFiles, NotSupported, VectorBatch

COLLECTION = "peers"
#: points per upsert call
BATCH = 1024


class QdrantPeer:
    label = (
        f"Qdrant local {package_metadata.version('qdrant-client')} + fastembed "
        f"{package_metadata.version('fastembed')} fp32"
    )

    def __init__(self) -> None:
        self._client: Any = None
        self._model: Any = None

    def open(self, folder: Path, model: ModelFiles) -> None:
        from benchmarks.fastembed_peer import load_model

        if self._model is None:
            self._model = load_model(model.onnx_folder, model.threads)
        self.open_vectors(folder, 384)

    def open_vectors(self, folder: Path, dim: int) -> None:
        from qdrant_client import QdrantClient, models

        self._client = QdrantClient(path=str(folder))
        if not self._client.collection_exists(COLLECTION):
            self._client.create_collection(
                COLLECTION,
                vectors_config=models.VectorParams(size=dim, distance=models.Distance.COSINE),
            )

    def _embed(self, texts: list[str]) -> list[Any]:
        return list(self._model.embed(texts))

    def _points(self, texts: list[str], ids: list[str], metadata: list[dict[str, int]],
                vectors: Any = None) -> Any:  # fmt: skip
        """Points with the document text in the payload (as the text run's tools store
        it); ``vectors`` None = embed ``texts``."""
        from qdrant_client import models

        vectors = self._embed(texts) if vectors is None else vectors
        return [
            models.PointStruct(
                id=str(uuid.uuid5(uuid.NAMESPACE_URL, i)),
                vector=v.tolist(),
                payload={"id": i, "text": t, **m},
            )  # fmt: skip
            for i, t, v, m in zip(ids, texts, vectors, metadata, strict=True)
        ]

    def ingest_vectors(self, batches: Iterable[VectorBatch]) -> None:
        for batch in batches:
            for start in range(0, len(batch.ids), BATCH):
                end = start + BATCH
                self._client.upsert(COLLECTION, self._points(
                    batch.texts[start:end], batch.ids[start:end], batch.metadata[start:end],
                    batch.vectors[start:end]))  # fmt: skip

    def search_vector(self, vector: Any, k: int) -> list[str]:
        return self._by_vector(vector, k)

    def search_vector_filtered(self, vector: Any, k: int, field: str, value: int) -> list[str]:
        return self._by_vector(vector, k, _equals(field, value))

    def write_vector(self, text: str, id: str, metadata: dict[str, int], vector: Any) -> None:
        self._client.upsert(COLLECTION, self._points([text], [id], [metadata], [vector]))

    def ingest(self, texts: list[str], ids: list[str], metadata: list[dict[str, int]]) -> None:
        for start in range(0, len(texts), BATCH):
            end = start + BATCH
            self._client.upsert(COLLECTION, self._points(texts[start:end], ids[start:end],
                                                         metadata[start:end]))  # fmt: skip

    def _by_vector(self, vector: Any, k: int, where: Any = None) -> list[str]:
        found = self._client.query_points(COLLECTION, query=vector.tolist(), limit=k,
                                          query_filter=where, with_payload=["id"])  # fmt: skip
        return [p.payload["id"] for p in found.points]

    def _ids(self, query: str, k: int, where: Any = None) -> list[str]:
        return self._by_vector(self._embed([query])[0], k, where)

    def search(self, query: str, k: int) -> list[str]:
        return self._ids(query, k)

    def search_hybrid(self, query: str, k: int) -> list[str]:
        raise NotSupported(
            "fastembed's keyword model (Qdrant/bm25, sparse vectors) is a hub download; "
            "no local files for it exist here"
        )

    def search_filtered(self, query: str, k: int, field: str, value: int) -> list[str]:
        return self._ids(query, k, _equals(field, value))

    def write(self, text: str, id: str, metadata: dict[str, int]) -> None:
        self._client.upsert(COLLECTION, self._points([text], [id], [metadata]))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _equals(field: str, value: int) -> Any:
    from qdrant_client import models

    return models.Filter(
        must=[models.FieldCondition(key=field, match=models.MatchValue(value=value))]
    )


def make_peer() -> QdrantPeer:
    return QdrantPeer()
