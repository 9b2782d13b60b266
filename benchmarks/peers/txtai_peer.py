"""txtai as a peer (``.venv-txtai``, CPU torch): ``Embeddings(path=<the local
sentence-transformers folder>, content=True, hybrid=True)``, its documented setup for
semantic + keyword search with stored content and SQL filters.

txtai embeds with its own transformers pipeline (mean pooling, torch fp32), capped at the
256 tokens sentence-transformers uses (``maxlength``); the dense index is its default
(Faiss). An index built with ``hybrid=True`` always scores both legs, so "dense" is the
search with ``weights=1.0`` (all weight on the vectors) and "hybrid" its default 0.5.
Persistence is an explicit ``save``, which ingest includes; writes are ``upsert``.

Fed pre-computed vectors, it is txtai's documented external-vectors setup
(``method="external"`` with a ``transform`` function) with ``content=True`` for the
filters: the transform hands txtai the given vectors (a text, or a query's key, looked up
in a table the adapter fills just before each call), so nothing is embedded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

from benchmarks.peers.protocol import ModelFiles, VectorBatch

#: sentence-transformers' window for this model (sentence_bert_config.json)
MAX_TOKENS = 256


class TxtaiPeer:
    label = f"txtai {package_metadata.version('txtai')} (hybrid=True, Faiss, torch fp32)"

    def __init__(self) -> None:
        self._embeddings: Any = None
        self._folder: Path | None = None
        #: text (or query key) -> its vector, for the external transform; entries are
        #: taken out as txtai asks for them, so only what it has not embedded yet is held
        self._given: dict[str, Any] = {}
        self._queries = 0

    def open(self, folder: Path, model: ModelFiles) -> None:
        import torch
        from txtai import Embeddings

        torch.set_num_threads(model.threads)
        self._folder = folder
        self._embeddings = Embeddings(path=str(model.st_folder), content=True, hybrid=True,
                                      maxlength=MAX_TOKENS)  # fmt: skip
        if (folder / "config.json").is_file():
            self._embeddings.load(str(folder))

    def open_vectors(self, folder: Path, dim: int) -> None:
        from txtai import Embeddings

        self._folder = folder
        transform = self._transform()
        self._embeddings = Embeddings(method="external", transform=transform, content=True,
                                      dimensions=dim)  # fmt: skip
        if (folder / "config.json").is_file():
            self._embeddings.load(str(folder), config={"transform": transform})

    def _transform(self) -> Callable[[list[str]], Any]:
        """A plain function (txtai calls any other callable to build one) that returns
        the vectors given for ``texts``."""
        import numpy as np

        given = self._given

        def transform(texts: list[str]) -> Any:
            return np.stack([given.pop(t) for t in texts])

        return transform

    def _rows(self, batches: Iterable[VectorBatch]) -> Iterator[tuple[str, dict[str, Any], None]]:
        for batch in batches:
            for i, t, m, v in zip(batch.ids, batch.texts, batch.metadata, batch.vectors,
                                  strict=True):  # fmt: skip
                self._given[t] = v
                yield i, {"text": t, **m}, None

    def ingest_vectors(self, batches: Iterable[VectorBatch]) -> None:
        self._embeddings.index(self._rows(batches))
        self._embeddings.save(str(self._folder))

    def _key(self, vector: Any) -> str:
        self._queries += 1
        key = f"query vector {self._queries}"
        self._given[key] = vector
        return key

    def search_vector(self, vector: Any, k: int) -> list[str]:
        return [r["id"] for r in self._embeddings.search(self._key(vector), k)]

    def search_vector_filtered(self, vector: Any, k: int, field: str, value: int) -> list[str]:
        sql = f"select id from txtai where similar(:q) and {field} = :v"
        found = self._embeddings.search(sql, k, parameters={"q": self._key(vector), "v": value})
        return [r["id"] for r in found]

    def write_vector(self, text: str, id: str, metadata: dict[str, int], vector: Any) -> None:
        self._given[text] = vector
        self._embeddings.upsert([(id, {"text": text, **metadata}, None)])

    def ingest(self, texts: list[str], ids: list[str], metadata: list[dict[str, int]]) -> None:
        rows = ((i, {"text": t, **m}, None) for i, t, m in zip(ids, texts, metadata, strict=True))
        self._embeddings.index(rows)
        self._embeddings.save(str(self._folder))

    def search(self, query: str, k: int) -> list[str]:
        return [r["id"] for r in self._embeddings.search(query, k, weights=1.0)]

    def search_hybrid(self, query: str, k: int) -> list[str]:
        return [r["id"] for r in self._embeddings.search(query, k)]

    def search_filtered(self, query: str, k: int, field: str, value: int) -> list[str]:
        sql = f"select id from txtai where similar(:q) and {field} = :v"
        found = self._embeddings.search(sql, k, weights=1.0, parameters={"q": query, "v": value})
        return [r["id"] for r in found]

    def write(self, text: str, id: str, metadata: dict[str, int]) -> None:
        self._embeddings.upsert([(id, {"text": text, **metadata}, None)])

    def close(self) -> None:
        if self._embeddings is not None:
            self._embeddings.close()
            self._embeddings = None


def make_peer() -> TxtaiPeer:
    return TxtaiPeer()
