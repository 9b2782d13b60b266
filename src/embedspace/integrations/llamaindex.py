"""LlamaIndex over embedspace: a vector store kept in a Space, and an embed model.

LlamaIndex embeds nodes itself (with ``Settings.embed_model`` or the index's
``embed_model``) and hands the store finished vectors, so the space is a ``model=None``
space holding them, with each node's text beside its vector (keyword search works on
it) and the node itself serialised in the item's metadata, as LlamaIndex's other stores
keep it. ``EmbedspaceEmbedding`` is the embed model that makes those vectors with an
embedspace model offline (the packaged MiniLM by default), so an index needs neither a
download nor an API key.

Query modes: ``default`` (dense), ``mmr`` (the space's own MMR; ``mmr_threshold`` is
LangChain's lambda_mult: 1 = closest first) and ``sparse`` / ``text_search`` (BM25 on the
stored texts). Filters: MetadataFilters with ``and`` and == != > >= < <= in nin, plus
``doc_ids``; anything else is refused by name.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..encoders.base import Encoder
from ..errors import InvalidInputError, MissingDependencyError, NotSupportedError
from ..search.results import Hit
from ..space import Space
from .encoding import TextEmbedder
from .filters import Condition, unsupported_logic, where_of
from .mmr import DEFAULT_FETCH_K, mmr_search
from .slot import SpaceSlot

try:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.bridge.pydantic import PrivateAttr
    from llama_index.core.schema import BaseNode, MetadataMode, TextNode
    from llama_index.core.vector_stores.types import (
        BasePydanticVectorStore,
        FilterCondition,
        FilterOperator,
        MetadataFilter,
        MetadataFilters,
        VectorStoreQuery,
        VectorStoreQueryMode,
        VectorStoreQueryResult,
    )
    from llama_index.core.vector_stores.utils import metadata_dict_to_node, node_to_metadata_dict
except ImportError as exc:
    raise MissingDependencyError(
        "the LlamaIndex integration needs llama-index-core: pip install 'embedspace[llamaindex]'"
    ) from exc

_OPERATORS = {
    FilterOperator.EQ: "$eq",
    FilterOperator.NE: "$ne",
    FilterOperator.GT: "$gt",
    FilterOperator.GTE: "$gte",
    FilterOperator.LT: "$lt",
    FilterOperator.LTE: "$lte",
    FilterOperator.IN: "$in",
    FilterOperator.NIN: "$nin",
}
_KEYWORD_MODES = (VectorStoreQueryMode.SPARSE, VectorStoreQueryMode.TEXT_SEARCH)
_MODES = (VectorStoreQueryMode.DEFAULT, VectorStoreQueryMode.MMR, *_KEYWORD_MODES)
#: vector_store_kwargs the MMR mode reads (LlamaIndex's own names for them).
_QUERY_OPTIONS = frozenset({"mmr_threshold", "mmr_prefetch_k"})


class EmbedspaceEmbedding(BaseEmbedding):
    """A LlamaIndex embed model from an embedspace model: ``"default"`` (the packaged
    all-MiniLM-L6-v2, offline), any name ``es.load_encoder`` takes, or an Encoder."""

    _embedder: TextEmbedder = PrivateAttr()

    def __init__(self, model: str | Encoder = "default", **kwargs: Any) -> None:
        embedder = TextEmbedder(model)
        super().__init__(model_name=embedder.name, **kwargs)
        self._embedder = embedder

    @classmethod
    def class_name(cls) -> str:
        return "EmbedspaceEmbedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embedder.query(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embedder.documents([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.documents(texts)


class EmbedspaceVectorStore(BasePydanticVectorStore):
    """A LlamaIndex vector store kept in the space at ``path`` (a folder or a
    postgresql:// / milvus:// URI); a new space is created at the first add, when the
    nodes' vectors tell its dimension."""

    stores_text: bool = True
    flat_metadata: bool = False
    path: str

    _slot: SpaceSlot = PrivateAttr()

    def __init__(self, path: str, **kwargs: Any) -> None:
        # pydantic fields are keyword arguments (mypy runs without pydantic's plugin)
        super().__init__(path=str(path), **kwargs)  # type: ignore[call-arg]
        self._slot = SpaceSlot(self.path, None)

    @classmethod
    def class_name(cls) -> str:
        return "EmbedspaceVectorStore"

    @property
    def client(self) -> Space | None:
        """The space behind the store (None before the first add to a new one)."""
        return self._slot.space

    def add(self, nodes: Sequence[BaseNode], **add_kwargs: Any) -> list[str]:
        """Store the nodes' vectors, texts and serialised nodes; same id = overwrite."""
        if not nodes:
            return []
        vectors = np.asarray([node.get_embedding() for node in nodes], dtype=np.float32)
        space = self._slot.for_vectors(vectors.shape[-1])
        return space.add_vectors(
            vectors,
            ids=[node.node_id for node in nodes],
            metadata=[
                node_to_metadata_dict(node, remove_text=True, flat_metadata=self.flat_metadata)
                for node in nodes
            ],
            texts=[node.get_content(metadata_mode=MetadataMode.NONE) for node in nodes],
        )

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Delete every node made from the document ``ref_doc_id``."""
        self._slot.delete(self._slot.ids({"ref_doc_id": ref_doc_id}))

    def delete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        """Delete the nodes with these ids (and/or matching ``filters``)."""
        if node_ids is None and filters is None:
            raise InvalidInputError("give node_ids or filters; clear() empties the store")
        self._slot.delete(self._selected(node_ids, filters))

    def clear(self) -> None:
        self._slot.delete(self._slot.ids())

    def get_nodes(
        self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None
    ) -> list[BaseNode]:
        """The stored nodes with these ids (and/or matching ``filters``)."""
        found = self._slot.found(self._selected(node_ids, filters))
        return [_node(item.id, item.text, item.metadata) for item in found]

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        unknown = sorted(set(kwargs) - _QUERY_OPTIONS)
        if unknown:
            raise InvalidInputError(f"the embedspace vector store does not take {unknown}")
        mode = VectorStoreQueryMode(query.mode)
        if mode not in _MODES:
            raise NotSupportedError(
                f"query mode {mode.value!r} is not supported; use one of "
                f"{[m.value for m in _MODES]}"
            )
        if query.node_ids:  # VectorStoreIndex sends [] to stores that keep the text
            raise NotSupportedError(
                "queries restricted to node_ids are not supported; filter on metadata instead"
            )
        space = self._slot.space
        if space is None:
            return VectorStoreQueryResult(nodes=[], similarities=[], ids=[])
        where = where_of(_conditions(query.filters, query.doc_ids))
        k = query.similarity_top_k
        if mode in _KEYWORD_MODES:
            if not query.query_str:
                raise InvalidInputError(f"{mode.value} queries need query_str, the words to match")
            hits = space.search(query.query_str, k=k, mode="sparse", where=where)
        elif mode == VectorStoreQueryMode.MMR:
            lambda_mult = query.mmr_threshold
            if lambda_mult is None:
                lambda_mult = kwargs.get("mmr_threshold", 0.5)
            fetch_k = kwargs.get("mmr_prefetch_k", DEFAULT_FETCH_K)
            hits = mmr_search(space, _vector(query), k, fetch_k, lambda_mult, where)
        else:
            hits = space.search_vector(_vector(query), k=k, where=where)
        return _result(hits)

    def close(self) -> None:
        """Save the space's index (if any) and close its store."""
        self._slot.close()

    def _selected(self, node_ids: list[str] | None, filters: MetadataFilters | None) -> list[str]:
        """Ids among ``node_ids`` (all when None) that match ``filters`` (all when None)."""
        if node_ids is not None and filters is None:
            return list(node_ids)
        matching = self._slot.ids(where_of(_conditions(filters, None)))
        if node_ids is None:
            return matching
        wanted = set(node_ids)
        return [i for i in matching if i in wanted]


def _vector(query: VectorStoreQuery) -> np.ndarray:
    if query.query_embedding is None:
        raise InvalidInputError(
            "this query has no embedding: give the index an embed_model "
            "(e.g. EmbedspaceEmbedding()) or use a keyword mode (sparse, text_search)"
        )
    return np.asarray(query.query_embedding, dtype=np.float32)


def _node(id_: str, text: str, metadata: dict[str, Any]) -> BaseNode:
    """The node as LlamaIndex stored it, or a plain TextNode for an item of a space
    that was filled another way (e.g. ``space.add_vectors``)."""
    if "_node_content" in metadata:
        return metadata_dict_to_node(metadata, text=text)
    return TextNode(id_=id_, text=text, metadata=metadata)


def _result(hits: list[Hit]) -> VectorStoreQueryResult:
    return VectorStoreQueryResult(
        nodes=[_node(h.id, h.text, h.metadata) for h in hits],
        similarities=[h.score for h in hits],
        ids=[h.id for h in hits],
    )


def _conditions(filters: MetadataFilters | None, doc_ids: list[str] | None) -> Iterator[Condition]:
    """(key, operator, value) conditions of MetadataFilters (nested ``and`` flattened)
    and of a ``doc_ids`` restriction."""
    if doc_ids is not None:
        yield "ref_doc_id", "$in", list(doc_ids)
    if filters is None:
        return
    if len(filters.filters) > 1 and filters.condition not in (None, FilterCondition.AND):
        raise unsupported_logic(filters.condition.value)
    if filters.condition == FilterCondition.NOT:
        raise unsupported_logic("not")
    for item in filters.filters:
        if isinstance(item, MetadataFilters):
            yield from _conditions(item, None)
        else:
            yield _condition(item)


def _condition(item: MetadataFilter) -> Condition:
    op = _OPERATORS.get(item.operator)
    if op is None:
        raise NotSupportedError(
            f"filter operator {item.operator.value!r} is not supported; use one of "
            f"{[o.value for o in _OPERATORS]}"
        )
    return item.key, op, item.value
