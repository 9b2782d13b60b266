"""LangChain over a space: LangChain's own standard suites (langchain-tests, unmodified;
only the fixtures are ours) for the embeddings and for both kinds of vector store, then
what those suites leave out: scores, filters, MMR, from_texts, reopening, errors."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest

pytest.importorskip("langchain_core")
pytest.importorskip("langchain_tests")

from langchain_core.documents import Document  # noqa: E402
from langchain_core.embeddings import DeterministicFakeEmbedding  # noqa: E402
from langchain_tests.integration_tests import (  # noqa: E402
    EmbeddingsIntegrationTests,
    VectorStoreIntegrationTests,
)
from langchain_tests.unit_tests import EmbeddingsUnitTests  # noqa: E402

import embedspace as es  # noqa: E402
from embedspace.integrations.langchain import (  # noqa: E402
    EmbedspaceEmbeddings,
    EmbedspaceVectorStore,
    langchain_where,
)


class TestEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[EmbedspaceEmbeddings]:
        return EmbedspaceEmbeddings


class TestEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[EmbedspaceEmbeddings]:
        return EmbedspaceEmbeddings


class TestVectorStoreOfOtherEmbeddings(VectorStoreIntegrationTests):
    """The suite's own fake embeddings: the space stores their vectors."""

    @pytest.fixture()
    def vectorstore(self, tmp_path):
        store = EmbedspaceVectorStore(str(tmp_path / "lc.space"), embedding=self.get_embeddings())
        yield store
        store.close()


class TestVectorStoreOfSpaceModel(VectorStoreIntegrationTests):
    """embedding=None: the space embeds with its own (packaged) model."""

    @pytest.fixture()
    def vectorstore(self, tmp_path):
        store = EmbedspaceVectorStore(str(tmp_path / "lc.space"))
        yield store
        store.close()


# -- beyond the standard suites -----------------------------------------------------------
TICKETS = [
    ("The cat sat on the mat", {"kind": "pet", "year": 2019}),
    ("A cat was sitting on the mat", {"kind": "pet", "year": 2021}),
    ("The cat is sitting on a mat", {"kind": "pet", "year": 2023}),
    ("Stock markets fell sharply on Monday", {"kind": "news", "year": 2023}),
]


@pytest.fixture
def store(tmp_path):
    texts, metadatas = zip(*TICKETS, strict=True)
    store = EmbedspaceVectorStore.from_texts(
        list(texts),
        None,
        list(metadatas),
        ids=["mat", "sitting", "sitting2", "stocks"],
        path=str(tmp_path / "tickets.space"),
    )
    yield store
    store.close()


def test_scores_are_the_space_cosines_and_relevance_is_clipped(store):
    scored = store.similarity_search_with_score("a cat on a mat", k=4)
    hits = store.space.search("a cat on a mat", k=4)
    assert [(d.id, s) for d, s in scored] == [(h.id, h.score) for h in hits]
    relevance = store.similarity_search_with_relevance_scores("a cat on a mat", k=4)
    assert [d.id for d, _ in relevance] == [h.id for h in hits]
    assert all(0.0 <= r <= 1.0 for _, r in relevance)
    kept = store.similarity_search_with_relevance_scores("a cat on a mat", k=4, score_threshold=0.5)
    assert {d.id for d, _ in kept} == {"mat", "sitting", "sitting2"}


def test_filters_map_onto_where(store):
    assert langchain_where({"kind": "pet"}) == {"kind": {"$eq": "pet"}}
    assert langchain_where(
        {"$and": [{"year": {"$gte": 2020}}, {"year": {"$lt": 2023}}, {"kind": "pet"}]}
    ) == {"year": {"$gte": 2020, "$lt": 2023}, "kind": {"$eq": "pet"}}
    found = store.similarity_search("cat", k=4, filter={"year": {"$gte": 2021}, "kind": "pet"})
    assert sorted(d.id for d in found) == ["sitting", "sitting2"]
    news = store.similarity_search("cat", k=4, filter={"kind": {"$in": ["news"]}})
    assert [d.id for d in news] == ["stocks"]
    with pytest.raises(es.NotSupportedError, match=r"\$or filters are not supported"):
        store.similarity_search("cat", filter={"$or": [{"kind": "pet"}, {"kind": "news"}]})
    with pytest.raises(es.NotSupportedError, match="two \\$eq conditions"):
        langchain_where({"$and": [{"kind": "pet"}, {"kind": "news"}]})
    with pytest.raises(es.InvalidInputError, match="unknown filter operator"):
        store.similarity_search("cat", filter={"kind": {"$like": "p%"}})


def test_mmr_trades_closeness_for_variety(store):
    closest = store.max_marginal_relevance_search("a cat on a mat", k=2, lambda_mult=1.0)
    assert [d.id for d in closest] == [h.id for h in store.space.search("a cat on a mat", k=2)]
    varied = store.max_marginal_relevance_search("a cat on a mat", k=2, lambda_mult=0.1)
    assert varied[0].id == closest[0].id and varied[1].id == "stocks"
    retriever = store.as_retriever(search_type="mmr", search_kwargs={"k": 2, "lambda_mult": 0.1})
    assert [d.id for d in retriever.invoke("a cat on a mat")] == [d.id for d in varied]
    with pytest.raises(es.InvalidInputError, match="lambda_mult"):
        store.max_marginal_relevance_search("cat", lambda_mult=1.5)


def test_space_options_pass_through_and_retriever_filters(store):
    hybrid = store.similarity_search("Monday", k=1, mode="hybrid")
    assert [d.id for d in hybrid] == ["stocks"]
    retriever = store.as_retriever(search_kwargs={"k": 4, "filter": {"kind": "news"}})
    assert [d.id for d in retriever.invoke("cat")] == ["stocks"]
    with pytest.raises(es.InvalidInputError, match="mode must be one of"):
        store.similarity_search("cat", mode="fuzzy")


def test_reopening_keeps_documents_and_kind(tmp_path):
    own, other = str(tmp_path / "own.space"), str(tmp_path / "other.space")
    fake = DeterministicFakeEmbedding(size=8)
    EmbedspaceVectorStore.from_documents(
        [Document(page_content="refund my order", metadata={"n": 1}, id="r")],
        EmbedspaceEmbeddings(),
        path=own,
    ).close()
    EmbedspaceVectorStore.from_texts(["refund my order"], fake, ids=["r"], path=other).close()
    assert EmbedspaceVectorStore(own).get_by_ids(["r"])[0].metadata == {"n": 1}
    again = EmbedspaceVectorStore(other, embedding=fake)
    assert [d.id for d in again.similarity_search("refund my order", k=1)] == ["r"]
    assert es.Space(other).info()["model"] is None  # a plain bring-your-own-vectors space
    with pytest.raises(es.InvalidInputError, match="embedding=..."):
        EmbedspaceVectorStore(other)
    with pytest.raises(es.ModelMismatchError):
        EmbedspaceVectorStore(own, embedding=fake)
    with pytest.raises(es.InvalidInputError, match="search options"):
        again.similarity_search("refund", mode="hybrid")


def test_embeddings_match_embed_and_store_shares_its_model(tmp_path):
    texts = ["how do I cancel my order?", "I'd like a refund"]
    vectors = EmbedspaceEmbeddings().embed_documents(texts)
    np.testing.assert_allclose(vectors, es.embed(texts), atol=1e-6)
    assert EmbedspaceEmbeddings().embed_documents([]) == []
    store = EmbedspaceVectorStore(str(tmp_path / "s.space"), EmbedspaceEmbeddings("default"))
    # the space embeds itself (with its model behind the query cache)
    assert store.space.encoder.model_id == es.load_encoder("default").model_id
    with pytest.raises(es.ModelNotFoundError):
        EmbedspaceEmbeddings("no-such-model-anywhere")


def test_bad_input_is_refused_clearly(store):
    with pytest.raises(es.InvalidInputError, match="pass the ids"):
        store.delete()
    with pytest.raises(es.InvalidInputError, match="does not take"):
        store.add_texts(["x"], colour="blue")
    with pytest.raises(es.InvalidInputError, match="empty"):
        store.add_texts(["  "])
    with pytest.raises(es.InvalidInputError, match="ids repeat"):
        store.add_texts(["a", "b"], ids=["same", "same"])
    assert store.add_texts([]) == []
    store.delete(store.space.ids())  # emptying a store is said out loud
    assert store.similarity_search("cat") == []


def test_missing_extra_names_the_pip_command(monkeypatch):
    monkeypatch.delitem(sys.modules, "embedspace.integrations.langchain")
    monkeypatch.setitem(sys.modules, "langchain_core.documents", None)
    with pytest.raises(es.MissingDependencyError, match=r"pip install 'embedspace\[langchain\]'"):
        importlib.import_module("embedspace.integrations.langchain")
