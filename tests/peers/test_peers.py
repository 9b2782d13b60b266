"""The peers benchmark's harness (benchmarks/peers), correctness only: the WordNet parser,
the workload split, and every adapter returning the right document for an exact-match
query. embedspace's adapter runs in-process (always); each other tool runs in its own venv
through the real worker and is skipped, saying why, when that venv is absent."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.peers import corpus, runner
from benchmarks.peers.embedspace_peer import make_peer
from benchmarks.peers.protocol import ModelFiles, folder_bytes, peak_rss, reset_peak_rss

NOUN_LINE = (
    "02084071 05 n 03 dog 0 domestic_dog 0 Canis_familiaris 0 002 @ 02083346 n 0000 "
    '~ 01322604 n 0000 | a member of the genus Canis; "the dog barked all night"  \n'
)
ADJ_LINE = "00001740 00 a 01 able(a) 0 001 ! 00002098 a 0101 | (usually followed by `to') having the necessary means  \n"  # fmt: skip


def tiny_corpus(n: int = 24) -> tuple[list[str], list[str], list[dict[str, int]]]:
    """Distinct made-up sentences (no data file needed), ids and a 4-valued bucket."""
    animals = ("otter", "heron", "badger", "lynx", "walrus", "gecko")
    foods = ("plums", "barley", "sardines", "walnuts")
    pairs = list(itertools.product(animals, foods))[:n]
    texts = [f"the {a} quietly ate {f} beside the old mill number {i}"
             for i, (a, f) in enumerate(pairs)]  # fmt: skip
    return texts, [f"doc-{i}" for i in range(n)], [{"bucket": i % 4} for i in range(n)]


def test_parse_data_line_reads_words_and_gloss() -> None:
    synset = corpus.parse_data_line(NOUN_LINE, "noun")
    assert synset is not None
    assert synset.id == "n02084071"
    assert synset.words == "dog, domestic dog, Canis familiaris"
    assert synset.text.startswith("dog, domestic dog, Canis familiaris: a member of the genus")
    adjective = corpus.parse_data_line(ADJ_LINE, "adj")
    assert adjective is not None and adjective.words == "able" and adjective.id == "a00001740"
    assert (
        corpus.parse_data_line("  1 This software and database is being provided", "noun") is None
    )


def test_missing_wordnet_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="make wordnet"):
        corpus.load_synsets(tmp_path)


def test_workload_holds_queries_out_and_filter_keeps_one_percent() -> None:
    synsets = [corpus.Synset(f"n{i:08d}", f"word{i}", f"gloss {i}") for i in range(1_300)]
    data = corpus.workload(synsets, 1_000, 200)
    assert len(data.texts) == len(set(data.ids)) == 1_000
    assert len(set(data.queries)) == 200
    assert set(data.queries).isdisjoint(t.split(":")[0] for t in data.texts)
    assert sum(m["bucket"] == 7 for m in data.metadata) == 10
    with pytest.raises(ValueError, match="pre-computed vectors"):
        corpus.workload(synsets, 1_200, 200)


def test_memory_and_disk_probes(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x" * 1000)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_bytes(b"y" * 24)
    assert folder_bytes(tmp_path) == 1024
    assert peak_rss() > 10_000_000
    if reset_peak_rss():
        assert peak_rss() > 0


def test_embedspace_adapter_end_to_end(tmp_path: Path) -> None:
    texts, ids, metadata = tiny_corpus()
    model = ModelFiles(tmp_path / "unused", tmp_path / "unused")
    peer = make_peer()
    peer.open(tmp_path / "space", model)
    peer.ingest(texts, ids, metadata)
    assert peer.search(texts[5], 3)[0] == "doc-5"
    assert peer.search_hybrid(texts[9], 3)[0] == "doc-9"
    filtered = peer.search_filtered(texts[5], 5, "bucket", 2)
    assert filtered and all(int(i.split("-")[1]) % 4 == 2 for i in filtered)
    peer.write("a narwhal sang sea shanties to the lighthouse keeper", "new", {"bucket": -1})
    assert peer.search("a narwhal sang sea shanties to the lighthouse keeper", 1) == ["new"]
    peer.close()
    peer.open(tmp_path / "space", model)  # reopened from disk
    assert peer.search(texts[11], 1) == ["doc-11"]
    peer.close()


@pytest.mark.slow
@pytest.mark.parametrize("peer", [p for p in runner.PEERS if p != "embedspace"])
def test_peer_finds_exact_match_in_its_own_venv(peer: str, tmp_path: Path) -> None:
    reason = runner.missing(peer)
    if reason:
        pytest.skip(reason)
    if (
        not (runner.ST_EXPORT / "onnx" / "model.onnx").is_file()
        and not runner.PEER_PYTHON.is_file()
    ):
        pytest.skip(f"no fp32 ONNX export and no {runner.PEER_PYTHON} to make it (`make bench`)")
    texts, ids, _ = tiny_corpus()
    asked = [3, 8, 17]
    (tmp_path / "data.json").write_text(
        json.dumps({"texts": texts, "ids": ids, "queries": [texts[i] for i in asked]})
    )
    job = {"kind": "quality", "data": str(tmp_path / "data.json"), "k": 3}
    result = runner.run_worker(peer, job, tmp_path)
    assert "error" not in result, result
    assert [ranked[0] for ranked in result["dense"]] == [ids[i] for i in asked]
    if isinstance(result["hybrid"], list):
        assert [ranked[0] for ranked in result["hybrid"]] == [ids[i] for i in asked]
    else:
        assert result["hybrid"]["na"]  # a stated reason, never an empty n/a


def vector_job(tmp_path: Path, n: int = 40, dim: int = 16) -> tuple[dict, np.ndarray]:
    """A vectors job over ``n`` seeded random unit vectors (no model): queries are copies
    of documents 0..n-1, so each one's nearest document is itself."""
    from benchmarks.peers import vectors

    rng = np.random.default_rng(7)
    docs = rng.standard_normal((n, dim)).astype(np.float32)
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    files = vectors.VectorFiles(tmp_path / "vectors")
    files.folder.mkdir()
    np.save(files.docs, docs)
    np.save(files.queries, docs)
    np.save(files.writes, docs[::-1].copy())
    files.data.write_text(json.dumps({
        "ids": [f"doc-{i}" for i in range(n)], "texts": [f"text number {i}" for i in range(n)],
        "write_texts": [f"written text {i}" for i in range(n)]}))  # fmt: skip
    job = {"kind": "vectors", "data": str(files.data), "doc_vectors": str(files.docs),
           "query_vectors": str(files.queries), "write_vectors": str(files.writes),
           "items": n, "dim": dim, "batch": 16, "buckets": 4, "k": 3, "runs": 2,
           "queries_per_run": 5, "warmup": 2, "filter_field": "bucket", "filter_value": 1,
           "folder": str(tmp_path / "collection")}  # fmt: skip
    return job, docs


def check_vector_result(result: dict) -> None:
    """Every timed query (documents 2..11) found itself first; filtered hits all match."""
    assert "error" not in result and "na" not in result, result
    assert [row[0] for row in result["ranked"]["dense"]] == [f"doc-{i}" for i in range(2, 12)]
    assert result["filtered"]["hits_matching"] == 1.0
    assert result["items"] == 40 and result["disk_bytes"] > 0
    assert result["dense_after_write"]["write_p50_ms"] > 0


def test_embedspace_vector_run_finds_each_vector(tmp_path: Path) -> None:
    from benchmarks.peers import worker

    job, _ = vector_job(tmp_path)
    peer = make_peer()
    check_vector_result(worker.measure(peer, worker.vector_run(peer, job), job))


def test_exact_top_k_and_recall(tmp_path: Path) -> None:
    from benchmarks.peers import vectors

    job, docs = vector_job(tmp_path)
    files = vectors.VectorFiles(tmp_path / "vectors")
    top = vectors.exact_top_k(files, 40, 3, chunk=7)
    assert top[:, 0].tolist() == list(range(40))
    brute = np.argsort(-(docs @ docs.T), axis=1)[:, :3]
    assert (top == brute).all()
    rows = np.arange(1, 40, 4)
    filtered = vectors.exact_top_k(files, 40, 3, rows=rows, chunk=5)
    assert set(filtered.ravel()) <= set(rows.tolist())
    assert vectors.recall_at_k([["a", "b"], ["c", "x"]], [["a", "b"], ["c", "d"]]) == 0.75


def test_large_corpus_mixes_sources_and_holds_queries_out(monkeypatch) -> None:
    synsets = [corpus.Synset(f"n{i:08d}", f"word{i}", f"gloss {i}") for i in range(300)]
    monkeypatch.setattr(
        corpus, "gcide_paragraphs", lambda: ["Dog \\Dog\\, n. A canine.", "gloss 1"]
    )
    monkeypatch.setattr(corpus, "word_list", lambda: ["dog", "dog", "cat's"])
    big = corpus.large_corpus(synsets, 50)
    assert len(big.texts) == len(set(big.texts)) == len(big.ids) == len(set(big.ids))
    assert len(big.texts) == 250 + 2 + 2  # "gloss 1" is no synset's text; "dog" once
    assert {i[0] for i in big.ids} == {"n", "g", "w"}
    assert set(big.queries).isdisjoint(t.split(":")[0] for t in big.texts)


def test_gcide_paragraphs_strip_tags_and_dedupe(tmp_path: Path) -> None:
    import gzip

    entry = "Dog \\Dog\\, n. [AS. docga.]\n   A {canine} animal.\n   [1913 Webster]\n\n   2. A mean, contemptible fellow.\n\n"
    body = b"00-database-short\n   header\n\n" + entry.encode()
    (tmp_path / "gcide.dict.dz").write_bytes(gzip.compress(body))
    start = body.index(b"Dog")

    def b64(number: int) -> str:
        return (
            corpus._B64[number // 64] + corpus._B64[number % 64]
            if number >= 64
            else corpus._B64[number]
        )

    line = f"Dog\t{b64(start)}\t{b64(len(entry))}"
    (tmp_path / "gcide.index").write_text(
        f"00-database-short\tA\tB\n{line}\n{line.replace('Dog', 'dog', 1)}\n"
    )
    assert corpus.gcide_paragraphs(tmp_path) == [
        "Dog \\Dog\\, n. A canine animal.",
        "2. A mean, contemptible fellow.",
    ]


@pytest.mark.slow
@pytest.mark.parametrize("peer", [p for p in runner.PEERS if p != "embedspace"])
def test_peer_vector_run_in_its_own_venv(peer: str, tmp_path: Path) -> None:
    reason = runner.missing(peer)
    if reason:
        pytest.skip(reason)
    job, _ = vector_job(tmp_path)
    check_vector_result(runner.run_worker(peer, job, tmp_path))


def test_a_failed_worker_reports_its_exception_not_its_warnings() -> None:
    stderr = (
        'Traceback (most recent call last):\n  File "w.py", line 3, in <module>\n'
        "RuntimeError: Storage folder is already accessed\n"
        "/x/qdrant_peer.py:46: UserWarning: Local mode is not recommended\n"
        "  self._client = QdrantClient(path=str(folder))\n"
    )
    assert runner.failure(stderr, 1) == "RuntimeError: Storage folder is already accessed"
    assert runner.failure("UserWarning only\n", -9) == "killed by signal 9"
    assert runner.failure("", 2) == "exit 2"


def test_report_names_each_rows_cpu_when_results_span_cpus() -> None:
    from benchmarks.peers import report

    def row(peer: str, cpu: str, when: str, docs_per_s: float) -> dict:
        return {"size": 100, "peer": peer, "fed": "vectors", "measured": f"2026-12-07 {when} UTC",
                "host_cpu": cpu, "load_1min": 1.0, "label": peer, "docs_per_s": docs_per_s}  # fmt: skip

    zen4, zen5 = "EPYC; x86_64 [avx2 avx512f] -> r7", "EPYC; x86_64 [avx2 avx512f avx_vnni] -> r7"
    rows = [row("embedspace", zen5, "23:00", 10.0), row("lancedb", zen4, "17:00", 20.0),
            row("txtai", zen5, "23:10", 5.0)]  # fmt: skip
    assert report.cpu_kinds(rows) == {zen4: "A", zen5: "B"}  # lettered by first measured
    text = report.markdown(rows, [])
    assert f"**A** = {zen4}" in text and f"**B** = {zen5}" in text
    assert "| 0.50 (CPU B vs A) | **no** |" in text  # the best peer ran on the other CPU
    same = report.markdown([rows[0], rows[2]], [])
    assert "Machine: " in same and "CPU B" not in same and "(CPU" not in same


def test_ratios_compare_latency_at_equal_recall_and_name_what_they_leave_out() -> None:
    from benchmarks.peers import report

    def row(peer: str, p50: float, recall: float) -> dict:
        return {"size": 10, "peer": peer, "fed": "vectors", "host_cpu": "x", "docs_per_s": 1.0,
                "filtered": {"p50_ms": p50, "recall_at_k": recall}}  # fmt: skip

    rows = [row("embedspace", 4.0, 1.0), row("txtai", 2.0, 0.1), row("lancedb", 8.0, 0.99)]
    line = next(r for r in report.ratio_rows("vectors", 10, rows, {"x": "A"})
                if "filtered (1%) p50" in r)  # fmt: skip
    assert "| 8.00 (lancedb; left out, lower recall: txtai 2.00 at recall 0.100) | 0.50 |" in line
    assert line.endswith("| yes |")
