"""embedspace's default ``Space`` as a peer (runs in the project's own ``.venv``).

The packaged default model (int8 ONNX MiniLM, no download), the default index ("auto":
exact below 50k chunks, HNSW above), convex hybrid fusion, ``where=`` filters. The query
cache is turned off (``EMBEDSPACE_QUERY_CACHE_MB=0``) so every timed query is encoded,
as it is in every other tool.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

from benchmarks.peers.protocol import ModelFiles, VectorBatch


class EmbedspacePeer:
    label = f"embedspace {package_metadata.version('embedspace')} (Space, default model)"

    def __init__(self) -> None:
        self._space: Any = None

    def open(self, folder: Path, model: ModelFiles) -> None:
        os.environ["EMBEDSPACE_QUERY_CACHE_MB"] = "0"
        os.environ["EMBEDSPACE_THREADS"] = str(model.threads)
        import embedspace as es

        self._space = es.Space(folder, progress=False)

    def open_vectors(self, folder: Path, dim: int) -> None:
        """A bring-your-own-vectors space (``model=None``), default index and storage."""
        os.environ["EMBEDSPACE_THREADS"] = "2"
        import embedspace as es

        self._space = es.Space(folder, model=None, dim=dim, progress=False)

    def ingest(self, texts: list[str], ids: list[str], metadata: list[dict[str, int]]) -> None:
        self._space.add(texts, ids=ids, metadata=metadata)
        self._space.refresh()  # searchable now: the view (and an ANN index above 50k) built

    def ingest_vectors(self, batches: Iterable[VectorBatch]) -> None:
        for batch in batches:
            self._space.add_vectors(batch.vectors, ids=batch.ids, metadata=batch.metadata,
                                    texts=batch.texts)  # fmt: skip
        self._space.refresh()

    def search_vector(self, vector: Any, k: int) -> list[str]:
        return [h.id for h in self._space.search_vector(vector, k=k)]

    def search_vector_filtered(self, vector: Any, k: int, field: str, value: int) -> list[str]:
        return [h.id for h in self._space.search_vector(vector, k=k, where={field: value})]

    def write_vector(self, text: str, id: str, metadata: dict[str, int], vector: Any) -> None:
        self._space.add_vectors(vector[None, :], ids=[id], metadata=[metadata], texts=[text])

    def search(self, query: str, k: int) -> list[str]:
        return [h.id for h in self._space.search(query, k=k)]

    def search_hybrid(self, query: str, k: int) -> list[str]:
        return [h.id for h in self._space.search(query, k=k, mode="hybrid")]

    def search_filtered(self, query: str, k: int, field: str, value: int) -> list[str]:
        return [h.id for h in self._space.search(query, k=k, where={field: value})]

    def write(self, text: str, id: str, metadata: dict[str, int]) -> None:
        self._space.add([text], ids=[id], metadata=[metadata])

    def close(self) -> None:
        if self._space is not None:
            self._space.close()
            self._space = None


def make_peer() -> EmbedspacePeer:
    return EmbedspacePeer()
