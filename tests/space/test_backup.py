"""Backups you can restore: taken while another process writes (each one exactly the
state of one commit), restored and checked; a restore never replaces a space unless told;
a backup that runs out of disk leaves nothing that looks whole; a damaged or partial
backup is refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from helpers.figures import record
from typer.testing import CliRunner

import embedspace as es
from embedspace.backup import MANIFEST, STORED_DB, backup, restore
from embedspace.cli import app as cli
from embedspace.errors import BackupError, NotSupportedError, SpaceExistsError
from embedspace.integrity import check_path

runner = CliRunner()
BATCH = 50

#: A writer process: adds batches of BATCH vectors and deletes the batch ten before, for
#: ``seconds``; after each commit prints the batch, what it did and the store generation
#: that commit made (it is the only writer, so each generation is one of its commits).
WRITER = textwrap.dedent(
    f"""
    import sys, time
    import numpy as np
    import embedspace as es
    space = es.Space(sys.argv[1], model=None, index="hnsw", progress=False)
    rng, stop, n = np.random.default_rng(7), time.time() + float(sys.argv[2]), 0
    print("ready", space.generation, flush=True)
    while time.time() < stop:
        space.add_vectors(rng.normal(size=({BATCH}, 16)), ids=[f"b{{n}}-{{j}}" for j in range({BATCH})])
        print("add", n, space.generation, flush=True)
        if n >= 10:
            space.delete([f"b{{n - 10}}-{{j}}" for j in range({BATCH})])
            print("del", n - 10, space.generation, flush=True)
        n += 1
    space.close()
    """
)


def _seeded(path: Path, n: int = 2000) -> Path:
    """A space of ``n`` 16-d vectors with a saved HNSW index file (built by a search)."""
    with es.Space(path, model=None, dim=16, index="hnsw", progress=False) as space:
        space.search_vector(np.ones(16), k=1)
        space.add_vectors(
            np.random.default_rng(0).normal(size=(n, 16)), ids=[f"s{i}" for i in range(n)]
        )
    return path


def _expected_at(events: list[tuple[str, int, int]], generation: int, seed: set[str]) -> set[str]:
    """The ids the store held right after the commit that made ``generation``."""
    held = set(seed)
    for action, batch, made in events:
        if made > generation:
            break
        ids = {f"b{batch}-{j}" for j in range(BATCH)}
        held = held | ids if action == "add" else held - ids
    return held


def test_backups_under_write_load_restore_exactly_one_commit(tmp_path):
    """20 backups while another process commits ~tens of batches a second (and saves its
    HNSW index file as it goes): each restores, passes check, and holds exactly the items
    of the commit it names - none lost, none extra, no batch torn."""
    space_path = _seeded(tmp_path / "busy.space")
    seed = {f"s{i}" for i in range(2000)}
    log = tmp_path / "writer.log"
    with log.open("w") as errors:
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(space_path), "60"],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
    events: list[tuple[str, int, int]] = []

    def read() -> None:
        for line in writer.stdout:
            action, *numbers = line.split()
            if action in ("add", "del") and len(numbers) == 2:  # not a line cut by the end
                events.append((action, int(numbers[0]), int(numbers[1])))

    reader = threading.Thread(target=read)
    reader.start()
    backups = []
    try:
        deadline = time.monotonic() + 120
        while len(events) < 5:
            assert writer.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        for i in range(20):
            dest = tmp_path / "backups" / f"b{i:02d}"
            commits_before = len(events)
            # half through the Python API of an open space, half from the folder (the CLI's way)
            if i % 2:
                with es.Space(space_path, create=False, progress=False) as space:
                    report = space.backup(dest)
            else:
                report = backup(space_path, dest)
            backups.append((dest, report, len(events) - commits_before))
    finally:
        writer.terminate()
        writer.wait(timeout=60)
        reader.join(timeout=60)
    generations, lost, extra, torn, notes = [], 0, 0, 0, 0
    for i, (dest, report, _) in enumerate(backups):
        restored = tmp_path / "restored" / f"r{i:02d}.space"
        result = restore(dest, restored)
        assert check_path(restored).ok
        with es.Space(restored, create=False, progress=False) as space:
            ids = set(space.ids())
            assert space.check().ok
            assert len(space.search_vector(np.ones(16), k=5)) == 5
        expected = _expected_at(events, report.generation, seed)
        assert report.generation <= events[-1][2], "the writer's last commit was not seen"
        lost += len(expected - ids)
        extra += len(ids - expected)
        batches = {i.split("-")[0] for i in ids if i.startswith("b")}
        torn += sum(1 for b in batches if sum(1 for i in ids if i.startswith(f"{b}-")) != BATCH)
        assert report.items == len(ids) == result.items
        generations.append(report.generation)
        notes += len(result.notes)
    assert lost == extra == torn == 0
    assert len(set(generations)) == 20  # every backup a different state: writes went on
    with_index = sum(report.files >= 3 for _, report, _ in backups)  # database + index pair
    assert with_index == 20
    record(
        "backups-under-write-load",
        backups=len(backups),
        restored_and_checked=len(backups),
        lost=lost,
        extra=extra,
        torn_batches=torn,
        writer_commits=len(events),
        commits_during_backups=sum(w for *_, w in backups),
        generations=[min(generations), max(generations)],
        with_index_file=with_index,
        restore_notes=notes,
    )


def test_restore_refuses_an_existing_space_unless_forced(served_space_path, tmp_path):
    dest = tmp_path / "movies.backup"
    taken = runner.invoke(cli, ["backup", str(served_space_path), str(dest), "--json"])
    assert taken.exit_code == 0, taken.output
    assert json.loads(taken.stdout)["items"] == 60
    again = runner.invoke(cli, ["backup", str(served_space_path), str(dest)])
    assert again.exit_code == 1 and "never overwrites" in " ".join(again.output.split())
    target = tmp_path / "movies.space"
    assert runner.invoke(cli, ["restore", str(dest), str(target)]).exit_code == 0
    with es.Space(target, create=False, progress=False) as space:
        space.delete(space.ids()[:10])
    refused = runner.invoke(cli, ["restore", str(dest), str(target)])
    assert refused.exit_code == 1 and "--force" in refused.output
    with es.Space(target, create=False, progress=False) as space:
        assert len(space) == 50  # untouched
    forced = runner.invoke(cli, ["restore", str(dest), str(target), "--force"])
    assert forced.exit_code == 0 and "replaced" in forced.output
    assert check_path(target).ok
    with es.Space(target, create=False, progress=False) as space:
        assert len(space) == 60
    other = tmp_path / "not-a-space"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(SpaceExistsError):
        restore(dest, other)
    assert (other / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "movies.backup",
        "movies.space",
        "not-a-space",
    ]


#: ``embedspace backup`` with every file it writes capped at a size (RLIMIT_FSIZE: the
#: kernel refuses writes past it, as a full disk does; Python ignores SIGXFSZ).
FULL_DISK = textwrap.dedent(
    """
    import resource, sys
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), int(sys.argv[1])))
    from embedspace.cli import app
    sys.argv = ["embedspace", "backup", *sys.argv[2:]]
    app()
    """
)


def test_a_backup_that_runs_out_of_disk_leaves_nothing_that_looks_whole(tmp_path):
    space_path = _seeded(tmp_path / "big.space", n=4000)
    db_size = (space_path / "space.sqlite").stat().st_size
    index_size = (space_path / "index-hnsw.faiss").stat().st_size
    folder = tmp_path / "backups"
    folder.mkdir()
    # The cap is per file: within the database copy, and within the index file copy
    # (the database fits under it).
    limits = (64 * 1024, db_size // 2, (db_size + index_size) // 2)
    assert db_size < limits[2] < index_size
    for limit in limits:
        dest = folder / f"cap-{limit}"
        run = subprocess.run(
            [sys.executable, "-c", FULL_DISK, str(limit), str(space_path), str(dest)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        said = " ".join((run.stdout + run.stderr).split())
        assert run.returncode == 1, said
        assert "nothing was left" in said and "Traceback" not in said
        assert list(folder.iterdir()) == [], [p.name for p in folder.iterdir()]
    assert check_path(space_path).ok  # the source is untouched
    whole = backup(space_path, folder / "whole")
    assert whole.items == 4000 and whole.files == 3  # database, index file, its sidecar
    record(
        "backup-disk-full",
        limits_bytes=list(limits),
        partial_backups_left=0,
    )


def test_damaged_or_partial_backups_are_refused(served_space_path, tmp_path):
    good = tmp_path / "good"
    backup(served_space_path, good)
    target = tmp_path / "target.space"

    partial = tmp_path / "partial"  # what a backup killed before its manifest leaves
    shutil.copytree(good, partial)
    (partial / MANIFEST).unlink()
    with pytest.raises(BackupError, match="not a whole backup"):
        restore(partial, target)

    flipped = tmp_path / "flipped"
    shutil.copytree(good, flipped)
    data = bytearray((flipped / STORED_DB).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (flipped / STORED_DB).write_bytes(bytes(data))
    with pytest.raises(BackupError, match="does not match its checksum"):
        restore(flipped, target)

    escaping = tmp_path / "escaping"
    shutil.copytree(good, escaping)
    manifest = json.loads((escaping / MANIFEST).read_text())
    manifest["files"]["../../etc/passwd"] = {"bytes": 1, "sha256": "0"}
    (escaping / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="outside the backup"):
        restore(escaping, target)

    assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    with pytest.raises(es.NotASpaceError):  # a backup is not a space: nobody changes it
        es.Space(good, create=False, progress=False)
    assert restore(good, target).items == 60


def test_a_postgres_space_is_backed_up_through_the_folder_format(postgres_uri, tmp_path):
    """``backup`` refuses a remote space with the recipe; the recipe works: migrate to a
    folder (no re-embedding), back that up, restore it, check it."""
    from helpers.tickets import TICKETS

    uri = f"{postgres_uri}&collection=backup_tickets"
    with es.Space(uri, progress=False) as space:
        space.add(list(TICKETS.values()), ids=list(TICKETS))
        with pytest.raises(NotSupportedError, match="migrate"):
            space.backup(tmp_path / "direct")
    refused = runner.invoke(cli, ["backup", uri, str(tmp_path / "direct")])
    assert refused.exit_code == 1 and "migrate" in refused.output
    snapshot = tmp_path / "snapshot.space"
    assert runner.invoke(cli, ["migrate", uri, str(snapshot)]).exit_code == 0
    assert runner.invoke(cli, ["backup", str(snapshot), str(tmp_path / "bk")]).exit_code == 0
    restored = tmp_path / "restored.space"
    assert runner.invoke(cli, ["restore", str(tmp_path / "bk"), str(restored)]).exit_code == 0
    with (
        es.Space(restored, create=False, progress=False) as space,
        es.Space(uri, create=False, progress=False) as source,
    ):
        assert sorted(space.ids()) == sorted(source.ids())
        assert (
            space.search("my parcel is late", k=1)[0].id
            == source.search("my parcel is late", k=1)[0].id
        )


def test_named_vectors_survive_backup_and_restore(tmp_path):
    """A re-embedded space with its old vectors kept: the backup holds both sets, and
    the restored copy passes check and searches under each."""
    source = tmp_path / "named.space"
    with es.Space(source, model="glove", progress=False) as space:
        space.add(["a cat asleep on the sofa", "the central bank raised rates"], ids=["c", "b"])
        space.reembed("default", keep_old=True)
        vectors = space.info()["vectors"]
    assert [v["dim"] for v in vectors] == [384, 50]
    backup(source, tmp_path / "bk")
    restore(tmp_path / "bk", tmp_path / "restored.space")
    assert check_path(tmp_path / "restored.space").ok
    with es.Space(tmp_path / "restored.space", create=False, progress=False) as space:
        assert space.info()["vectors"] == vectors
        for using in (None, "glove-6b-50d"):
            assert space.search("kitten", k=1, using=using)[0].id == "c"
