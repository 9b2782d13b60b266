"""LlamaIndex over a space: an index built and queried through LlamaIndex's own
VectorStoreIndex, retrievers and query engine, with the packaged model as its embed
model and a mock LLM, and every socket connection refused: nothing may reach a network."""

from __future__ import annotations

import importlib
import socket
import sys

import numpy as np
import pytest

pytest.importorskip("llama_index.core")

from llama_index.core import Document, Settings, StorageContext, VectorStoreIndex  # noqa: E402
from llama_index.core.llms import MockLLM  # noqa: E402
from llama_index.core.schema import TextNode  # noqa: E402
from llama_index.core.vector_stores.types import (  # noqa: E402
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)

import embedspace as es  # noqa: E402
from embedspace.integrations.llamaindex import (  # noqa: E402
    EmbedspaceEmbedding,
    EmbedspaceVectorStore,
)

DOCS = [
    ("refunds", "Refunds: return an item within 30 days and we pay you back.", "refund", 2021),
    ("cancel", "To cancel an order, open My Orders and choose Cancel.", "order", 2023),
    ("cat", "The cat sat on the mat all afternoon.", "pets", 2019),
    ("cat2", "A cat was sitting on the mat all afternoon.", "pets", 2024),
    ("stocks", "Stock markets fell sharply on Monday.", "news", 2024),
]


@pytest.fixture(scope="module")
def embed_model():
    return EmbedspaceEmbedding()


@pytest.fixture(autouse=True)
def offline(monkeypatch, embed_model):
    """LlamaIndex's defaults (OpenAI) stay out: explicit settings, and no connections."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    saved = Settings._llm, Settings._embed_model
    Settings.llm, Settings.embed_model = MockLLM(), embed_model
    yield
    Settings._llm, Settings._embed_model = saved


def _documents() -> list[Document]:
    return [
        Document(text=text, doc_id=doc_id, metadata={"topic": topic, "year": year})
        for doc_id, text, topic, year in DOCS
    ]


@pytest.fixture
def store(tmp_path):
    store = EmbedspaceVectorStore(str(tmp_path / "li.space"))
    yield store
    store.close()


@pytest.fixture
def index(store, embed_model):
    return VectorStoreIndex.from_documents(
        _documents(),
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=embed_model,
    )


def _retrieved(index, query: str, **options) -> list[str]:
    return [n.node.ref_doc_id for n in index.as_retriever(**options).retrieve(query)]


def test_index_built_and_queried_through_vector_store_index(index, store, embed_model):
    assert len(store.client) == len(DOCS) and store.client.info()["model"] is None
    found = index.as_retriever(similarity_top_k=2).retrieve("I'd like my money back")
    assert found[0].node.ref_doc_id == "refunds"
    assert found[0].node.metadata == {"topic": "refund", "year": 2021}
    assert found[0].node.get_content() == DOCS[0][1]
    query = np.asarray(embed_model.get_query_embedding("I'd like my money back"))
    expected = store.client.search_vector(query, k=2)
    assert [(n.node.node_id, n.score) for n in found] == [(h.id, h.score) for h in expected]
    answer = index.as_query_engine(llm=MockLLM(), similarity_top_k=1).query("how do I cancel?")
    assert [n.node.ref_doc_id for n in answer.source_nodes] == ["cancel"]


async def test_async_retrieval(index):
    found = await index.as_retriever(similarity_top_k=1).aretrieve("cancel my order")
    assert found[0].node.ref_doc_id == "cancel"


def test_reopened_store_serves_an_index(index, store, embed_model, tmp_path):
    store.close()
    again = EmbedspaceVectorStore(str(tmp_path / "li.space"))
    reopened = VectorStoreIndex.from_vector_store(again, embed_model=embed_model)
    assert _retrieved(reopened, "a kitten on a rug", similarity_top_k=1) == ["cat"]
    again.close()


def test_filters_and_doc_ids(index):
    def where(*filters, condition=FilterCondition.AND):
        return MetadataFilters(filters=list(filters), condition=condition)

    pets = where(MetadataFilter(key="topic", value="pets"))
    got = _retrieved(index, "money back", filters=pets, similarity_top_k=5)
    assert sorted(got) == ["cat", "cat2"]
    recent = where(
        MetadataFilter(key="year", value=2023, operator=FilterOperator.GTE),
        where(MetadataFilter(key="topic", value=["news", "order"], operator=FilterOperator.IN)),
    )
    got = _retrieved(index, "money back", filters=recent, similarity_top_k=5)
    assert sorted(got) == ["cancel", "stocks"]
    assert _retrieved(index, "money back", doc_ids=["stocks"], similarity_top_k=5) == ["stocks"]
    either = where(
        MetadataFilter(key="topic", value="pets"),
        MetadataFilter(key="topic", value="news"),
        condition=FilterCondition.OR,
    )
    with pytest.raises(es.NotSupportedError, match="or filters are not supported"):
        _retrieved(index, "cat", filters=either)
    contains = where(MetadataFilter(key="topic", value="pet", operator=FilterOperator.CONTAINS))
    with pytest.raises(es.NotSupportedError, match="'contains' is not supported"):
        _retrieved(index, "cat", filters=contains)


def test_mmr_and_keyword_modes(index, store):
    closest = _retrieved(index, "a cat on a mat", similarity_top_k=2)
    assert sorted(closest) == ["cat", "cat2"]
    varied = _retrieved(
        index,
        "a cat on a mat",
        similarity_top_k=2,
        vector_store_query_mode="mmr",
        vector_store_kwargs={"mmr_threshold": 0.1},
    )
    assert varied[0] == closest[0] and varied[1] != closest[1]
    keyword = _retrieved(index, "Monday", similarity_top_k=1, vector_store_query_mode="text_search")
    assert keyword == ["stocks"]
    with pytest.raises(es.NotSupportedError, match="'hybrid' is not supported"):
        _retrieved(index, "cat", vector_store_query_mode="hybrid")
    with pytest.raises(es.InvalidInputError, match="does not take"):
        _retrieved(index, "cat", vector_store_kwargs={"colour": "blue"})
    with pytest.raises(es.InvalidInputError, match="no embedding"):
        store.query(VectorStoreQuery(query_str="cat"))


def test_delete_get_and_clear(index, store):
    index.delete_ref_doc("refunds")
    assert "refunds" not in _retrieved(index, "money back", similarity_top_k=5)
    pets = MetadataFilters(filters=[MetadataFilter(key="topic", value="pets")])
    nodes = store.get_nodes(filters=pets)
    assert sorted(n.ref_doc_id for n in nodes) == ["cat", "cat2"]
    ids = [n.node_id for n in nodes]
    assert [n.node_id for n in store.get_nodes(node_ids=[ids[0], "gone"])] == [ids[0]]
    store.delete_nodes(node_ids=ids[:1])
    assert [n.node_id for n in store.get_nodes(filters=pets)] == ids[1:]
    with pytest.raises(es.InvalidInputError, match="clear"):
        store.delete_nodes()
    store.clear()
    assert len(store.client) == 0


def test_empty_store_answers_nothing(store):
    result = store.query(VectorStoreQuery(query_embedding=[0.1] * 384, similarity_top_k=3))
    assert result.nodes == [] and result.ids == [] and store.client is None
    assert store.get_nodes(node_ids=["x"]) == []
    store.delete("nothing")


def test_store_over_a_space_filled_without_llamaindex(tmp_path, embed_model):
    path = tmp_path / "plain.space"
    texts = ["refund within 30 days", "cancel an order in My Orders"]
    with es.Space(path, model=None, dim=384) as space:
        space.add_vectors(es.embed(texts), ids=["r", "c"], texts=texts, metadata=[{"n": 1}, {}])
    store = EmbedspaceVectorStore(str(path))
    index = VectorStoreIndex.from_vector_store(store, embed_model=embed_model)
    found = index.as_retriever(similarity_top_k=1).retrieve("money back")[0].node
    assert isinstance(found, TextNode)
    assert (found.node_id, found.text, found.metadata) == ("r", texts[0], {"n": 1})
    store.close()


def test_embed_model_is_the_space_model(embed_model):
    texts = ["how do I cancel my order?", "I'd like a refund"]
    np.testing.assert_allclose(
        embed_model.get_text_embedding_batch(texts), es.embed(texts), atol=1e-6
    )
    assert embed_model.model_name == es.load_encoder("default").name


def test_missing_extra_names_the_pip_command(monkeypatch):
    monkeypatch.delitem(sys.modules, "embedspace.integrations.llamaindex")
    monkeypatch.setitem(sys.modules, "llama_index.core.base.embeddings.base", None)
    with pytest.raises(es.MissingDependencyError, match=r"pip install 'embedspace\[llamaindex\]'"):
        importlib.import_module("embedspace.integrations.llamaindex")
