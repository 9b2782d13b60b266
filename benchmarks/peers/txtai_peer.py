"""txtai as a peer (``.venv-txtai``, CPU torch): ``Embeddings(path=<the local
sentence-transformers folder>, content=True, hybrid=True)``, its documented setup for
semantic + keyword search with stored content and SQL filters.

txtai embeds with its own transformers pipeline (mean pooling, torch fp32), capped at the
256 tokens sentence-transformers uses (``maxlength``); the dense index is its default
(Faiss). An index built with ``hybrid=True`` always scores both legs, so "dense" is the
search with ``weights=1.0`` (all weight on the vectors) and "hybrid" its default 0.5.
Persistence is an explicit ``save``, which ingest includes; writes are ``upsert``.
"""

from __future__ import annotations

from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

from benchmarks.peers.protocol import ModelFiles

#: sentence-transformers' window for this model (sentence_bert_config.json)
MAX_TOKENS = 256


class TxtaiPeer:
    label = f"txtai {package_metadata.version('txtai')} (hybrid=True, Faiss, torch fp32)"

    def __init__(self) -> None:
        self._embeddings: Any = None
        self._folder: Path | None = None

    def open(self, folder: Path, model: ModelFiles) -> None:
        import torch
        from txtai import Embeddings

        torch.set_num_threads(model.threads)
        self._folder = folder
        self._embeddings = Embeddings(path=str(model.st_folder), content=True, hybrid=True,
                                      maxlength=MAX_TOKENS)  # fmt: skip
        if (folder / "config.json").is_file():
            self._embeddings.load(str(folder))

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
