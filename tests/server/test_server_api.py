"""The HTTP API, through a real uvicorn server on 127.0.0.1 and the real packaged model."""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the server extra is not installed")
openai = pytest.importorskip("openai", reason="the test extra is not installed")
httpx = pytest.importorskip("httpx")

from helpers.serving import running  # noqa: E402

import embedspace as es  # noqa: E402
from embedspace.server import create_app  # noqa: E402
from embedspace.server.security import check_bind_host  # noqa: E402


@pytest.fixture
def client(server_url):
    return openai.OpenAI(api_key="unused", base_url=f"{server_url}/v1", max_retries=0)


@pytest.fixture
def writable_url(served_space_path, tmp_path):
    """A server over a private copy of the space, for tests that write."""
    copy = tmp_path / "copy.space"
    shutil.copytree(served_space_path, copy)
    with running(create_app(copy, max_batch=8, max_body_bytes=20_000)) as url:
        yield url


# -- OpenAI compatibility --------------------------------------------------------------
def test_openai_client_gets_the_models_vectors(client, encoder):
    texts = ["I'd like my money back", "a gripping thriller"]
    response = client.embeddings.create(model="all-MiniLM-L6-v2", input=texts)
    got = np.array([d.embedding for d in response.data], dtype=np.float32)
    assert [d.index for d in response.data] == [0, 1]
    assert got.shape == (2, 384)
    np.testing.assert_allclose(got, es.embed(texts, model=encoder), atol=1e-6)
    assert response.usage.prompt_tokens == sum(encoder.count_tokens(texts))
    assert response.usage.total_tokens == response.usage.prompt_tokens
    assert response.model == "all-MiniLM-L6-v2"


def test_float_and_base64_agree_and_a_single_string_works(client, server_url):
    # The client asks for base64 by default and decodes it; ask for floats explicitly too.
    b64 = client.embeddings.create(model="default", input="space adventure")
    floats = client.embeddings.create(
        model="default", input="space adventure", encoding_format="float"
    )
    np.testing.assert_allclose(b64.data[0].embedding, floats.data[0].embedding, atol=1e-7)
    raw = httpx.post(
        f"{server_url}/v1/embeddings",
        json={"model": "default", "input": "space adventure", "encoding_format": "base64"},
    ).json()
    decoded = np.frombuffer(__import__("base64").b64decode(raw["data"][0]["embedding"]), "<f4")
    np.testing.assert_allclose(decoded, floats.data[0].embedding, atol=1e-7)


def test_dimensions_truncate_and_renormalise(client):
    full = np.array(
        client.embeddings.create(model="default", input="hello", encoding_format="float")
        .data[0]
        .embedding
    )
    short = np.array(
        client.embeddings.create(model="default", input="hello", dimensions=64).data[0].embedding
    )
    assert short.shape == (64,)
    assert np.linalg.norm(short) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(short, full[:64] / np.linalg.norm(full[:64]), atol=1e-6)
    with pytest.raises(openai.BadRequestError) as err:
        client.embeddings.create(model="default", input="hello", dimensions=999)
    assert err.value.body["param"] == "dimensions"


def test_openai_shaped_errors(client):
    with pytest.raises(openai.BadRequestError) as err:
        client.embeddings.create(model="default", input=[[101, 2023, 102]])
    assert err.value.body["param"] == "input"
    assert "token-id" in err.value.body["message"]
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="default", input=["fine", "   "])
    with pytest.raises(openai.NotFoundError) as err:
        client.embeddings.create(model="text-embedding-3-small", input="hi")
    assert err.value.body["code"] == "model_not_found"
    assert [m.id for m in client.models.list()] == ["all-MiniLM-L6-v2"]


# -- the space ---------------------------------------------------------------------------
def test_health_search_and_similar(server_url, served_space_path):
    health = httpx.get(f"{server_url}/health").json()
    vectors = health.pop("vectors")
    assert health == {"status": "ok", "items": 60, "model": "all-MiniLM-L6-v2", "dim": 384}
    assert [(v["name"], v["dim"], v["main"]) for v in vectors] == [("all-MiniLM-L6-v2", 384, True)]
    with es.Space(served_space_path, create=False, progress=False) as sp:
        expected = [h.id for h in sp.search("a gripping thriller", k=5, mode="hybrid")]
        first = sp.ids()[0]
    body = httpx.post(
        f"{server_url}/search", json={"query": "a gripping thriller", "k": 5, "mode": "hybrid"}
    ).json()
    assert [h["id"] for h in body["hits"]] == expected
    assert len(body["position"]) == 2
    sparse = httpx.post(f"{server_url}/search", json={"query": "thriller", "mode": "sparse"})
    assert all("thriller" in h["text"].lower() for h in sparse.json()["hits"])
    kind = httpx.get(f"{server_url}/items/{first}").json()["metadata"]
    filtered = httpx.post(
        f"{server_url}/search", json={"query": "a film", "k": 50, "where": kind}
    ).json()["hits"]
    assert filtered and all(h["metadata"] == kind for h in filtered)
    similar = httpx.post(f"{server_url}/similar/{first}", json={"k": 3}).json()["hits"]
    assert len(similar) == 3 and first not in [h["id"] for h in similar]


def test_map_projects_every_item(server_url):
    body = httpx.get(f"{server_url}/map").json()
    assert body["count"] == 60 == len(body["x"]) == len(body["ids"]) == len(body["text"])
    xy = np.array([body["x"], body["y"]])
    assert np.abs(xy).max() == pytest.approx(1.0, abs=1e-4) and xy.std(axis=1).min() > 0.05
    assert body["keys"] == ["kind", "movie"] and body["groups"] is None
    coloured = httpx.get(f"{server_url}/map", params={"color_by": "kind"}).json()
    kinds = {
        httpx.get(f"{server_url}/items/{i}").json()["metadata"]["kind"] for i in body["ids"][:5]
    }
    assert kinds <= set(coloured["groups"]) and len(coloured["groups"]) == 60
    assert set(httpx.get(f"{server_url}/map?color_by=nope").json()["groups"]) == {""}
    assert body["thumbnails"] is None  # a text-only space sends no picture column


def test_map_method_is_the_neighbour_map_by_default_and_pca_on_request(
    server_url, served_space_path
):
    body = httpx.get(f"{server_url}/map").json()
    pca = httpx.get(f"{server_url}/map", params={"method": "pca"}).json()
    named = httpx.get(f"{server_url}/map", params={"method": "umap"}).json()
    assert body["method"] == "umap" == named["method"] and pca["method"] == "pca"
    assert body["ids"] == pca["ids"] and body["x"] == named["x"]  # the same cached layout
    assert body["total"] == 60 and body["notice"] is None
    with es.Space(served_space_path, create=False, progress=False) as sp:
        space_map = sp.map()  # the server's layout, cached in the space folder
    assert space_map.ids == body["ids"]
    np.testing.assert_allclose(space_map.xy[:, 0], body["x"], atol=1e-4)
    bad = httpx.get(f"{server_url}/map", params={"method": "tsne"})
    assert bad.status_code in (400, 422) and "method" in bad.text
    # a query lands on the map the explorer shows, beside its nearest items
    hit = httpx.post(f"{server_url}/search", json={"query": body["text"][0], "k": 1}).json()
    assert len(hit["position"]) == 2


def test_map_lists_thumbnails_and_serves_them(photo_server_url, photo_space_path):
    from io import BytesIO

    from conftest import PHOTOS
    from PIL import Image
    from skimage import data

    body = httpx.get(f"{photo_server_url}/map").json()
    names = dict(zip(body["ids"], body["thumbnails"], strict=True))
    assert {i for i, name in names.items() if name} == {f"{p}.png" for p in PHOTOS}
    response = httpx.get(f"{photo_server_url}/thumbnails/{names['chelsea.png']}")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    thumb = Image.open(BytesIO(response.content))
    assert max(thumb.size) == 256 and thumb.format == "JPEG"

    # It is the cat: close to the original photo shrunk the same way, far from the rocket.
    def shrunk(photo):
        image = Image.fromarray(photo).convert("RGB")
        image.thumbnail((256, 256))
        return np.asarray(image.resize(thumb.size), dtype=np.float32)

    got = np.asarray(thumb.convert("RGB"), dtype=np.float32)
    assert np.abs(got - shrunk(data.chelsea())).mean() < 8
    assert np.abs(got - shrunk(data.rocket())).mean() > 30
    for bad in ("..%2Findex.sqlite", "0" * 32 + ".jpg", "chelsea.png", "%2Fetc%2Fpasswd"):
        missing = httpx.get(f"{photo_server_url}/thumbnails/{bad}")
        assert missing.status_code == 404, bad
        assert str(photo_space_path) not in missing.text


def test_errors_are_4xx_without_paths(server_url, served_space_path):
    missing = httpx.get(f"{server_url}/items/no-such-id")
    assert missing.status_code == 404
    assert str(served_space_path.parent) not in missing.text
    assert "no-such-id" in missing.json()["error"]["message"]
    bad_mode = httpx.post(f"{server_url}/search", json={"query": "x", "mode": "fuzzy"})
    assert bad_mode.status_code == 422 and bad_mode.json()["error"]["param"] == "mode"
    bad_filter = httpx.post(f"{server_url}/search", json={"query": "x", "where": {"a b": 1}})
    assert bad_filter.status_code == 400 and "Traceback" not in bad_filter.text
    assert httpx.post(f"{server_url}/search", content=b"{not json").status_code == 422


def test_words_and_classify(server_url):
    answers = httpx.post(
        f"{server_url}/analogy", json={"a": "king", "b": "man", "c": "woman"}
    ).json()
    assert answers[0]["word"] == "queen"
    unknown = httpx.post(f"{server_url}/words/similar", json={"word": "qwzxv"})
    assert unknown.status_code == 404
    ranked = httpx.post(
        f"{server_url}/classify",
        json={"text": "the spaceship landed on mars", "labels": ["cooking", "space travel"]},
    ).json()
    assert ranked[0]["label"] == "space travel"


def test_compare_matches_the_library(server_url, encoder):
    body = httpx.post(
        f"{server_url}/compare", json={"a": "dog bites man", "b": "man bites dog"}
    ).json()
    rows = body["representations"]
    assert len(body["positions"]) == 2 and all(len(p) == 2 for p in body["positions"])
    expected = es.compare("dog bites man", "man bites dog", model=encoder)
    assert {r["key"]: r["cosine"] for r in rows} == pytest.approx(expected, abs=1e-6)
    assert [r["key"] for r in rows][-1] == "dense" and all(r["sees"] for r in rows)
    empty = httpx.post(f"{server_url}/compare", json={"a": "!!!", "b": "words"})
    assert empty.status_code == 400


def test_classify_never_opens_server_files(server_url, tmp_path, encoder):
    """A text naming an image file on the server is classified as that text."""
    from skimage import data, io

    photo = tmp_path / "cat.png"
    io.imsave(photo, data.chelsea(), check_contrast=False)
    labels = ["a cat", "a file name"]
    ranked = httpx.post(f"{server_url}/classify", json={"text": str(photo), "labels": labels})
    vector = encoder.encode([str(photo)], role="document")
    expected = es.cosine(vector, encoder.encode(labels, role="query"))[0]
    assert {p["label"]: p["score"] for p in ranked.json()} == pytest.approx(
        dict(zip(labels, expected.tolist(), strict=True)), abs=1e-5
    )
    missing = httpx.post(f"{server_url}/classify", json={"id": str(photo), "labels": labels})
    assert missing.status_code == 404


# -- writing -----------------------------------------------------------------------------
def test_items_add_get_update_delete(writable_url):
    added = httpx.post(
        f"{writable_url}/items",
        json={
            "items": [
                {"id": "n1", "text": "a cat on a mat", "metadata": {"kind": "pet"}},
                {"text": "dogs chase cats"},
            ]
        },
    ).json()["ids"]
    assert added[0] == "n1" and len(added) == 2
    assert httpx.get(f"{writable_url}/health").json()["items"] == 62
    hits = httpx.post(f"{writable_url}/search", json={"query": "kitten on a rug", "k": 1})
    assert hits.json()["hits"][0]["id"] == "n1"
    updated = httpx.patch(f"{writable_url}/items/n1", json={"text": "a rocket to the moon"})
    assert updated.json() == {
        "id": "n1",
        "text": "a rocket to the moon",
        "metadata": {"kind": "pet"},
    }
    hits = httpx.post(f"{writable_url}/search", json={"query": "moon landing", "k": 1})
    assert hits.json()["hits"][0]["id"] == "n1"
    assert httpx.get(f"{writable_url}/map").json()["count"] == 62
    assert httpx.delete(f"{writable_url}/items/n1").json() == {"deleted": 1}
    assert httpx.post(f"{writable_url}/items/delete", json={"ids": [added[1], "zz"]}).json() == {
        "deleted": 1
    }
    assert httpx.get(f"{writable_url}/items/n1").status_code == 404
    # Ids from files look like paths ("reviews/a b.txt"): they work in URLs too.
    httpx.post(f"{writable_url}/items", json={"items": [{"id": "reviews/a b.txt", "text": "ok"}]})
    assert httpx.get(f"{writable_url}/items/reviews%2Fa%20b.txt").json()["text"] == "ok"
    assert httpx.post(f"{writable_url}/similar/reviews/a b.txt", json={"k": 1}).status_code == 200
    assert httpx.delete(f"{writable_url}/items/reviews/a b.txt").json() == {"deleted": 1}
    assert httpx.get(f"{writable_url}/map").json()["count"] == 60


def test_body_and_batch_limits(writable_url):
    too_many = {"items": [{"text": f"text {i}"} for i in range(9)]}
    response = httpx.post(f"{writable_url}/items", json=too_many)
    assert response.status_code == 413 and response.json()["error"]["param"] == "items"
    huge = {"model": "default", "input": "word " * 10_000}
    response = httpx.post(f"{writable_url}/v1/embeddings", json=huge)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"

    def chunks():
        for _ in range(10):
            yield b'{"input": "' + b"x" * 5_000

    streamed = httpx.post(f"{writable_url}/v1/embeddings", content=chunks())
    assert streamed.status_code == 413


def test_concurrent_readers_and_a_writer(writable_url):
    """Searches keep answering, with full results, while items are being added."""
    errors: list[str] = []

    def guarded(fn):
        def run():
            try:
                fn()
            except Exception as exc:  # a dead thread must fail the test, not vanish
                errors.append(repr(exc))

        return threading.Thread(target=run)

    def read():
        for _ in range(8):
            r = httpx.post(
                f"{writable_url}/search", json={"query": "a funny comedy", "k": 3}, timeout=60
            )
            if r.status_code != 200 or len(r.json()["hits"]) != 3:
                errors.append(r.text)

    def write():
        for i in range(6):
            r = httpx.post(
                f"{writable_url}/items", json={"items": [{"text": f"new film {i}"}]}, timeout=60
            )
            if r.status_code != 200:
                errors.append(r.text)

    threads = [guarded(read) for _ in range(3)] + [guarded(write)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert httpx.get(f"{writable_url}/health").json()["items"] == 66


# -- security ----------------------------------------------------------------------------
def test_api_key_guards_every_route_but_health(served_space_path):
    with running(create_app(served_space_path, api_key="s3cret")) as url:
        assert httpx.get(f"{url}/health").status_code == 200
        assert httpx.get(f"{url}/").status_code == 200  # the page shell holds no data
        for method, path in [("GET", "/map"), ("POST", "/search"), ("GET", "/openapi.json")]:
            response = httpx.request(method, f"{url}{path}", json={"query": "x"})
            assert response.status_code == 401, path
            assert response.json()["error"]["code"] == "invalid_api_key"
        wrong = openai.OpenAI(api_key="guess", base_url=f"{url}/v1", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            wrong.embeddings.create(model="default", input="hi")
        right = openai.OpenAI(api_key="s3cret", base_url=f"{url}/v1", max_retries=0)
        assert len(right.embeddings.create(model="default", input="hi").data[0].embedding) == 384


def test_no_cors_headers_by_default(server_url):
    response = httpx.options(
        f"{server_url}/search",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1"])
def test_refuses_non_loopback_hosts_without_allow_remote(host):
    with pytest.raises(es.InvalidInputError, match="--allow-remote"):
        check_bind_host(host, allow_remote=False)
    check_bind_host(host, allow_remote=True)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_loopback_hosts_are_fine(host):
    check_bind_host(host, allow_remote=False)


def _png_base64(array) -> str:
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_search_image_ranks_labels_and_finds_items(server_url, served_space_path):
    from skimage import data

    labels = ["a rocket", "a cat", "a cup of coffee"]
    body = httpx.post(
        f"{server_url}/search_image",
        json={"image": _png_base64(data.chelsea()), "k": 5, "labels": labels},
        timeout=120,
    ).json()
    assert body["predictions"][0]["label"] == "a cat"
    with es.Space(served_space_path, create=False, progress=False) as sp:
        expected = [h.id for h in sp.search_image(data.chelsea(), k=5)]
    assert [h["id"] for h in body["hits"]] == expected
    assert len(body["position"]) == 2
    for image in ("not base64!", "aGVsbG8="):  # the second decodes to b"hello"
        response = httpx.post(f"{server_url}/search_image", json={"image": image})
        assert response.status_code == 400 and response.json()["error"]["param"] == "image"


# -- analysis routes ------------------------------------------------------------------------
def test_duplicates_and_clusters_match_the_library(server_url, served_space_path):
    with es.Space(served_space_path, create=False, progress=False) as sp:
        groups = sp.duplicates(0.5)
        clusters = sp.clusters(k=4)
        default = sp.duplicates()
    body = httpx.post(f"{server_url}/duplicates", json={"threshold": 0.5}).json()
    assert body["threshold"] == 0.5
    assert [g["ids"] for g in body["groups"]] == [g.ids for g in groups]
    assert all(p["score"] >= 0.5 for g in body["groups"] for p in g["pairs"])
    calibrated = httpx.post(f"{server_url}/duplicates", json={}).json()
    assert 0.5 < calibrated["threshold"] < 0.85  # the model's recorded value
    assert [g["ids"] for g in calibrated["groups"]] == [g.ids for g in default]

    body = httpx.post(f"{server_url}/clusters", json={"k": 4}).json()
    assert [(c["id"], c["ids"], c["label"]) for c in body["clusters"]] == [
        (c.id, c.ids, c.label) for c in clusters
    ]
    assert sum(c["size"] for c in body["clusters"]) == 60
    noise = httpx.post(f"{server_url}/clusters", json={"method": "hdbscan", "min_size": 3}).json()
    assert sum(c["size"] for c in noise["clusters"]) <= 60
    small = {"method": "hdbscan", "min_size": 2}
    some = httpx.post(f"{server_url}/clusters", json=small).json()["clusters"]
    everyone = httpx.post(f"{server_url}/clusters", json={**small, "noise": "nearest"}).json()
    assert len(some) >= 2 and len(everyone["clusters"]) == len(some)
    assert sum(c["size"] for c in everyone["clusters"]) == 60 > sum(c["size"] for c in some)
    bad = httpx.post(f"{server_url}/clusters", json={"k": 500})
    assert (
        bad.status_code == 400 and "between 1 and the item count" in bad.json()["error"]["message"]
    )
    assert httpx.post(f"{server_url}/clusters", json={"method": "spectral"}).status_code == 422


def test_outliers_and_recommend(server_url, served_space_path):
    with es.Space(served_space_path, create=False, progress=False) as sp:
        first = sp.ids()[0]
        outliers = sp.outliers(10, limit=5)
        recommended = sp.recommend([first], k=5, diversity=0.3)
    body = httpx.post(f"{server_url}/outliers", json={"k": 10, "limit": 5}).json()
    assert [o["id"] for o in body["outliers"]] == [o.id for o in outliers]
    body = httpx.post(
        f"{server_url}/recommend", json={"liked": [first], "k": 5, "diversity": 0.3}
    ).json()
    assert [h["id"] for h in body["hits"]] == [h.id for h in recommended]
    assert first not in [h["id"] for h in body["hits"]]
    by_text = httpx.post(f"{server_url}/recommend", json={"query": "a scary ghost story"})
    assert by_text.status_code == 200 and len(by_text.json()["hits"]) == 10
    empty = httpx.post(f"{server_url}/recommend", json={})
    assert empty.status_code == 400 and "need something liked" in empty.json()["error"]["message"]


def test_map_carries_each_items_cluster(server_url):
    body = httpx.get(f"{server_url}/map", params={"clusters": "true"}).json()
    clusters = httpx.post(f"{server_url}/clusters", json={}).json()["clusters"]
    assert len(body["clusters"]) == body["count"] == 60
    assert body["cluster_labels"] == [c["label"] for c in clusters]
    for c in clusters:
        assert {body["ids"][i] for i, n in enumerate(body["clusters"]) if n == c["id"]} == set(
            c["ids"]
        )
    assert httpx.get(f"{server_url}/map").json()["clusters"] is None
    alone = httpx.get(f"{server_url}/map/clusters").json()
    assert alone["clusters"] == body["clusters"] and alone["generation"] == body["generation"]


def test_search_takes_a_named_vector(tmp_path):
    path = tmp_path / "named.space"
    with es.Space(path, progress=False, vectors={"words": "glove"}) as space:
        space.add(["a cat asleep on the sofa", "the central bank raised rates"], ids=["c", "b"])
    with running(create_app(path)) as url:
        found = httpx.post(f"{url}/search", json={"query": "kitten", "k": 2, "using": "words"})
        assert found.status_code == 200, found.text
        assert [h["id"] for h in found.json()["hits"]][0] == "c"
        unknown = httpx.post(f"{url}/search", json={"query": "kitten", "using": "nope"})
        assert unknown.status_code == 400 and "words" in unknown.json()["error"]["message"]
        assert [v["name"] for v in httpx.get(f"{url}/health").json()["vectors"]][1] == "words"


def test_stats_show_the_query_cache_filling_with_repeated_searches(server_url):
    def cache() -> dict:
        response = httpx.get(f"{server_url}/stats")
        assert response.status_code == 200
        return response.json()["query_cache"]

    query = {"query": "a query only this test asks: haunted lighthouse keeper", "k": 3}
    before = cache()
    for _ in range(3):
        assert httpx.post(f"{server_url}/search", json=query).status_code == 200
    after = cache()
    # The first search encodes the query once (its map position reuses the vector); the
    # next two find it: one miss, five hits.
    assert after["misses"] - before["misses"] == 1
    assert after["hits"] - before["hits"] == 5
    assert after["entries"] >= 1 and 0 < after["hit_rate"] <= 1
    assert after["bytes"] <= after["max_bytes"]
