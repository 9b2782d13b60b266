"""Several spaces behind one server: ``serve DIR`` and ``serve CONFIG.toml`` name each
space, ``/spaces/{name}/...`` answers exactly as the single-space routes do, bad names
are refused before they touch a file, and an admin creates and drops spaces."""

from __future__ import annotations

import shutil

import pytest

pytest.importorskip("fastapi", reason="the server extra is not installed")
httpx = pytest.importorskip("httpx")

from helpers.serving import running  # noqa: E402
from helpers.tickets import TICKETS  # noqa: E402

import embedspace as es  # noqa: E402
from embedspace.server import create_app  # noqa: E402


@pytest.fixture
def spaces_dir(served_space_path, tmp_path):
    """``shop.space`` and ``tickets`` (no suffix) are spaces; ``notes`` and a file are not."""
    folder = tmp_path / "spaces"
    shutil.copytree(served_space_path, folder / "shop.space")
    with es.Space(folder / "tickets", progress=False) as space:
        space.add(list(TICKETS.values()), ids=list(TICKETS))
    (folder / "notes").mkdir()
    (folder / "notes" / "todo.txt").write_text("not a space")
    (folder / "readme.txt").write_text("nor this")
    return folder


def test_dir_serves_each_space_under_its_folder_name(spaces_dir, served_space_path):
    query = {"query": "a gripping thriller", "k": 5, "mode": "hybrid"}
    with es.Space(served_space_path, create=False, progress=False) as space:
        expected = [h.id for h in space.search(**query)]
    with running(create_app(spaces_dir)) as url:
        assert httpx.get(f"{url}/health").json() == {"status": "ok", "spaces": 2}
        listed = httpx.get(f"{url}/spaces").json()["spaces"]
        assert [(s["name"], s["items"]) for s in listed] == [
            ("shop", 60),
            ("tickets", len(TICKETS)),
        ]
        hits = httpx.post(f"{url}/spaces/shop/search", json=query, timeout=60).json()["hits"]
        assert [h["id"] for h in hits] == expected
        added = httpx.post(
            f"{url}/spaces/tickets/items",
            json={"items": [{"id": "t-new", "text": "my parcel never arrived"}]},
            timeout=60,
        )
        assert added.json() == {"ids": ["t-new"]}
        counts = {s["name"]: s["items"] for s in httpx.get(f"{url}/spaces").json()["spaces"]}
        assert counts == {"shop": 60, "tickets": len(TICKETS) + 1}
        got = httpx.get(f"{url}/spaces/tickets/items/t-new").json()
        assert got["text"] == "my parcel never arrived"
        assert httpx.get(f"{url}/spaces/shop/items/t-new").status_code == 404
        assert httpx.post(f"{url}/search", json=query).status_code == 404  # no default space
        assert httpx.get(f"{url}/spaces/notes/health").status_code == 404
        page = httpx.get(f"{url}/", follow_redirects=True)
        assert page.status_code == 200 and str(page.url).endswith("/spaces/shop/")
        models = httpx.get(f"{url}/v1/models").json()["data"]
        assert [m["id"] for m in models] == ["all-MiniLM-L6-v2"]  # one route, every space
        one = httpx.post(f"{url}/v1/embeddings", json={"model": "default", "input": "hi"})
        assert len(one.json()["data"][0]["embedding"]) == 384
        unknown = httpx.post(f"{url}/v1/embeddings", json={"model": "other", "input": "hi"})
        assert unknown.status_code == 404 and unknown.json()["error"]["param"] == "model"


def test_single_space_routes_and_named_routes_are_the_same(server_url):
    """``serve movies.space``: every route at the root is also at /spaces/movies."""
    body = {"query": "funny family comedy", "k": 4}
    root = httpx.post(f"{server_url}/search", json=body, timeout=60).json()
    named = httpx.post(f"{server_url}/spaces/movies/search", json=body, timeout=60).json()
    assert root == named
    assert httpx.get(f"{server_url}/spaces").json()["spaces"][0]["name"] == "movies"
    assert (
        httpx.get(f"{server_url}/health").json()
        == httpx.get(f"{server_url}/spaces/movies/health").json()
    )
    spec = httpx.get(f"{server_url}/openapi.json").json()["paths"]
    root_paths = {
        p
        for p in spec
        # the process's own routes: OpenAI embeddings, word vectors, the tour, cache stats
        if not p.startswith(("/spaces", "/v1", "/analogy", "/words", "/tour", "/stats"))
    }
    assert root_paths and all(f"/spaces/{{name}}{p}" in spec for p in root_paths)


def test_bad_space_names_are_refused_before_touching_files(spaces_dir, tmp_path):
    outside = tmp_path / "outside.space"
    shutil.copytree(spaces_dir / "shop.space", outside)
    attacks = [
        "/spaces/%2e%2e/health",
        "/spaces/..%2Foutside/health",
        "/spaces/..%2F..%2Foutside.space/health",
        "/spaces/a%00b/health",
        "/spaces/shop%00/health",
        "/spaces/a..b/health",
        "/spaces/shop.space/health",
        "/spaces/.hidden/health",
        "/spaces/" + "x" * 65 + "/health",
        "/spaces/outside/health",
    ]
    before = sorted(p.name for p in spaces_dir.iterdir())
    with running(create_app(spaces_dir)) as url:
        for path in attacks:
            response = httpx.get(url + path)
            code = response.json()["error"]["code"]
            # 400 from the name check, 404 for a valid unknown name, or no route at all
            # (a decoded "/" splits the path: the router matches nothing)
            assert (response.status_code, code) in (
                (400, "invalid_space_name"),
                (404, "space_not_found"),
                (404, None),
            ), (path, response.status_code, response.text)
        for name in ("..", "../outside", "a/b", "a\x00b", "x" * 65, ".x", ""):
            created = httpx.post(f"{url}/spaces", json={"name": name, "model": None, "dim": 4})
            assert created.status_code == 422, (name, created.text)
        suffixed = httpx.post(f"{url}/spaces", json={"name": "shop.space", "model": None, "dim": 4})
        assert suffixed.status_code == 400  # the pattern allows it, the name check does not
    assert sorted(p.name for p in spaces_dir.iterdir()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside.space", "spaces"]


def test_admin_creates_and_drops_spaces(spaces_dir):
    with running(create_app(spaces_dir)) as url:
        made = httpx.post(f"{url}/spaces", json={"name": "faq"}, timeout=120)
        assert made.status_code == 201 and made.json()["items"] == 0
        assert (spaces_dir / "faq.space" / "space.sqlite").is_file()
        items = [{"id": "refund", "text": "How do I get my money back?"}]
        assert httpx.post(f"{url}/spaces/faq/items", json={"items": items}).is_success
        hits = httpx.post(f"{url}/spaces/faq/search", json={"query": "refund"}).json()["hits"]
        assert hits[0]["id"] == "refund"
        again = httpx.post(f"{url}/spaces", json={"name": "faq"})
        assert again.status_code == 409
        vectors = httpx.post(f"{url}/spaces", json={"name": "vecs", "model": None, "dim": 8})
        assert vectors.json() == {"name": "vecs", "items": 0, "model": None, "dim": 8}
        odd = httpx.post(f"{url}/spaces", json={"name": "x", "model": "/etc/passwd"})
        assert odd.status_code == 400 and odd.json()["error"]["param"] == "model"
        assert httpx.delete(f"{url}/spaces/faq").status_code == 204
        assert httpx.get(f"{url}/spaces/faq/health").status_code == 404
        assert httpx.delete(f"{url}/spaces/faq").status_code == 404
        names = [s["name"] for s in httpx.get(f"{url}/spaces").json()["spaces"]]
    assert names == ["shop", "tickets", "vecs"]
    assert not (spaces_dir / "faq.space").exists()
    assert not [p for p in spaces_dir.iterdir() if p.name.startswith(".faq")]


def test_spaces_are_created_only_in_a_folder_of_spaces(server_url):
    refused = httpx.post(f"{server_url}/spaces", json={"name": "new"})
    assert refused.status_code == 400 and "serve DIR" in refused.json()["error"]["message"]
    assert httpx.delete(f"{server_url}/spaces/movies").status_code == 400


def test_toml_config_serves_folders_and_a_postgres_uri(spaces_dir, tmp_path, postgres_uri):
    uri = f"{postgres_uri}&collection=config_tickets"
    with es.Space(uri, progress=False) as space:
        space.add(list(TICKETS.values()), ids=list(TICKETS))
    config = tmp_path / "team.toml"
    config.write_text(
        f'backups = "team-backups"\n[spaces]\nmovies = "spaces/shop.space"\nsupport = "{uri}"\n'
    )
    with running(create_app(config)) as url:
        listed = httpx.get(f"{url}/spaces").json()["spaces"]
        assert [(s["name"], s["items"]) for s in listed] == [
            ("movies", 60),
            ("support", len(TICKETS)),
        ]
        hits = httpx.post(
            f"{url}/spaces/support/search", json={"query": "where is my parcel", "k": 1}
        ).json()["hits"]
        with es.Space(uri, progress=False, create=False) as space:
            assert hits[0]["id"] == space.search("where is my parcel", k=1)[0].id
        backup = httpx.post(f"{url}/spaces/movies/backup", timeout=120)
        assert backup.status_code == 201
        assert (tmp_path / "team-backups" / "movies" / backup.json()["id"]).is_dir()
        remote = httpx.post(f"{url}/spaces/support/backup", timeout=120)
        assert remote.status_code == 400 and "migrate" in remote.json()["error"]["message"]
