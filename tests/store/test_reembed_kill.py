"""Re-embedding online, for real: a subprocess re-embeds a space with another model and
is killed with SIGKILL mid-run; meanwhile the space keeps answering with the old model,
takes writes (embedded by both models) and refuses a second re-embed. A re-run resumes:
no item lost or duplicated, and no finished batch embedded again. On every backend."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys

import pytest

import embedspace as es
from embedspace.errors import SpaceLockedError
from embedspace.store.named import PENDING

N = 1500
#: The killed run commits two items per transaction: slow enough to be caught mid-way
#: on any machine; the parent (and the resuming run) writes 250 at a time.
CHILD_BATCH = 2
WORDS = (
    "river mountain garden violin engine castle rocket pepper winter island tiger lemon "
    "silver harbor candle desert forest thunder marble pillow wolf coffee bridge comet "
    "wheat saddle lantern glacier orchid anchor"
).split()


def _texts() -> list[str]:
    rng = random.Random(7)
    triples = set()
    while len(triples) < N:
        triples.add(tuple(sorted(rng.sample(WORDS, 3))))  # GloVe means ignore word order
    return [f"{a} {b} {c}" for a, b, c in sorted(triples)]


#: The re-embedding child: reports each batch it encodes on stdout (the encoder is
#: loaded once per process, so the space's re-embed uses this very object).
CHILD = """
import sys
import embedspace as es

encoder = es.load_encoder("default")
encode = encoder.encode

def reporting(texts, **options):
    vectors = encode(texts, **options)
    print("batch", flush=True)
    return vectors

encoder.encode = reporting
es.Space(sys.argv[1], create=False, progress=False, batch_size=int(sys.argv[2])).reembed("default")
"""


def _progress(space: es.Space) -> dict:
    return space.info()["reembed"] or {}


def _wait_for_batches(child: subprocess.Popen, batches: int) -> None:
    assert child.stdout is not None
    for _ in range(batches):
        line = child.stdout.readline()
        assert line == b"batch\n", f"the re-embedding process stopped: {line!r}"


def test_reembed_killed_mid_run_resumes_without_redoing_batches(location, backend):
    if backend == "milvus":
        pytest.skip(
            "Milvus Lite lets one process open its file and this test needs two; "
            "test_interrupted_reembed_resumes covers resuming on Milvus"
        )
    texts = _texts()
    ids = [f"i{n}" for n in range(N)]
    space = es.Space(location, model="glove", progress=False, batch_size=250)
    space.add(texts, ids=ids)
    es.load_encoder("default")  # loaded before the child starts: the checks below are quick
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, location, str(CHILD_BATCH)],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        stdout=subprocess.PIPE,
    )
    try:
        _wait_for_batches(child, 8)
        running = _progress(space)
        assert running["running"] and running["total"] == N and 0 < running["done"] < N
        # the old model still serves, and writes are embedded by both models
        assert space.dim == 50 and space.search(texts[3], k=1)[0].id == ids[3]
        space.add(["penguins waddle across the antarctic ice"], ids=["new"])
        assert space.search("penguins on ice", k=1)[0].id == "new"
        with pytest.raises(SpaceLockedError, match="already running"):
            space.reembed("default")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    interrupted = _progress(space)
    assert not interrupted["running"] and interrupted["model"] == "all-MiniLM-L6-v2"
    # the write made during the run was embedded with the new model too, by its writer
    assert "new" in space._store.named_ids(PENDING)
    done = interrupted["done"]
    assert 0 < done < N + 1
    assert space.dim == 50 and space.search(texts[5], k=1)[0].id == ids[5]  # old model serves

    report = space.reembed("default")
    assert (report.resumed, report.reembedded) == (done, N + 1 - done)  # no batch redone
    assert report.items == len(space) == N + 1
    assert space.info()["chunks"] == N + 1  # one chunk per item: nothing duplicated
    assert space.dim == 384 and space.info()["reembed"] is None
    for n in random.Random(3).sample(range(N), 25):
        assert space.search(texts[n], k=1)[0].id == ids[n]
    assert space.search("penguins on ice", k=1)[0].id == "new"
    space.close()
    with es.Space(location, create=False, progress=False) as again:  # every process follows
        assert again.dim == 384 and len(again) == N + 1


def test_interrupted_reembed_resumes(location, monkeypatch):
    """The same promise in one process (every backend, Milvus included): a run that dies
    after some batches leaves the old model serving; the next run embeds only the rest."""
    texts = _texts()[:200]
    space = es.Space(location, model="glove", progress=False, batch_size=25)
    space.add(texts, ids=[f"i{n}" for n in range(200)])
    encoder = es.load_encoder("default")
    encode, calls = encoder.encode, []

    def failing(batch, **options):
        calls.append(len(batch))
        if len(calls) == 4:
            raise OSError("the machine ran out of something")
        return encode(batch, **options)

    monkeypatch.setattr(encoder, "encode", failing)
    with pytest.raises(OSError):
        space.reembed("default")
    assert _progress(space)["done"] == 75 and not _progress(space)["running"]
    assert space.dim == 50 and space.search(texts[7], k=1)[0].id == "i7"
    monkeypatch.setattr(encoder, "encode", encode)
    report = space.reembed("default")
    assert (report.resumed, report.reembedded, report.items) == (75, 125, 200)
    assert space.dim == 384 and space.info()["chunks"] == 200
    assert space.search(texts[150], k=1)[0].id == "i150"
    space.close()
