"""Nobody let in: keys on every data route, no file touched outside the space, no
internals in error bodies, and the dependency audit's verdicts.

Covered elsewhere and listed in docs/reliability.md: size and batch limits and the
loopback-only default (tests/test_server_api.py, tests/test_server_cli.py).
"""

from __future__ import annotations

import base64
import importlib.util
import os
import shutil
import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the server extra is not installed")
httpx = pytest.importorskip("httpx")

from helpers.serving import running  # noqa: E402

from embedspace.server import create_app  # noqa: E402
from embedspace.server import security as security_module  # noqa: E402
from embedspace.server.limits import Limits  # noqa: E402
from embedspace.server.service import SpaceService  # noqa: E402

KEY = "k3y-for-tests"


@pytest.fixture
def space_copy(served_space_path, tmp_path):
    copy = tmp_path / "inside" / "guarded.space"
    shutil.copytree(served_space_path, copy)
    return copy


def _concrete(path: str) -> str:
    return path.replace("{id:path}", "some-id").replace("{id}", "some-id")


def test_every_data_route_needs_the_key_compared_in_constant_time(space_copy, monkeypatch):
    """Enumerated from the app itself, so a route added later is covered too."""
    compared: list[bytes] = []
    real = security_module.hmac.compare_digest

    def spy(a, b):
        compared.append(a)
        return real(a, b)

    monkeypatch.setattr(security_module.hmac, "compare_digest", spy)
    # every route tried with wrong keys in a row: let the guess limiter (tested in
    # test_keys.py) through, so each answer is the route's own
    app = create_app(space_copy, api_key=KEY, limits=Limits(auth_failures=1000))
    routes = [
        (method.upper(), _concrete(path))
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    ] + [("GET", "/openapi.json")]
    assert len(routes) >= 15
    with running(app) as url:
        for method, path in routes:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
                response = httpx.request(
                    method, f"{url}{path}", json={}, headers=headers, timeout=120
                )
                expected = 200 if path == "/health" else 401
                assert response.status_code == expected, (method, path, headers)
                assert KEY not in response.text
        ok = httpx.post(
            f"{url}/search",
            json={"query": "a film"},
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=120,
        )
        assert ok.status_code == 200
    assert compared, "the key was not compared with hmac.compare_digest"


class FileAccess:
    """Every file a thread of this process opens while armed (a Python audit hook, so the
    server running in a thread here is seen opening anything through Python)."""

    def __init__(self) -> None:
        self.armed = False
        self.opened: list[tuple[str, bool]] = []
        self._lock = threading.Lock()
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple) -> None:
        if not self.armed or event != "open" or not isinstance(args[0], str | bytes | Path):
            return
        path, mode, flags = args
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool(
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
        )
        with self._lock:
            self.opened.append((os.path.abspath(os.fsdecode(path)), writes))


def test_no_route_reads_or_writes_outside_the_space(space_copy, tmp_path):
    """Path traversal in ids, URLs, image fields, filter keys and texts naming files:
    nothing outside the space folder is opened, and nothing is written outside it."""
    pytest.importorskip("skimage")
    from skimage import data, io

    secret = tmp_path / "secret.txt"
    secret.write_text("do not read me")
    photo = tmp_path / "photo.png"
    io.imsave(photo, data.camera(), check_contrast=False)
    before = {p for p in tmp_path.rglob("*") if space_copy not in p.parents}
    rel = os.path.relpath(secret, space_copy)
    attacks = [
        ("GET", f"/items/{rel}", None),
        ("GET", "/items/..%2F..%2Fsecret.txt", None),
        ("GET", f"/items/{secret}", None),
        ("DELETE", f"/items/{rel}", None),
        ("PATCH", f"/items/{rel}", {"text": "overwrite?"}),
        ("POST", f"/similar/{rel}", {"k": 3}),
        ("POST", "/items", {"items": [{"id": "../../pwned.txt", "text": "no file please"}]}),
        ("POST", "/items", {"items": [{"id": str(tmp_path / "pwned2"), "text": "nor here"}]}),
        ("POST", "/items/delete", {"ids": [str(secret), rel]}),
        ("POST", "/classify", {"text": str(photo), "labels": ["a man", "a cat"]}),
        ("POST", "/classify", {"id": str(photo), "labels": ["a man"]}),
        ("POST", "/search_image", {"image": str(photo)}),
        ("POST", "/search_image", {"image": base64.b64encode(str(photo).encode()).decode()}),
        ("POST", "/search_image", {"image": f"data:image/png;base64,{photo}"}),
        ("POST", "/search", {"query": str(secret), "where": {"../../x": 1}}),
        ("POST", "/search", {"query": str(secret), "mode": "hybrid"}),
        ("POST", "/v1/embeddings", {"model": "default", "input": [str(secret), str(photo)]}),
        ("POST", "/compare", {"a": str(secret), "b": str(photo)}),
        ("GET", "/map?color_by=../../secret", None),
        ("GET", "/static/../space.sqlite", None),
        ("GET", "/static/..%2F..%2Fsecret.txt", None),
        ("GET", "/static/%2e%2e/%2e%2e/secret.txt", None),
    ]
    access = FileAccess()
    statuses = []
    with running(create_app(space_copy)) as url:
        httpx.get(f"{url}/health")
        # Warm up once unarmed: the model and image tower load from the install, not
        # because of anything a client sent.
        httpx.post(f"{url}/search_image", json={"image": _png_b64()}, timeout=120)
        access.armed = True
        for method, path, body in attacks:
            response = httpx.request(method, url + path, json=body, timeout=120)
            statuses.append(response.status_code)
            assert response.status_code < 500, (method, path, response.text)
            assert "do not read me" not in response.text
            assert "SQLite format" not in response.text
        # Positive control: the hook does see the server's own file reads.
        assert httpx.get(f"{url}/static/explorer.js").status_code == 200
        access.armed = False
    assert any(p.endswith("explorer.js") for p, _ in access.opened), "the audit hook saw nothing"
    outside_test = [
        p for p, _ in access.opened if p.startswith(str(tmp_path)) and not _inside(p, space_copy)
    ]
    assert not outside_test, f"opened outside the space: {outside_test}"
    written = [p for p, w in access.opened if w and not _inside(p, space_copy)]
    assert not written, f"wrote outside the space: {written}"
    after = {p for p in tmp_path.rglob("*") if space_copy not in p.parents}
    assert after == before, sorted(map(str, after ^ before))
    assert secret.read_text() == "do not read me"
    assert statuses.count(200) >= 5  # the harmless ones (embeddings, compare...) still work


def _png_b64() -> str:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _inside(path: str, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(folder.resolve())


def test_error_bodies_carry_no_paths_or_traces(space_copy, monkeypatch):
    """An unexpected failure is a generic 500 (details only in the server log); library
    errors keep their message with the space's location removed."""

    def explode(self, query, **options):
        raise RuntimeError(f"disk trouble in {space_copy}/space.sqlite")

    monkeypatch.setattr(SpaceService, "search", explode)
    with running(create_app(space_copy)) as url:
        bodies = [
            httpx.post(f"{url}/search", json={"query": "anything"}, timeout=120),
            httpx.get(f"{url}/items/nope"),
            httpx.post(f"{url}/similar/nope", json={"k": 2}),
            httpx.post(f"{url}/search", content=b"{not json"),
            httpx.post(f"{url}/search", json={"query": "x", "k": "many"}),
            httpx.post(f"{url}/search_image", json={"image": "bm90IGFuIGltYWdl"}),
            httpx.post(f"{url}/v1/embeddings", json={"model": "other", "input": "x"}),
        ]
    assert bodies[0].status_code == 500
    assert bodies[0].json()["error"]["message"] == "internal server error; see the server log"
    for response in bodies:
        text = response.text
        assert response.status_code >= 400
        assert "error" in response.json()
        for leak in (str(space_copy.parent), "Traceback", 'File "', "site-packages", "/work/"):
            assert leak not in text, (leak, text)


def _audit_tool():
    spec = importlib.util.spec_from_file_location(
        "audit_tool", Path(__file__).parents[2] / "tools" / "audit.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dependency_audit_verdicts():
    """`make audit` reads pip-audit's JSON: vulnerabilities fail, and an audit in which the
    service answered for no package is reported as not run, never as a pass."""
    tool = _audit_tool()
    vulnerable = {
        "dependencies": [
            {"name": "a", "version": "1", "vulns": []},
            {"name": "b", "version": "2", "vulns": [{"id": "PYSEC-1", "fix_versions": ["3"]}]},
            {"name": "torch", "skip_reason": "not on PyPI"},
        ]
    }
    assert tool.summarise(vulnerable) == (2, 1, ["b 2: PYSEC-1 (fixed in 3)"])
    unreachable = {"dependencies": [{"name": "a", "skip_reason": "Dependency not found"}]}
    assert tool.summarise(unreachable)[0] == 0
    locked = tool.closure()
    assert {"numpy", "faiss-cpu", "fastapi", "onnxruntime"} <= set(locked)
    assert "embedspace" not in locked
