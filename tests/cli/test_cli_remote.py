"""Every command that takes a space, given a PostgreSQL URI (the throwaway server).

A space argument typed as a path once turned ``postgresql://u@h/db`` into
``postgresql:/u@h/db``, so these commands looked for a folder and failed with
NotASpaceError on a remote space; each one is run here as a user would.
"""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
from helpers.serving import free_port, wait_healthy  # noqa: E402
from helpers.tickets import TICKETS, TOPIC_LABELS  # noqa: E402
from typer.testing import CliRunner

import embedspace as es
from embedspace.cli import app

runner = CliRunner()


def _json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def tickets_uri(postgres_uri):
    uri = f"{postgres_uri}&collection=cli_tickets"
    with es.Space(uri, progress=False) as space:
        space.add(list(TICKETS.values()), ids=list(TICKETS))
    return uri


def _run(*args: str) -> list[dict]:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return _json_lines(result.output)


def test_analysis_commands_take_a_postgres_uri(tickets_uri):
    groups = _run("dupes", tickets_uri)
    assert any({"delivery-1", "delivery-2"} <= set(g["ids"]) for g in groups)
    clusters = _run("cluster", tickets_uri, "--k", "3", "--members")
    assert sorted(c["size"] for c in clusters) == [4, 4, 4]
    found = _run("outliers", tickets_uri, "--k", "3", "--limit", "2")
    assert [r["rank"] for r in found] == [1, 2]
    liked = _run("recommend", tickets_uri, "--liked", "crash-1", "-d", "login-1", "-k", "2")
    assert liked[0]["id"] == "crash-2"
    labels = [arg for label in TOPIC_LABELS for arg in ("--labels", label)]
    rows = {r["id"]: r["label"] for r in _run("classify", tickets_uri, *labels)}
    assert len(rows) == len(TICKETS) and rows["login-2"] == "a login or password problem"


def test_context_and_map_take_a_postgres_uri(tickets_uri, tmp_path):
    (ctx,) = _run("context", tickets_uri, "I cannot log in", "--no-rerank", "--k", "4")
    assert ctx["citations"] and all(c["id"] in TICKETS for c in ctx["citations"])
    out = tmp_path / "map.html"
    (written,) = _run("map", tickets_uri, "--out", str(out))
    assert written["points"] == len(TICKETS) and out.is_file()


def test_sync_takes_a_postgres_uri(postgres_uri, tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "bear.txt").write_text("A children's picture book about a sleepy bear")
    (folder / "rome.txt").write_text("The history of the Roman empire in twelve chapters")
    (report,) = _run("sync", f"{postgres_uri}&collection=cli_sync", str(folder))
    assert (report["added"], report["items"]) == (2, 2)


@pytest.mark.parametrize(
    "args", [("add-images", "cover.jpg"), ("check",)], ids=["add-images", "check"]
)
def test_folder_only_commands_say_so_for_a_postgres_uri(tickets_uri, args):
    """Thumbnails and the integrity audit need a space folder: a remote space is refused
    by name (NotSupportedError), not looked for as a mangled path."""
    result = runner.invoke(app, [args[0], tickets_uri, *args[1:], "--json"])
    assert result.exit_code == 1
    (error,) = _json_lines(result.output)
    assert error["error"] == "NotSupportedError", error


def test_serve_takes_a_postgres_uri(tickets_uri):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "embedspace", "serve", tickets_uri, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc)
        assert httpx.get(f"{url}/health").json()["items"] == len(TICKETS)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
