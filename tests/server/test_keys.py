"""Scoped keys: hashed in a private key file, 401 for bad keys, 403 for a valid key out of
scope (every write and admin route tried with a read key), revocation and rotation
without a restart, an audit log without texts."""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time

import pytest
from helpers.figures import record
from typer.testing import CliRunner

pytest.importorskip("fastapi", reason="the server extra is not installed")
httpx = pytest.importorskip("httpx")

from helpers.serving import patient_http as http  # noqa: E402
from helpers.serving import running  # noqa: E402

from embedspace.cli import app as cli  # noqa: E402
from embedspace.errors import InsecureKeyFileError  # noqa: E402
from embedspace.server import create_app  # noqa: E402
from embedspace.server import keys as keys_module  # noqa: E402
from embedspace.server.keys import KeyFile  # noqa: E402

runner = CliRunner()


@pytest.fixture
def spaces_dir(served_space_path, tmp_path):
    """A folder of two spaces, ``shop`` and ``tickets`` (copies of the served space)."""
    folder = tmp_path / "spaces"
    for name in ("shop", "tickets"):
        shutil.copytree(served_space_path, folder / f"{name}.space")
    return folder


@pytest.fixture
def keyring(tmp_path):
    """A key file with one key of each kind; returns (path, {kind: key})."""
    path = tmp_path / "keys.json"
    keyfile = KeyFile.load(path, missing_ok=True)
    made = {
        "read": keyfile.add("read"),
        "read-shop": keyfile.add("read", ["shop"]),
        "write": keyfile.add("write", label="ingest job"),
        "admin": keyfile.add("admin", label="ops"),
    }
    keyfile.save()
    return path, made


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_keys_cli_stores_hashes_privately_and_shows_the_key_once(tmp_path):
    path = tmp_path / "team.keys"
    result = runner.invoke(cli, ["keys", "add", "--scope", "read", "--space", "shop", str(path)])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[0]
    assert key.startswith("es_")
    assert os.stat(path).st_mode & 0o777 == 0o600
    stored = path.read_text()
    assert key.split("_", 2)[2] not in stored and "scrypt$" in stored
    listed = runner.invoke(cli, ["keys", "list", str(path), "--json"])
    row = json.loads(listed.stdout)
    assert (row["scope"], row["spaces"], row["revoked"]) == ("read", ["shop"], None)
    assert "hash" not in row and key not in listed.stdout
    assert runner.invoke(cli, ["keys", "revoke", str(path), key]).exit_code == 0
    assert json.loads(runner.invoke(cli, ["keys", "list", str(path), "--json"]).stdout)["revoked"]
    for bad in (["--scope", "root"], ["--scope", "read", "--space", "../etc"]):
        refused = runner.invoke(cli, ["keys", "add", *bad, str(path)])
        assert refused.exit_code == 1 and "error" in refused.output


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o620])
def test_refuses_a_key_file_others_can_read_or_write(spaces_dir, keyring, mode):
    path, _ = keyring
    path.chmod(mode)
    with pytest.raises(InsecureKeyFileError, match="chmod 600"):
        create_app(spaces_dir, keys=path)
    result = runner.invoke(cli, ["serve", str(spaces_dir), "--keys", str(path)])
    said = " ".join(result.output.split())  # rich wraps long lines
    assert result.exit_code == 1 and "chmod 600" in said and "permissions" in said


def _scoped_routes(app, scope: str) -> list[tuple[str, str]]:
    """(method, concrete path) of every operation whose spec says it needs ``scope``:
    enumerated from the app itself, so a route added later is covered too."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            if any(scope in needed for needed in (operation.get("security") or [{}])[0].values()):
                concrete = path.replace("{name}", "shop").replace("{id}", "some-id")
                found.append((method.upper(), concrete))
    return found


def test_a_read_key_gets_403_on_every_write_and_admin_route(spaces_dir, keyring, tmp_path):
    """``serve shop.space``: its routes at the root and under /spaces/shop, and the
    server-wide admin routes (create and drop spaces)."""
    path, made = keyring
    app = create_app(spaces_dir / "shop.space", keys=path)
    write_routes = _scoped_routes(app, "write")
    admin_routes = _scoped_routes(app, "admin")
    assert len(write_routes) == 8 and len(admin_routes) == 8
    statuses = {}
    with running(app) as url:
        before = http.get(f"{url}/spaces", headers=bearer(made["read"])).json()
        for method, route in write_routes + admin_routes:
            for kind in ("read", "read-shop"):
                response = http.request(
                    method, url + route, json={}, headers=bearer(made[kind]), timeout=60
                )
                statuses[(kind, method, route)] = response.status_code
                assert response.status_code == 403, (kind, method, route, response.text)
                assert response.json()["error"]["code"] == "insufficient_scope"
        method, backup_route = next(r for r in admin_routes if r[1].endswith("/backup"))
        refused = http.request(method, url + backup_route, headers=bearer(made["write"]))
        assert refused.status_code == 403  # write does not include admin
        after = http.get(f"{url}/spaces", headers=bearer(made["read"])).json()
    assert after == before  # nothing changed: counts of both spaces as they were
    assert not (spaces_dir / ".backups").exists()
    record(
        "read-key-on-write-routes",
        routes=len(write_routes) + len(admin_routes),
        attempts=len(statuses),
        forbidden=sum(s == 403 for s in statuses.values()),
    )


def test_relaying_the_map_out_needs_a_write_key(spaces_dir, keyring):
    """``/map?relayout=true`` rewrites the layout cached in the space folder."""
    path, made = keyring
    with running(create_app(spaces_dir / "shop.space", keys=path)) as url:
        read = httpx.get(f"{url}/map", headers=bearer(made["read"]), timeout=120)
        assert read.status_code == 200
        refused = httpx.get(
            f"{url}/map", params={"relayout": "true"}, headers=bearer(made["read"]), timeout=120
        )
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "insufficient_scope"
        allowed = httpx.get(
            f"{url}/map", params={"relayout": "true"}, headers=bearer(made["write"]), timeout=120
        )
        assert allowed.status_code == 200 and allowed.json()["ids"] == read.json()["ids"]


def test_401_for_bad_keys_403_for_other_spaces_and_lists_only_whats_allowed(spaces_dir, keyring):
    path, made = keyring
    with running(create_app(spaces_dir, keys=path)) as url:
        search = {"query": "a funny comedy", "k": 2}
        wrong_secret = made["read"][:-4] + "abcd"
        for headers in (
            {},
            {"Authorization": made["read"]},  # no Bearer
            bearer("guess"),
            bearer(wrong_secret),
            bearer(made["read"] + "x"),
        ):
            response = http.post(f"{url}/spaces/shop/search", json=search, headers=headers)
            assert response.status_code == 401, headers
            assert response.json()["error"]["code"] == "invalid_api_key"
        limited = bearer(made["read-shop"])
        assert http.post(f"{url}/spaces/shop/search", json=search, headers=limited).is_success
        other = http.post(f"{url}/spaces/tickets/search", json=search, headers=limited)
        assert (
            other.status_code == 403 and "limited to ['shop']" in other.json()["error"]["message"]
        )
        listed = http.get(f"{url}/spaces", headers=limited).json()["spaces"]
        assert [s["name"] for s in listed] == ["shop"]
        everything = http.get(f"{url}/spaces", headers=bearer(made["read"])).json()["spaces"]
        assert [s["name"] for s in everything] == ["shop", "tickets"]
        embedded = http.post(
            f"{url}/v1/embeddings", json={"model": "default", "input": "hi"}, headers=limited
        )
        assert embedded.is_success and len(embedded.json()["data"][0]["embedding"]) == 384
        assert http.get(f"{url}/health").status_code == 200  # liveness stays open
        assert http.get(f"{url}/spaces/shop/").status_code == 200  # the explorer's page
        assert http.get(f"{url}/openapi.json").status_code == 401


def test_revoked_mid_stream_and_rotated_without_restart(spaces_dir, keyring):
    """A client searching in a loop while its key is revoked: every request that starts
    after ``keys revoke`` returns is refused; a key added meanwhile works at once."""
    path, made = keyring
    seen: list[tuple[float, int]] = []
    stop = threading.Event()

    def stream(url: str) -> None:
        with httpx.Client(headers=bearer(made["write"]), timeout=60) as client:
            while not stop.is_set():
                started = time.monotonic()
                status = client.post(
                    f"{url}/spaces/shop/search", json={"query": "war film", "k": 1}
                ).status_code
                seen.append((started, status))

    with running(create_app(spaces_dir, keys=path)) as url:
        thread = threading.Thread(target=stream, args=(url,))
        thread.start()
        while len(seen) < 5:
            time.sleep(0.05)
        result = runner.invoke(cli, ["keys", "revoke", str(path), made["write"]])
        assert result.exit_code == 0, result.output
        revoked_at = time.monotonic()
        time.sleep(1.0)
        added = runner.invoke(cli, ["keys", "add", "--scope", "read", str(path)])
        new_key = added.stdout.strip().splitlines()[0]
        fresh = http.post(
            f"{url}/spaces/tickets/search", json={"query": "x"}, headers=bearer(new_key)
        )
        stop.set()
        thread.join(timeout=60)
    assert fresh.status_code == 200
    before = [s for t, s in seen if t < revoked_at]
    after = [s for t, s in seen if t > revoked_at]
    assert before and set(before) <= {200, 401}
    # refused from the first request on; a client retrying a dead key fast is then
    # slowed down like any guesser (429)
    assert before[0] == 200 and after and after[0] == 401, (before[-3:], after[:3])
    assert set(after) <= {401, 429}
    record(
        "revoked-mid-stream",
        before=len(before),
        after=len(after),
        after_statuses=sorted(set(after)),
    )


def test_a_key_file_made_unsafe_while_running_refuses_every_key(spaces_dir, keyring):
    path, made = keyring
    with running(create_app(spaces_dir, keys=path)) as url:
        ok = http.get(f"{url}/spaces", headers=bearer(made["read"]))
        path.chmod(0o644)
        refused = http.get(f"{url}/spaces", headers=bearer(made["read"]))
        path.chmod(0o600)
        again = http.get(f"{url}/spaces", headers=bearer(made["read"]))
    assert (ok.status_code, refused.status_code, again.status_code) == (200, 401, 200)


def test_scrypt_runs_once_per_key_and_keys_compare_in_constant_time(
    spaces_dir, keyring, monkeypatch
):
    path, made = keyring
    calls = {"scrypt": 0, "compare": 0}
    real_scrypt, real_compare = keys_module.hashlib.scrypt, keys_module.hmac.compare_digest

    def scrypt(*args, **kwargs):
        calls["scrypt"] += 1
        return real_scrypt(*args, **kwargs)

    def compare(a, b):
        calls["compare"] += 1
        return real_compare(a, b)

    monkeypatch.setattr(keys_module.hashlib, "scrypt", scrypt)
    monkeypatch.setattr(keys_module.hmac, "compare_digest", compare)
    with running(create_app(spaces_dir, keys=path)) as url:
        for _ in range(20):
            assert http.get(f"{url}/spaces", headers=bearer(made["read"])).is_success
    assert calls["scrypt"] == 1
    assert calls["compare"] >= 20


def test_wrong_keys_from_one_address_are_slowed_down(spaces_dir, keyring):
    path, made = keyring
    with running(create_app(spaces_dir, keys=path)) as url:
        with httpx.Client(timeout=60) as client:
            statuses = [
                client.get(f"{url}/spaces", headers=bearer(f"es_0000000{i % 10}_{'x' * 43}"))
                for i in range(40)
            ]
            good = client.get(f"{url}/spaces", headers=bearer(made["read"]))
    codes = [r.status_code for r in statuses]
    assert codes[0] == 401 and 429 in codes and set(codes) <= {401, 429}
    limited = next(r for r in statuses if r.status_code == 429)
    assert int(limited.headers["retry-after"]) >= 1
    assert good.status_code == 200  # a valid key is never held back by others' guesses


def test_audit_log_names_who_did_what_but_never_the_text(spaces_dir, keyring, caplog):
    path, made = keyring
    secret_text = "the quarterly numbers are confidential 4711"
    caplog.set_level(logging.INFO, logger="embedspace.audit")
    with running(create_app(spaces_dir, keys=path)) as url:
        item = {"items": [{"id": "audit-1", "text": secret_text, "metadata": {"x": secret_text}}]}
        added = http.post(f"{url}/spaces/shop/items", json=item, headers=bearer(made["write"]))
        denied = http.post(f"{url}/spaces/shop/items", json=item, headers=bearer(made["read"]))
        dropped = httpx.delete(
            f"{url}/spaces/shop/items/audit-1", headers=bearer(made["admin"]), timeout=60
        )
        searched = http.post(
            f"{url}/spaces/shop/search", json={"query": secret_text}, headers=bearer(made["read"])
        )
    assert (added.status_code, denied.status_code, dropped.status_code) == (200, 403, 200)
    assert searched.status_code == 200
    entries = [json.loads(r.getMessage()) for r in caplog.records if r.name == "embedspace.audit"]
    assert [(e["key"], e["method"], e["status"], e["needs"]) for e in entries] == [
        (made["write"][3:11], "POST", 200, "write"),
        (made["read"][3:11], "POST", 403, "write"),
        (made["admin"][3:11], "DELETE", 200, "write"),
    ]
    assert entries[0]["label"] == "ingest job" and entries[0]["space"] == "shop"
    assert all(e["path"].startswith("/spaces/shop/items") and e["time"] for e in entries)
    assert secret_text not in caplog.text and "4711" not in caplog.text
