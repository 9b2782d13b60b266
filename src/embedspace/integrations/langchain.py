"""LangChain over embedspace: an ``Embeddings`` and a ``VectorStore`` backed by a Space.

``EmbedspaceVectorStore(path)`` lets the space embed with its own model, so everything
a space does (chunking of long texts, ``mode="hybrid"`` keyword + dense search,
re-ranking) stays available through LangChain's interface. With any other LangChain
``Embeddings`` the space stores that model's vectors instead (a ``model=None`` space, as
``es.Space(path, model=None, dim=N)``), searched by the vector of the query.

Scores: ``similarity_search_with_score`` gives the space's own score, higher is better
(a cosine in dense search); relevance scores are that cosine clipped to [0, 1].
Filters: ``{"lang": "en"}``, ``{"year": {"$gte": 2000}}``, ``$and`` lists; see
``filters.py``. Ids not given are random (uuid4), as in LangChain's own stores: two
documents with the same text but different sources stay two documents.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from ..encoders.base import Encoder
from ..errors import InvalidInputError, MissingDependencyError
from ..search.results import Hit
from ..space import Space
from .encoding import TextEmbedder
from .filters import Condition, unsupported_logic, where_of
from .mmr import DEFAULT_FETCH_K, mmr_search
from .slot import SpaceSlot

try:
    from langchain_core.documents import Document
    from langchain_core.embeddings import Embeddings
    from langchain_core.vectorstores import VectorStore
except ImportError as exc:
    raise MissingDependencyError(
        "the LangChain integration needs langchain-core: pip install 'embedspace[langchain]'"
    ) from exc

#: Keyword arguments LangChain itself passes to add_texts (its indexing API sends
#: batch_size); a space batches its own writes, so they change nothing.
_ADD_OPTIONS = frozenset({"batch_size"})

#: Space metric -> relevance in [0, 1] from the space's score (higher is better).
_RELEVANCE: dict[str, Callable[[float], float]] = {
    "cosine": lambda score: min(1.0, max(0.0, score)),
    "dot": lambda score: min(1.0, max(0.0, score)),  # unit vectors: the cosine
    "euclidean": lambda score: max(0.0, 1.0 + score / math.sqrt(2)),  # score = -distance
}


class EmbedspaceEmbeddings(Embeddings):
    """LangChain embeddings from an embedspace model: ``"default"`` (the packaged
    all-MiniLM-L6-v2, offline), any name ``es.load_encoder`` takes, or an Encoder."""

    def __init__(self, model: str | Encoder = "default") -> None:
        self._embedder = TextEmbedder(model)
        self.model = model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self._embedder.query(text)


class EmbedspaceVectorStore(VectorStore):
    """A LangChain vector store kept in the space at ``path`` (a folder or a
    postgresql:// / milvus:// URI), created if missing.

    ``embedding=None`` (or an ``EmbedspaceEmbeddings``, whose model the space then
    uses): the space embeds texts and queries itself. Any other ``Embeddings``: the
    space stores its vectors. A space keeps the kind it was made with: opening it the
    other way raises ModelMismatchError or InvalidInputError saying which to pass.
    """

    def __init__(self, path: str, embedding: Embeddings | None = None) -> None:
        own = embedding is None or isinstance(embedding, EmbedspaceEmbeddings)
        self._external: Embeddings | None = None if own else embedding
        model = embedding.model if isinstance(embedding, EmbedspaceEmbeddings) else "default"
        self._slot = SpaceSlot(str(path), model if own else None)
        self._own: EmbedspaceEmbeddings | None = None
        if own:
            encoder = self._slot.opened().encoder
            if encoder is None:
                raise InvalidInputError(
                    f"{path} holds vectors from your own embedding model, not texts it embeds "
                    "itself; pass that model: EmbedspaceVectorStore(path, embedding=...)"
                )
            self._own = EmbedspaceEmbeddings(encoder)

    @property
    def space(self) -> Space | None:
        """The space behind the store (None until the first add, for vectors of a new
        space: its dimension comes from them)."""
        return self._slot.space

    @property
    def embeddings(self) -> Embeddings:
        """The model that embeds queries: the space's own, or the one passed in."""
        embeddings = self._own if self._own is not None else self._external
        assert embeddings is not None  # __init__ sets exactly one of them
        return embeddings

    # -- writing --------------------------------------------------------------------------
    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: Sequence[str | None] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Add or overwrite texts by id; ids not given (None) are made up (uuid4)."""
        _check_options("add_texts", kwargs, _ADD_OPTIONS)
        texts = list(texts)
        if not texts:
            return []
        given = list(ids) if ids is not None else [None] * len(texts)
        if len(given) != len(texts):
            raise InvalidInputError(f"got {len(texts)} texts but {len(given)} ids")
        ids_ = [i if i is not None else str(uuid.uuid4()) for i in given]
        metadata = [dict(m) for m in metadatas] if metadatas else [{} for _ in texts]
        if self._external is None:
            return self._slot.opened().add(texts, ids=ids_, metadata=metadata)
        vectors = np.asarray(self._external.embed_documents(texts), dtype=np.float32)
        space = self._slot.for_vectors(vectors.shape[-1])
        return space.add_vectors(vectors, ids=ids_, metadata=metadata, texts=texts)

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool:
        """Delete documents by id; ids that are not there are ignored."""
        _check_options("delete", kwargs)
        if ids is None:
            raise InvalidInputError(
                "pass the ids to delete; a store is never emptied by delete() without ids "
                "(store.delete(store.space.ids()) empties it on purpose)"
            )
        self._slot.delete(ids)
        return True

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """The documents with these ids that exist, in the order asked (each once)."""
        return [
            Document(id=item.id, page_content=item.text, metadata=item.metadata)
            for item in self._slot.found(ids)
        ]

    # -- searching ------------------------------------------------------------------------
    def similarity_search(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **search: Any
    ) -> list[Document]:
        return [doc for doc, _ in self.similarity_search_with_score(query, k, filter, **search)]

    def similarity_search_with_score(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **search: Any
    ) -> list[tuple[Document, float]]:
        """The k best documents with the space's scores (higher is better).

        ``search``: Space.search options (``mode="hybrid"``, ``rerank=True``, ``alpha``...)
        for a space that embeds with its own model.
        """
        where = langchain_where(filter)
        if self._external is None:
            hits = self._slot.opened().search(query, k=k, where=where, **search)
        else:
            if search:
                raise InvalidInputError(
                    f"search options {sorted(search)} need a space that embeds with its own "
                    "model: EmbedspaceVectorStore(path) without embedding="
                )
            hits = self._vector_hits(self._external.embed_query(query), k, where)
        return [(_document(h), h.score) for h in hits]

    def similarity_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        _check_options("similarity_search_by_vector", kwargs)
        return [_document(h) for h in self._vector_hits(embedding, k, langchain_where(filter))]

    def _vector_hits(self, vector: list[float], k: int, where: dict[str, Any] | None) -> list[Hit]:
        if self.space is None:
            return []
        return self.space.search_vector(np.asarray(vector, dtype=np.float32), k=k, where=where)

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        return _RELEVANCE[self.space.metric if self.space is not None else "cosine"]

    def max_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = DEFAULT_FETCH_K,
        lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        _check_options("max_marginal_relevance_search", kwargs)
        vector = self.embeddings.embed_query(query)
        return self.max_marginal_relevance_search_by_vector(vector, k, fetch_k, lambda_mult, filter)

    def max_marginal_relevance_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        fetch_k: int = DEFAULT_FETCH_K,
        lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """k documents among the fetch_k closest, by the space's MMR (see mmr.py)."""
        _check_options("max_marginal_relevance_search_by_vector", kwargs)
        if self.space is None:
            return []
        vector = np.asarray(embedding, dtype=np.float32)
        hits = mmr_search(self.space, vector, k, fetch_k, lambda_mult, langchain_where(filter))
        return [_document(h) for h in hits]

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_texts(  # type: ignore[override]  # LangChain's has no place for the location
        cls,
        texts: list[str],
        embedding: Embeddings | None = None,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        path: str,
        **kwargs: Any,
    ) -> EmbedspaceVectorStore:
        """A store at ``path`` holding ``texts`` (added or overwritten by id)."""
        store = cls(path, embedding)
        store.add_texts(texts, metadatas, ids=ids, **kwargs)
        return store

    def close(self) -> None:
        """Save the space's index (if any) and close its store."""
        self._slot.close()


def _check_options(
    method: str, options: dict[str, Any], allowed: frozenset[str] = frozenset()
) -> None:
    """Refuse keyword arguments nothing here reads, rather than ignore a typo."""
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise InvalidInputError(f"{method} does not take {unknown}")


def _document(hit: Hit) -> Document:
    return Document(id=hit.id, page_content=hit.text, metadata=hit.metadata)


def langchain_where(filter: dict[str, Any] | None) -> dict[str, dict[str, Any]] | None:
    """A LangChain dict filter (Chroma / PGVector style) as a space's ``where``."""
    if filter is None:
        return None
    return where_of(_conditions(filter))


def _conditions(filter: Any) -> Iterator[Condition]:
    if not isinstance(filter, dict):
        raise InvalidInputError(
            f'filter must be a dict such as {{"lang": "en"}}, got {type(filter).__name__}'
        )
    for key, value in filter.items():
        if key == "$and":
            if not isinstance(value, list):
                raise InvalidInputError(f"$and takes a list of filters, got {value!r}")
            for clause in value:
                yield from _conditions(clause)
        elif isinstance(key, str) and key.startswith("$"):
            raise unsupported_logic(key)
        elif isinstance(value, dict):
            yield from ((key, op, operand) for op, operand in value.items())
        else:
            yield key, "$eq", value
