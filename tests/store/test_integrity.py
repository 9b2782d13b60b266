"""`check` finds what is wrong, `--repair` fixes what is derived, and index files are never
torn: killed mid-save, they load whole or are refused and rebuilt."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from helpers.figures import record

import embedspace as es
from embedspace.atomic import abandoned_temp_files, atomic_path, temp_path_for
from embedspace.index.factory import load_index
from embedspace.index.faiss_base import TornIndexFileError
from embedspace.integrity import check_path


@pytest.fixture
def vec_space(tmp_path):
    path = tmp_path / "v.space"
    with es.Space(path, model=None, dim=8, index="hnsw", progress=False) as space:
        rng = np.random.default_rng(0)
        space.add_vectors(rng.standard_normal((300, 8)), ids=[f"i{i}" for i in range(300)])
        space.refresh()  # builds the HNSW graph; close() saves it
    assert (path / "index-hnsw.faiss").exists()
    return path


def test_check_finds_each_kind_of_damage(vec_space):
    assert check_path(vec_space).ok
    db = sqlite3.connect(vec_space / "space.sqlite")
    db.execute("PRAGMA foreign_keys=OFF")
    db.execute("DELETE FROM items WHERE id = 'i1'")  # its chunk becomes an orphan
    db.execute("DELETE FROM chunks WHERE item_rowid = (SELECT rowid FROM items WHERE id='i2')")
    db.execute("UPDATE items SET text = 'edited behind our back' WHERE id = 'i3'")
    nan = np.full(8, np.nan, dtype=np.float32).tobytes()
    db.execute(
        "UPDATE chunks SET vector = ? WHERE item_rowid = (SELECT rowid FROM items WHERE id='i4')",
        (nan,),
    )
    db.execute(
        "UPDATE chunks SET end = 99 WHERE item_rowid = (SELECT rowid FROM items WHERE id='i5')"
    )
    db.commit()
    db.close()
    errors = "\n".join(check_path(vec_space).errors)
    for expected in (
        "orphans",
        "items without any vector",
        "stale vectors",
        "NaN",
        "span lies outside",
        "foreign key",
    ):
        assert expected in errors, (expected, errors)
    repaired = check_path(vec_space, repair=True)
    assert any("orphan" in line for line in repaired.repaired)
    assert not any("orphans" in e for e in repaired.errors)  # fixed; the rest need re-adding


def test_stale_and_torn_index_files(vec_space):
    index_file = vec_space / "index-hnsw.faiss"
    with es.Space(vec_space, model=None, index="hnsw", progress=False) as space:
        space.add_vectors(np.ones((1, 8)), ids=["late"])
        space._view.save_index(force=False)  # below the save threshold: file stays stale
        report = space.check()
        assert report.ok and any("behind the store" in n for n in report.notes)
    # A newer index file next to an older sidecar (a crash between the two renames):
    data = bytearray(index_file.read_bytes())
    data[-1] ^= 0xFF
    index_file.write_bytes(bytes(data))
    with pytest.raises(TornIndexFileError, match="checksum"):
        load_index("hnsw", index_file)
    torn = check_path(vec_space)  # expected after a kill: a note, rebuilt on open
    assert torn.ok and any("torn" in n for n in torn.notes), torn
    with es.Space(vec_space, model=None, index="hnsw", progress=False) as space:
        assert space.search_vector(np.ones(8), k=1)[0].id == "late"  # rebuilt, not trusted
    assert check_path(vec_space).ok  # saved whole on close


def test_atomic_path_leaves_old_file_or_new_never_half(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("crash mid-write")
    assert target.read_bytes() == b"old"
    assert not list(tmp_path.glob(".*.tmp"))
    # A temp file of a dead writer is abandoned; one of a live writer is not.
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    abandoned = target.with_name(f".f.bin.{int(dead.stdout)}.0123abcd.tmp")
    abandoned.write_bytes(b"x")
    live = temp_path_for(target)
    live.write_bytes(b"y")
    assert abandoned_temp_files(tmp_path) == [abandoned]


SAVER = textwrap.dedent(
    """
    import sys
    import numpy as np
    import embedspace as es
    space = es.Space(sys.argv[1], model=None, dim=16, index="hnsw", progress=False)
    rng = np.random.default_rng(int(sys.argv[2]))
    for round_ in range(1000):
        ids = [f"{sys.argv[2]}-{round_}-{j}" for j in range(1000)]
        space.add_vectors(rng.standard_normal((1000, 16)), ids=ids)
        space.refresh()
        space._view.save_index(force=True)  # an index save every round: kills land in them
    """
)


KILLS = 6


def test_sigkill_during_index_saves_never_leaves_a_torn_index(tmp_path):
    """6 kills of a process that saves its HNSW index file after every batch: after each
    the file loads whole, or a pair torn between its two renames is refused by its
    checksum (a note, rebuilt on open), and `check` passes."""
    path = tmp_path / "saves.space"
    es.Space(path, model=None, dim=16, index="hnsw", progress=False).close()
    rng = random.Random(3)
    loaded = torn = 0
    for round_ in range(KILLS):
        proc = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(path), str(round_)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            proc.wait(timeout=rng.uniform(1.5, 3.0))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        report = check_path(path)
        assert report.ok, report.errors
        if (path / "index-hnsw.faiss").exists():
            try:
                load_index("hnsw", path / "index-hnsw.faiss")
                loaded += 1
            except TornIndexFileError:  # killed between the file and sidecar renames
                assert any("torn" in n for n in report.notes), report.notes
                torn += 1
        with es.Space(path, model=None, index="hnsw", progress=False) as space:
            assert space.check().ok
            n = len(space)
    assert loaded > 0 and n > 0
    record("index-save-kills", kills=KILLS, index_file_loaded=loaded, torn=torn, items=n)
