"""Fuzz the API from its own OpenAPI spec (schemathesis): whatever arrives, no 500s, and
every error is an OpenAI-shaped body."""

from __future__ import annotations

import shutil

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="the test extra is not installed")
pytest.importorskip("fastapi", reason="the server extra is not installed")
from helpers.serving import running  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402

from embedspace.server import create_app  # noqa: E402


@pytest.fixture(scope="module")
def fuzzed_url(served_space_path, tmp_path_factory):
    """A private copy of the space: the fuzzer adds, updates and deletes items."""
    copy = tmp_path_factory.mktemp("fuzz") / "fuzz.space"
    shutil.copytree(served_space_path, copy)
    with running(create_app(copy)) as url:
        yield url


def test_no_server_errors(fuzzed_url):
    """Bounded: about 15 generated requests per operation, fixed seed; 4 for each
    /spaces/{name}/... copy of a root route (the same handler: what is new there is the
    name, which the fuzzer draws too)."""
    schema = schemathesis.openapi.from_url(f"{fuzzed_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    statuses: list[int] = []

    for operation in operations:

        @settings(
            max_examples=4 if operation.path.startswith("/spaces/{name}/") else 15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        @given(case=operation.as_strategy())
        def check(case):
            response = case.call(base_url=fuzzed_url, timeout=30)
            statuses.append(response.status_code)
            assert response.status_code < 500, f"{case.method} {case.path}: {response.text}"
            if response.status_code >= 400:
                error = response.json()["error"]
                assert isinstance(error["message"], str)
                assert "Traceback" not in error["message"]

        check()
    # The fuzzer got through validation too, not only bounced off it.
    assert sum(200 <= status < 300 for status in statuses) >= len(operations)
