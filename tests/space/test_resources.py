"""Resource limits: ingest memory is bounded by the batch, not the corpus, and vectors can
live in a memory-mapped file instead of RAM.

Measured in fresh subprocesses from /proc (VmRSS; RssAnon = memory that must fit in RAM,
as opposed to file pages the kernel can drop). The fast path is ``add_vectors`` in
batches into a bring-your-own-vectors space: the model is not what is measured here
(docs/reliability.md says so).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from helpers.figures import record

DIM = 384
BATCH = 1000

INGEST = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import embedspace as es

    def rss(field):
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024

    path, n, batch, dim = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    space = es.Space(path, model=None, dim=dim, progress=False)
    rng = np.random.default_rng(0)
    samples = []
    for start in range(0, n, batch):  # a stream: only one batch exists at a time
        vectors = rng.standard_normal((batch, dim), dtype=np.float32)
        ids = [f"doc-{i}" for i in range(start, start + batch)]
        texts = [f"document {i} about topic {i % 97}" for i in range(start, start + batch)]
        space.add_vectors(vectors, ids=ids, texts=texts)
        samples.append(rss("VmRSS"))
    space.close()
    print(json.dumps({"samples": samples}))
    """
)

SEARCH = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import embedspace as es

    def rss(field):
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024

    path, storage = sys.argv[1], sys.argv[2]
    before = rss("RssAnon")
    space = es.Space(path, model=None, index="exact", vector_storage=storage, progress=False)
    queries = np.random.default_rng(1).standard_normal((10, space.dim), dtype=np.float32)
    top = [[h.id for h in space.search_vector(q, k=5)] for q in queries]
    print(json.dumps({"anon_growth": rss("RssAnon") - before, "file": rss("RssFile"),
                      "top": top, "items": len(space)}))
    """
)


def _python(script: str, *args) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _ingest_and_search(tmp_path, n: int, name: str) -> None:
    path = tmp_path / "big.space"
    samples = _python(INGEST, path, n, BATCH, DIM)["samples"]
    corpus_mb = n * DIM * 4 / 2**20
    warm = samples[len(samples) // 10]
    growth_mb = (samples[-1] - warm) / 2**20
    ram = _python(SEARCH, path, "ram")
    mapped = _python(SEARCH, path, "mmap")
    figures = {
        "vectors": n,
        "batch": BATCH,
        "vector_mb": round(corpus_mb, 1),
        "ingest_rss_mb_at_10pct": round(warm / 2**20, 1),
        "ingest_rss_mb_at_end": round(samples[-1] / 2**20, 1),
        "ingest_rss_growth_mb": round(growth_mb, 1),
        "search_anon_mb_ram": round(ram["anon_growth"] / 2**20, 1),
        "search_anon_mb_mmap": round(mapped["anon_growth"] / 2**20, 1),
    }
    record(name, **figures)
    # Flat: the last 90% of the corpus added less than a tenth of its size in memory.
    assert growth_mb < max(16.0, 0.1 * corpus_mb), figures
    # The same answers either way; only where the matrix lives differs.
    assert ram["items"] == mapped["items"] == n
    assert ram["top"] == mapped["top"]
    assert ram["anon_growth"] > 0.8 * n * DIM * 4, figures  # the matrix is in RAM...
    assert mapped["anon_growth"] < 0.5 * n * DIM * 4, figures  # ...or not


def test_ingest_100k_is_flat_and_mmap_vectors_stay_out_of_ram(tmp_path):
    """About 20 s: 100k vectors (147 MB) in batches of 1,000."""
    _ingest_and_search(tmp_path, 100_000, "resources-100k")
