"""Files into a space: formats, sync, and bad input with clear errors that lose nothing."""

from __future__ import annotations

import json
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import embedspace as es
from embedspace.errors import InvalidInputError
from embedspace.ingest.chunking import chunk_spans
from embedspace.ingest.loaders import load_file


def test_chunk_spans_cover_text_with_overlap():
    spans = [(i * 2, i * 2 + 1) for i in range(10)]  # 10 one-char tokens, spaced
    chunks = chunk_spans(spans, 20, window=4, overlap=1)
    assert chunks[0] == (0, 7) and chunks[-1][1] == 19
    assert all(
        b[0] < a[1] for a, b in zip(chunks, chunks[1:], strict=False)
    )  # consecutive chunks overlap
    assert chunk_spans(spans[:3], 6, window=4, overlap=1) == [(0, 6)]


class _NoTokenizer:
    """A bring-your-own encoder (the Encoder protocol) with no tokenizer."""

    model_id, dim, modalities = "no-tokenizer", 4, ("text",)

    def encode(self, items, role="document", *, progress=False):
        return np.full((len(items), 4), 0.5, dtype=np.float32)


def test_chunk_tokens_without_a_tokenizer_is_a_clear_error(tmp_path):
    """Chunking needs token spans: an encoder without them used to fail deep in ingest
    with AttributeError ('no attribute token_spans'); short texts need no chunking."""
    with es.Space(tmp_path / "s", model=_NoTokenizer(), chunk_tokens=8, progress=False) as space:
        space.add(["short"])
        with pytest.raises(InvalidInputError, match="chunk_tokens=8 needs a model with a tok"):
            space.add(["a text much longer than eight characters"])
        assert len(space) == 1


def _write_corpus(folder):
    folder.mkdir()
    (folder / "refunds.txt").write_text("Refunds are paid within 30 days of a return.")
    (folder / "notes.md").write_text("# Shipping\nParcels ship from Rotterdam every weekday.")
    (folder / "faq.csv").write_text(
        'question,answer,topic\n"Can I cancel?","Yes, before it ships.",orders\n'
        '"Do gift cards expire?","No, never.",cards\n'
    )
    (folder / "more.jsonl").write_text(
        json.dumps({"id": "a1", "body": "Warranty lasts two years"}) + "\n"
    )
    pq.write_table(
        pa.table({"text": ["Stores open at nine"], "city": ["Delft"]}), folder / "shops.parquet"
    )


def test_add_folder_of_mixed_formats(space, tmp_path):
    folder = tmp_path / "docs"
    _write_corpus(folder)
    report = space.add_files([folder], text_field=None)
    assert report.skipped  # the CSV has no 'text'-like column -> reported, not silently dropped
    assert any("faq.csv" in s and "--text-field" in s for s in report.skipped)
    ids = {h.id for h in space.search("anything", k=100)}
    assert {"refunds.txt", "notes.md", "more.jsonl#1", "shops.parquet#1"} <= ids
    assert space.get("shops.parquet#1").metadata == {"city": "Delft"}


def test_table_fields_and_ids(space, tmp_path):
    path = tmp_path / "faq.csv"
    path.write_text('qid,answer,topic\n7,"Yes, before it ships.",orders\n9,"No, never.",cards\n')
    report = space.add_files([path], text_field="answer", id_field="qid")
    assert report.added == 2
    assert space.get("faq.csv#7").metadata == {"topic": "orders"}
    with pytest.raises(es.UnsupportedFileError, match="no column 'text'.*columns are"):
        space.add_files([path], text_field="text")
    with pytest.raises(es.UnsupportedFileError, match="--id-field"):
        space.add_files([path], text_field="answer", id_field="nope")


def test_bad_files_have_clear_errors(tmp_path):
    latin = tmp_path / "latin.txt"
    latin.write_bytes("café crème".encode("latin-1"))
    with pytest.raises(es.UnsupportedFileError, match="not UTF-8.*iconv"):
        load_file(latin)
    binary = tmp_path / "image.txt"
    binary.write_bytes(b"\x89PNG\x00\x00\x00binary")
    with pytest.raises(es.UnsupportedFileError, match="binary"):
        load_file(binary)
    huge = tmp_path / "huge.txt"
    huge.write_text("x" * 5000)
    with pytest.raises(es.UnsupportedFileError, match="limit"):
        load_file(huge, max_bytes=1000)
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text('{"text": "ok"}\n{not json}\n')
    with pytest.raises(es.UnsupportedFileError, match="line 2"):
        load_file(bad_json)
    bad_parquet = tmp_path / "bad.parquet"
    bad_parquet.write_bytes(b"PAR1 truncated")
    with pytest.raises(es.UnsupportedFileError, match="Parquet"):
        load_file(bad_parquet)
    with pytest.raises(es.UnsupportedFileError, match="unsupported file type"):
        load_file(tmp_path / "x.xyz")


def test_parquet_without_pyarrow_is_skipped_in_a_folder_and_named_when_asked(
    space, tmp_path, monkeypatch
):
    """pyarrow is the `docs` extra: a core install reads every other format."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.txt").write_text("A perfectly fine document")
    pq.write_table(pa.table({"text": ["Stores open at nine"]}), folder / "shops.parquet")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if not installed
    report = space.add_files([folder])
    assert report.added == 1 and "embedspace[docs]" in report.skipped[0]
    with pytest.raises(es.MissingDependencyError, match=r"pip install 'embedspace\[docs\]'"):
        load_file(folder / "shops.parquet")


def test_bad_file_in_folder_is_skipped_and_reported(space, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.txt").write_text("A perfectly fine document")
    (folder / "bad.txt").write_bytes(b"\xff\xfe\x00\x00garbage")
    (folder / "empty.txt").write_text("   ")
    report = space.add_files([folder])
    assert report.added == 1
    assert len(report.skipped) == 2
    with pytest.raises(es.UnsupportedFileError):
        space.add_files([folder / "bad.txt"])  # named directly: an error


def test_sync_reembeds_only_what_changed(space, tmp_path):
    folder = tmp_path / "kb"
    folder.mkdir()
    for i in range(5):
        (folder / f"doc{i}.txt").write_text(f"Document number {i} about topic {i}")
    first = space.sync(folder)
    assert (first.added, first.updated, first.deleted, first.unchanged) == (5, 0, 0, 0)
    (folder / "doc0.txt").write_text("Document zero now talks about volcanoes")
    (folder / "doc1.txt").unlink()
    (folder / "doc5.txt").write_text("A brand new document about glaciers")
    second = space.sync(folder)
    assert (second.added, second.updated, second.deleted, second.unchanged) == (1, 1, 1, 3)
    assert len(space) == 5
    assert space.search("volcano", k=1)[0].id == "doc0.txt"
    (folder / "doc2.txt").write_bytes(b"\xff\xfe not utf-8 any more")
    third = space.sync(folder)
    assert third.deleted == 0 and third.skipped  # an unreadable file keeps its items
    assert space.get("doc2.txt")
