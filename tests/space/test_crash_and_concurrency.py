"""kill -9 mid-ingest loses nothing and duplicates nothing; readers never see 'database is locked'.

Figures go to docs/reliability.md (see tests/figures.py)."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import httpx
import pytest
from helpers.figures import record
from helpers.serving import free_port, wait_healthy

import embedspace as es
from embedspace.integrity import check_path

#: Reviews (short texts) keep each ingest run a few seconds long even on a busy machine.
CORPUS_SIZE = 240
BATCH = 16
KILLS = {"add": 8, "sync": 6, "server": 6}
QUIET = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


@pytest.fixture(scope="module")
def reviews(demo_docs):
    docs = [d for d in demo_docs if d.metadata["kind"] != "plot"]
    return [d.text for d in docs[: CORPUS_SIZE + 60]]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "embedspace", *args]


def _kill_after(proc: subprocess.Popen, delay: float) -> bool:
    """SIGKILL ``proc`` after ``delay`` s; False if it had already finished by then."""
    try:
        proc.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return True


def _after_crash(space_path: Path) -> int:
    """The space opens, passes the integrity check and searches; returns its item count."""
    if not (space_path / "space.sqlite").exists():
        return 0  # killed before it created anything
    report = check_path(space_path)
    assert report.ok, report.errors
    with es.Space(space_path, progress=False) as space:
        assert space.check().ok
        if len(space):
            assert space.search("a gripping film", k=3)
        return len(space)


def _contents(space_path: Path) -> dict[str, str]:
    with es.Space(space_path, progress=False) as space:
        return {item.id: item.text for item in space.items(space.ids())}


def _write_corpus(folder: Path, texts: list[str]) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {f"review-{i:04d}.txt": text for i, text in enumerate(texts)}
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return files


def _kill_loop(rounds: int, start, space_path: Path, rng, between=None) -> list[tuple[bool, int]]:
    """``rounds`` times: start an ingest, SIGKILL it at a random moment, check the space.
    Returns (killed before it finished, items after) per round."""
    outcomes = []
    for round_ in range(rounds):
        if between:
            between(round_)
        killed = start(rng.uniform(0.5, 3.0))
        outcomes.append((killed, _after_crash(space_path)))
    return outcomes


def test_sigkill_during_add_sync_and_server_upload_loses_and_duplicates_nothing(tmp_path, reviews):
    """20 SIGKILLs at random moments of real ingests (CLI add, CLI sync, a server taking
    batch uploads); after each the space opens and passes `check`; a last clean run
    converges to exactly the expected items."""
    rng = random.Random(6)
    started = time.perf_counter()
    interrupted = 0

    # 1. `embedspace add` over a folder of files: ids are file names, written in sorted
    #    order, one transaction per batch, so what survives is whole batches of a prefix.
    docs = tmp_path / "docs"
    expected = _write_corpus(docs, reviews[:CORPUS_SIZE])
    space_path = tmp_path / "add.space"

    def add(delay: float) -> bool:
        proc = subprocess.Popen(
            _cli("add", str(space_path), str(docs), "--batch-size", str(BATCH)), **QUIET
        )
        return _kill_after(proc, delay)

    outcomes = _kill_loop(KILLS["add"], add, space_path, rng)
    for killed, count in outcomes:  # whole batches only
        assert count == CORPUS_SIZE or (killed and count % BATCH == 0), outcomes
    interrupted += sum(killed and 0 < count < CORPUS_SIZE for killed, count in outcomes)
    subprocess.run(_cli("add", str(space_path), str(docs)), check=True, timeout=300)
    assert _contents(space_path) == expected

    # 2. `embedspace sync` of a folder that changes between runs (edits, deletions, new
    #    files): the space must end up mirroring the folder exactly.
    folder = tmp_path / "synced"
    mirror = _write_corpus(folder, reviews[:CORPUS_SIZE])
    reserve = iter(reviews[CORPUS_SIZE:])
    space_path = tmp_path / "sync.space"

    def change_folder(round_: int) -> None:
        if round_ == 0:
            return
        names = sorted(mirror)
        for name in rng.sample(names, 3):
            mirror[name] = mirror[name] + f" (edited in round {round_})"
            (folder / name).write_text(mirror[name], encoding="utf-8")
        for name in rng.sample(names, 2):
            (folder / name).unlink()
            del mirror[name]
        for j in range(2):
            name = f"new-{round_}-{j}.txt"
            mirror[name] = next(reserve)
            (folder / name).write_text(mirror[name], encoding="utf-8")

    def sync(delay: float) -> bool:
        proc = subprocess.Popen(
            _cli("sync", str(space_path), str(folder), "--batch-size", str(BATCH)), **QUIET
        )
        return _kill_after(proc, delay)

    outcomes = _kill_loop(KILLS["sync"], sync, space_path, rng, between=change_folder)
    interrupted += sum(killed for killed, _ in outcomes)
    subprocess.run(_cli("sync", str(space_path), str(folder)), check=True, timeout=300)
    assert _contents(space_path) == mirror

    # 3. A server taking batch uploads (POST /items, 16 items a request) is killed while a
    #    client uploads; the client then re-uploads everything to a restarted server.
    space_path = tmp_path / "server.space"
    es.Space(space_path, progress=False).close()
    uploads = {f"upload-{i:04d}": text for i, text in enumerate(reviews[:CORPUS_SIZE])}

    def upload_all(url: str) -> None:
        items = [{"id": k, "text": v} for k, v in uploads.items()]
        with httpx.Client(base_url=url, timeout=60) as client:
            for start in range(0, len(items), BATCH):
                client.post("/items", json={"items": items[start : start + BATCH]})

    def serve_and_upload(delay: float | None) -> bool:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen(
            _cli("serve", str(space_path), "--port", str(port)),
            **QUIET,
        )
        try:
            wait_healthy(url, proc)
            client = threading.Thread(target=_swallow, args=(upload_all, url), daemon=True)
            client.start()
            if delay is None:
                client.join()
                return False
            killed = _kill_after(proc, delay)
            client.join(timeout=60)
            return killed
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)

    outcomes = _kill_loop(KILLS["server"], serve_and_upload, space_path, rng)
    interrupted += sum(killed and count < CORPUS_SIZE for killed, count in outcomes)
    serve_and_upload(None)
    assert _contents(space_path) == uploads
    assert check_path(space_path).ok

    record(
        "crash",
        kills=sum(KILLS.values()),
        interrupted_mid_ingest=interrupted,
        corpus=CORPUS_SIZE,
        batch=BATCH,
        lost=0,
        duplicated=0,
        seconds=round(time.perf_counter() - started, 1),
    )


def _swallow(fn, *args) -> None:
    """Run a client that is expected to lose its server mid-request."""
    try:
        fn(*args)
    except httpx.HTTPError:
        pass


#: Each reader alternates dense and hybrid searches for ``seconds`` and counts, per
#: search, how many items of each writer group it saw. The writer adds a group of
#: GROUP items in one call and deletes whole groups in one call, so a consistent snapshot
#: shows every group whole or not at all.
READER = textwrap.dedent(
    """
    import collections, json, sys, time
    import embedspace as es
    space = es.Space(sys.argv[1], progress=False)
    stop, group = time.time() + float(sys.argv[2]), int(sys.argv[3])
    searches, torn, errors = 0, 0, []
    while time.time() < stop:
        try:
            mode = "dense" if searches % 2 else "hybrid"
            hits = space.search("refund for a lost parcel", k=100_000, mode=mode)
            sizes = collections.Counter(h.metadata.get("group") for h in hits)
            sizes.pop(None, None)
            torn += any(n != group for n in sizes.values()) if mode == "dense" else 0
            searches += 1
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    print(json.dumps({"searches": searches, "torn": torn, "errors": errors[:5],
                      "error_count": len(errors)}))
    """
)
READERS, READ_SECONDS, GROUP = 3, 15.0, 8


def test_readers_and_writer_never_lock_each_other(tmp_path):
    """N reader processes search while this process adds and deletes: no errors, no
    'database is locked', and every dense read sees whole writer groups only."""
    space_path = tmp_path / "busy.space"
    with es.Space(space_path, progress=False) as space:
        space.add([f"seed document {i} about refunds and parcels" for i in range(50)])
        readers = [
            subprocess.Popen(
                _python(READER, space_path, READ_SECONDS, GROUP),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(READERS)
        ]
        stop = time.time() + READ_SECONDS
        groups, live, writes = 0, [], 0
        while time.time() < stop or not groups:
            ids = space.add(
                [f"parcel refund note {groups}-{j}: item lost in transit" for j in range(GROUP)],
                metadata=[{"group": groups}] * GROUP,
            )
            live.append(ids)
            groups += 1
            writes += 1
            if len(live) > 3:
                space.delete(live.pop(0))
                writes += 1
        results = []
        for reader in readers:
            out, err = reader.communicate(timeout=180)
            assert reader.returncode == 0, err
            assert "locked" not in err
            results.append(json.loads(out))
        assert len(space) == 50 + GROUP * len(live)
        assert space.check().ok
    for result in results:
        assert result["error_count"] == 0, result["errors"]
        assert result["torn"] == 0
        assert result["searches"] > 0
    record(
        "concurrency-readers",
        readers=READERS,
        seconds=READ_SECONDS,
        writes=writes,
        searches=sum(r["searches"] for r in results),
        errors=0,
        locked=0,
        torn_snapshots=0,
    )


#: A writer process: adds its own items and deletes some, for ``seconds``; prints what it
#: committed. A SpaceLockedError (the other writer held the lock too long) is allowed and
#: counted: a clear error, nothing written. Anything else fails the test.
WRITER = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    import embedspace as es
    from embedspace.errors import SpaceLockedError
    space = es.Space(sys.argv[1], model=None, progress=False)
    name, stop = sys.argv[3], time.time() + float(sys.argv[2])
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    live, locked, n = set(), 0, 0
    while time.time() < stop:
        ids = [f"{name}-{n + j}" for j in range(20)]
        try:
            space.add_vectors(rng.normal(size=(20, 16)), ids=ids)
            live.update(ids)
            gone = sorted(live)[:5]
            space.delete(gone)
            live.difference_update(gone)
        except SpaceLockedError:
            locked += 1
        n += 20
    space.close()
    print(json.dumps({"live": sorted(live), "locked": locked, "batches": n // 20}))
    """
)


def test_two_writers_are_serialised_never_corrupt(tmp_path):
    """Two processes write the same space at once: every commit of each is there at the
    end, nothing else is, and the integrity check passes."""
    space_path = tmp_path / "two.space"
    es.Space(space_path, model=None, dim=16, progress=False).close()
    writers = [
        subprocess.Popen(
            _python(WRITER, space_path, 8, name),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("w1", "w2")
    ]
    results = []
    for writer in writers:
        out, err = writer.communicate(timeout=180)
        assert writer.returncode == 0, err
        results.append(json.loads(out))
    expected = set().union(*(r["live"] for r in results))
    with es.Space(space_path, model=None, progress=False) as space:
        assert set(space.ids()) == expected
        assert len(space.ids()) == len(expected)
        assert space.check().ok
    record(
        "concurrency-two-writers",
        batches=[r["batches"] for r in results],
        locked_errors=sum(r["locked"] for r in results),
        items=len(expected),
        corrupt=0,
    )


def _python(script: str, *args) -> list[str]:
    return [sys.executable, "-c", script, *map(str, args)]
