"""`embedspace serve` as a user runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from typer.testing import CliRunner

import embedspace as es
from embedspace.cli import app

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi", reason="the server extra is not installed")

from helpers.serving import free_port  # noqa: E402

runner = CliRunner()


def test_serve_refuses_remote_hosts_and_missing_keys(served_space_path):
    result = runner.invoke(app, ["serve", str(served_space_path), "--host", "0.0.0.0"])
    assert result.exit_code == 1 and "--allow-remote" in result.output
    env = {k: v for k, v in os.environ.items() if k != "ES_TEST_UNSET_KEY"}
    result = runner.invoke(
        app, ["serve", str(served_space_path), "--api-key-env", "ES_TEST_UNSET_KEY"], env=env
    )
    assert result.exit_code == 1 and "ES_TEST_UNSET_KEY" in result.output


def test_serve_runs_until_interrupted(served_space_path):
    port = free_port()
    command = "from embedspace.cli import app; app()"
    env = os.environ | {"ES_TEST_KEY": "k3y"}
    args = ["serve", str(served_space_path), "--port", str(port), "--api-key-env", "ES_TEST_KEY"]
    proc = subprocess.Popen(
        [sys.executable, "-c", command, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"{base}/health", timeout=60)
                break
            except httpx.ConnectError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
                time.sleep(0.2)
        assert health.json()["items"] == 60
        assert httpx.get(f"{base}/map", timeout=60).status_code == 401
        headers = {"Authorization": "Bearer k3y"}
        # a new process: the first map may compile UMAP (numba) on a busy machine
        assert httpx.get(f"{base}/map", headers=headers, timeout=120).json()["count"] == 60
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0


def test_map_export_png_and_html(served_space_path, tmp_path):
    from PIL import Image

    png = tmp_path / "map.png"
    result = runner.invoke(app, ["map", str(served_space_path), "--out", str(png), "--json"])
    assert result.exit_code == 0, result.output
    image = Image.open(png)
    assert image.size == (1600, 1600)
    point_pixels = (np.asarray(image) == (50, 90, 160)).all(axis=2).sum()
    assert point_pixels >= 60 * 9  # every point drawn, a few pixels each (some may overlap)
    args = ["map", str(served_space_path), "--out", str(png), "--color-by", "kind"]
    assert runner.invoke(app, args).exit_code == 0
    colours = {tuple(c) for c in np.asarray(Image.open(png)).reshape(-1, 3)}
    assert len(colours) >= 3  # background plus one colour per kind of item

    html = tmp_path / "map.html"
    result = runner.invoke(app, ["map", str(served_space_path), "--out", str(html)])
    assert result.exit_code == 0, result.output
    page = html.read_text()
    assert "/static/" not in page and "window.EMBEDSPACE_EXPORT" in page
    bad = runner.invoke(app, ["map", str(served_space_path), "--out", str(tmp_path / "m.svg")])
    assert bad.exit_code == 1 and ".html or .png" in bad.output
    assert "gl.drawArrays" in page  # the WebGL point layer is inlined too


def test_map_export_method(served_space_path, tmp_path):
    import json

    out = tmp_path / "pca.png"
    args = ["map", str(served_space_path), "--out", str(out), "--method", "pca", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0 and json.loads(result.output)["points"] == 60
    args = ["map", str(served_space_path), "--out", str(out), "--method", "tsne"]
    bad = runner.invoke(app, args)
    assert bad.exit_code == 1 and "method must be one of" in bad.output


def _distinct_colours(image, centre: tuple[float, float], half: int = 10) -> int:
    x, y = round(centre[0]), round(centre[1])
    patch = np.asarray(image.convert("RGB"))[y - half : y + half, x - half : x + half]
    return len({tuple(c) for c in patch.reshape(-1, 3)})


def test_map_export_draws_photos_as_pictures(photo_space_path, tmp_path):
    from PIL import Image

    png, html = tmp_path / "map.png", tmp_path / "map.html"
    for out in (png, html):
        result = runner.invoke(app, ["map", str(photo_space_path), "--out", str(out)])
        assert result.exit_code == 0, result.output
    with es.Space(photo_space_path, create=False, progress=False) as sp:
        space_map = sp.map()  # the cached layout the export drew
    centre = {
        i: (800 + x * 1600 * 0.46, 800 - y * 1600 * 0.46)
        for i, (x, y) in zip(space_map.ids, space_map.xy, strict=True)
    }
    image = Image.open(png)
    # A photo is hundreds of colours where a dot is one; the reviews stay dots.
    assert _distinct_colours(image, centre["chelsea.png"]) > 100
    text_id = next(i for i in space_map.ids if not i.endswith(".png"))
    assert _distinct_colours(image, centre[text_id], half=2) < 20
    page = html.read_text()
    assert page.count("data:image/jpeg;base64,") == 5  # each photo inlined once, shrunk
