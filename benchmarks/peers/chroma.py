"""Chroma as a peer: ``PersistentClient`` with its default embedding function,
``ONNXMiniLM_L6_V2`` (all-MiniLM-L6-v2 in ONNX Runtime, fp32), run in ``.venv-chroma``.

That function downloads its model into ``~/.cache/chroma/onnx_models/all-MiniLM-L6-v2/onnx``
on first use; here its class attribute ``DOWNLOAD_PATH`` points at a temporary folder laid
out the same way with links to our fp32 export, so the files it finds are there and it
never downloads. Chroma pads every text to 256 tokens (its tokenizer setup): that is the
tool as shipped, so it is measured that way.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

from benchmarks.peers.protocol import ModelFiles, NotSupported, VectorBatch

#: the files its embedding function checks for before it would download
FILES = ("config.json", "special_tokens_map.json", "tokenizer_config.json", "tokenizer.json",
         "vocab.txt")  # fmt: skip


def model_layout(model: ModelFiles) -> Path:
    """A folder shaped like Chroma's model cache, linking to our export's files."""
    root = Path(tempfile.mkdtemp(prefix="chroma-model-"))
    onnx = root / "onnx"
    onnx.mkdir()
    (onnx / "model.onnx").symlink_to(model.onnx_folder / "onnx" / "model.onnx")
    for name in FILES:
        (onnx / name).symlink_to(model.onnx_folder / name)
    return root


class ChromaPeer:
    label = f"Chroma {package_metadata.version('chromadb')} (PersistentClient, ONNX MiniLM fp32)"

    def __init__(self) -> None:
        self._client: Any = None
        self._collection: Any = None
        self._layout: Path | None = None

    def open(self, folder: Path, model: ModelFiles) -> None:
        from chromadb.utils.embedding_functions import ONNXMiniLM_L6_V2

        if self._layout is None:
            self._layout = model_layout(model)
        ONNXMiniLM_L6_V2.DOWNLOAD_PATH = self._layout
        self._connect(folder, ONNXMiniLM_L6_V2(preferred_providers=["CPUExecutionProvider"]))

    def open_vectors(self, folder: Path, dim: int) -> None:
        """The same client and collection with no embedding function: vectors are given."""
        self._connect(folder, None)

    def _connect(self, folder: Path, function: Any) -> None:
        import chromadb
        from chromadb.config import Settings

        self._client = chromadb.PersistentClient(
            path=str(folder), settings=Settings(anonymized_telemetry=False)
        )
        self._collection = self._client.get_or_create_collection(
            "peers", embedding_function=function, metadata={"hnsw:space": "cosine"}
        )

    def ingest_vectors(self, batches: Iterable[VectorBatch]) -> None:
        most = self._client.get_max_batch_size()
        for batch in batches:
            for start in range(0, len(batch.ids), most):
                end = start + most
                self._collection.add(ids=batch.ids[start:end], embeddings=batch.vectors[start:end],
                                     documents=batch.texts[start:end],
                                     metadatas=batch.metadata[start:end])  # fmt: skip

    def _by_vector(self, vector: Any, k: int, where: dict[str, int] | None = None) -> list[str]:
        found = self._collection.query(query_embeddings=[vector], n_results=k, where=where,
                                       include=[])  # fmt: skip
        return list(found["ids"][0])

    def search_vector(self, vector: Any, k: int) -> list[str]:
        return self._by_vector(vector, k)

    def search_vector_filtered(self, vector: Any, k: int, field: str, value: int) -> list[str]:
        return self._by_vector(vector, k, {field: value})

    def write_vector(self, text: str, id: str, metadata: dict[str, int], vector: Any) -> None:
        self._collection.upsert(ids=[id], embeddings=[vector], documents=[text],
                                metadatas=[metadata])  # fmt: skip

    def ingest(self, texts: list[str], ids: list[str], metadata: list[dict[str, int]]) -> None:
        batch = self._client.get_max_batch_size()
        for start in range(0, len(texts), batch):
            end = start + batch
            self._collection.add(
                ids=ids[start:end], documents=texts[start:end], metadatas=metadata[start:end]
            )

    def _ids(self, query: str, k: int, where: dict[str, int] | None = None) -> list[str]:
        found = self._collection.query(query_texts=[query], n_results=k, where=where,
                                       include=[])  # fmt: skip
        return list(found["ids"][0])

    def search(self, query: str, k: int) -> list[str]:
        return self._ids(query, k)

    def search_hybrid(self, query: str, k: int) -> list[str]:
        raise NotSupported(
            "Chroma's hybrid search (sparse BM25 index + rank fusion, the Search API) runs on "
            "Chroma Cloud / a distributed Chroma, not in PersistentClient"
        )

    def search_filtered(self, query: str, k: int, field: str, value: int) -> list[str]:
        return self._ids(query, k, {field: value})

    def write(self, text: str, id: str, metadata: dict[str, int]) -> None:
        self._collection.upsert(ids=[id], documents=[text], metadatas=[metadata])

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = self._collection = None


def make_peer() -> ChromaPeer:
    return ChromaPeer()
