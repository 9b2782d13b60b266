"""Shared fixtures: the real packaged model (loaded once) and throwaway spaces."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import embedspace as es  # noqa: E402

# Throwaway PostgreSQL / Milvus Lite servers and the backend-parametrised fixtures
# (backend, location, bspace, postgres_uri, milvus_uri), started only by tests that ask.
pytest_plugins = ["helpers.backends"]

try:  # the test extra brings hypothesis; the fuzz tests use this profile
    from hypothesis import HealthCheck, settings

    # "embedspace" (default): repeatable in CI, no time limit per example (a busy
    # 2-core machine makes any deadline flaky). "explore": fresh examples every run.
    settings.register_profile(
        "embedspace",
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
    )
    settings.register_profile(
        "explore", parent=settings.get_profile("embedspace"), derandomize=False
    )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "embedspace"))
except ImportError:  # pragma: no cover
    pass


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
    from embedspace.ingest.demo_corpus import demo_corpus

    return demo_corpus()


@pytest.fixture(scope="session")
def served_space_path(tmp_path_factory, demo_docs):
    """A small real space for the server tests: 60 demo items spread over the corpus, so
    plots and fresh and rotten reviews are all there (the map colours them by kind)."""
    path = tmp_path_factory.mktemp("served") / "movies.space"
    docs = demo_docs[:: len(demo_docs) // 60][:60]
    with es.Space(path, progress=False) as sp:
        sp.add(
            [d.text for d in docs], ids=[d.id for d in docs], metadata=[d.metadata for d in docs]
        )
        _lay_out(sp)
    return path


def _lay_out(space: es.Space) -> None:
    """Lay the space's map out once while building it (cached in the folder, as a served
    space is after its first /map), so the servers' first /map is not a cold UMAP run
    (numba compiles for ~10-25 s) inside a client's 5 s timeout."""
    try:
        space.map()
    except ImportError:  # no map extra: the servers fall back to PCA, instantly
        pass


#: scikit-image's sample photos (packaged data) in the mixed text-and-image space.
PHOTOS = ("chelsea", "coffee", "rocket", "astronaut", "camera")


@pytest.fixture(scope="session")
def photo_space_path(tmp_path_factory, demo_docs):
    """Texts and pictures in one space: 20 demo reviews and five scikit-image photos
    (ids ``chelsea.png``...), each photo with the thumbnail add_images keeps."""
    from skimage import data, io

    folder = tmp_path_factory.mktemp("photos")
    for name in PHOTOS:
        io.imsave(folder / f"{name}.png", getattr(data, name)(), check_contrast=False)
    path = tmp_path_factory.mktemp("mixed") / "mixed.space"
    docs = demo_docs[:: len(demo_docs) // 20][:20]
    with es.Space(path, progress=False) as sp:
        sp.add(
            [d.text for d in docs], ids=[d.id for d in docs], metadata=[d.metadata for d in docs]
        )
        assert sp.add_images([folder]).added == len(PHOTOS)
        _lay_out(sp)
    return path


@pytest.fixture(scope="session")
def photo_server_url(photo_space_path):
    """A real uvicorn server over the mixed text-and-photo space (read-only tests)."""
    pytest.importorskip("fastapi", reason="the server extra is not installed")
    from helpers.serving import running

    from embedspace.server import create_app

    with running(create_app(photo_space_path)) as url:
        yield url


@pytest.fixture(scope="session")
def server_url(served_space_path):
    """A real uvicorn server over the served space, no API key (read-only tests only)."""
    pytest.importorskip("fastapi", reason="the server extra is not installed")
    from helpers.serving import running

    from embedspace.server import create_app

    with running(create_app(served_space_path)) as url:
        yield url
