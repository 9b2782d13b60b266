"""LangChain over a space: LangChain's own standard suites (langchain-tests, unmodified;
only the fixtures are ours) for the embeddings and for both kinds of vector store, then
what those suites leave out: scores, filters, MMR, from_texts, reopening, errors."""

from __future__ import annotations

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
