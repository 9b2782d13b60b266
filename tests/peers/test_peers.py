"""The peers benchmark's harness (benchmarks/peers), correctness only: the WordNet parser,
the workload split, and every adapter returning the right document for an exact-match
query. embedspace's adapter runs in-process (always); each other tool runs in its own venv
through the real worker and is skipped, saying why, when that venv is absent."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

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
