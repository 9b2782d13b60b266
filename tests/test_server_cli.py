"""`embedspace serve` as a user runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from embedspace.cli import app

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi", reason="the server extra is not installed")

from serving import free_port  # noqa: E402

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
                health = httpx.get(f"{base}/health")
                break
            except httpx.ConnectError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
                time.sleep(0.2)
        assert health.json()["items"] == 60
        assert httpx.get(f"{base}/map").status_code == 401
        headers = {"Authorization": "Bearer k3y"}
        assert httpx.get(f"{base}/map", headers=headers).json()["count"] == 60
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
