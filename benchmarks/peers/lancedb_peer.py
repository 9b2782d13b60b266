"""LanceDB as a peer (``.venv-lancedb``): an embedded table of precomputed vectors plus
LanceDB's native full-text index, the hybrid setup its documentation describes.

LanceDB has no built-in local ONNX embedder (its registry's local option is
sentence-transformers on torch), so the vectors come from fastembed on our fp32 export,
the same code that embeds for the Qdrant peer (``benchmarks/fastembed_peer.load_model``),
and that time is part of ingest. Vector search is LanceDB's default flat scan (no ANN index
is built at these sizes); the ``bucket`` column gets a scalar index for prefiltering.
Hybrid = ``query_type="hybrid"`` with its default reciprocal-rank-fusion reranker.

Fed pre-computed vectors (the 100k and 1M runs) it stores the same columns, no model is
loaded, and from ANN_FROM rows it builds the ANN index LanceDB's documentation advises
beyond brute-force sizes: IVF_HNSW_SQ (its most accurate index type; IVF_PQ, the default,
trades recall for memory), searched with its default settings.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

from benchmarks.peers.protocol import ModelFiles, VectorBatch

TABLE = "peers"
#: rows from which the vector runs build an ANN index (below, LanceDB's flat scan)
ANN_FROM = 200_000


class LancePeer:
    label = f"LanceDB {package_metadata.version('lancedb')} (flat + native FTS, fastembed fp32)"

    def __init__(self) -> None:
        self._db: Any = None
        self._table: Any = None
        self._model: Any = None

    def open(self, folder: Path, model: ModelFiles) -> None:
        from benchmarks.fastembed_peer import load_model

        if self._model is None:
            self._model = load_model(model.onnx_folder, model.threads)
        self.open_vectors(folder, 384)

    def open_vectors(self, folder: Path, dim: int) -> None:
        import lancedb

        self._db = lancedb.connect(str(folder))
        self._table = self._db.open_table(TABLE) if TABLE in self._db.table_names() else None

    def _embed(self, texts: list[str]) -> Any:
        import numpy as np

        return np.stack(list(self._model.embed(texts))).astype(np.float32)

    def _rows(self, texts: list[str], ids: list[str], metadata: list[dict[str, int]],
              vectors: Any = None) -> Any:  # fmt: skip
        """An Arrow table of the items; ``vectors`` None = embed ``texts``."""
        import pyarrow as pa

        vectors = self._embed(texts) if vectors is None else vectors
        columns: dict[str, Any] = {"id": ids, "text": texts}
        for field in metadata[0]:
            columns[field] = [m[field] for m in metadata]
        columns["vector"] = pa.FixedSizeListArray.from_arrays(
            pa.array(vectors.reshape(-1)), vectors.shape[1]
        )
        return pa.table(columns)

    def ingest(self, texts: list[str], ids: list[str], metadata: list[dict[str, int]]) -> None:
        self._table = self._db.create_table(TABLE, self._rows(texts, ids, metadata),
                                            mode="overwrite")  # fmt: skip
        self._table.create_fts_index("text")
        for field in metadata[0]:
            self._table.create_scalar_index(field)

    def ingest_vectors(self, batches: Iterable[VectorBatch]) -> None:
        rows = 0
        for batch in batches:
            table = self._rows(batch.texts, batch.ids, batch.metadata, batch.vectors)
            if self._table is None:
                self._table = self._db.create_table(TABLE, table, mode="overwrite")
            else:
                self._table.add(table)
            rows += len(batch.ids)
        self._table.optimize()  # one compacted version, as after a bulk load
        if rows >= ANN_FROM:
            self._table.create_index(metric="cosine", vector_column_name="vector",
                                     index_type="IVF_HNSW_SQ")  # fmt: skip
        self._table.create_scalar_index("bucket")

    def search_vector(self, vector: Any, k: int) -> list[str]:
        return self._ids(self._table.search(vector).limit(k))

    def search_vector_filtered(self, vector: Any, k: int, field: str, value: int) -> list[str]:
        return self._ids(self._table.search(vector).where(f"{field} = {value}",
                                                          prefilter=True).limit(k))  # fmt: skip

    def write_vector(self, text: str, id: str, metadata: dict[str, int], vector: Any) -> None:
        self._upsert(self._rows([text], [id], [metadata], vector[None, :]))

    def _ids(self, query: Any) -> list[str]:
        return list(query.select(["id"]).to_arrow()["id"].to_pylist())

    def search(self, query: str, k: int) -> list[str]:
        return self._ids(self._table.search(self._embed([query])[0]).limit(k))

    def search_hybrid(self, query: str, k: int) -> list[str]:
        builder = self._table.search(query_type="hybrid").vector(self._embed([query])[0])
        return self._ids(builder.text(query).limit(k))

    def search_filtered(self, query: str, k: int, field: str, value: int) -> list[str]:
        return self.search_vector_filtered(self._embed([query])[0], k, field, value)

    def write(self, text: str, id: str, metadata: dict[str, int]) -> None:
        self._upsert(self._rows([text], [id], [metadata]))

    def _upsert(self, rows: Any) -> None:
        self._table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all(
        ).execute(rows)  # fmt: skip

    def close(self) -> None:
        self._db = self._table = None


def make_peer() -> LancePeer:
    return LancePeer()
