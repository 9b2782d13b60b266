"""Shared fixtures: the real packaged model (loaded once) and throwaway spaces."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import embedspace as es  # noqa: E402


@pytest.fixture(scope="session")
def encoder():
    return es.load_encoder("default")


@pytest.fixture
def space_path(tmp_path):
    return tmp_path / "test.space"


@pytest.fixture
def space(space_path):
    with es.Space(space_path, progress=False) as sp:
        yield sp


@pytest.fixture(scope="session")
def demo_docs():
    from embedspace.demo import demo_corpus

    return demo_corpus()
