"""Ranking metrics and the retrieval harness on a small generated BEIR folder."""

from __future__ import annotations

import json
import math

import pytest

from embedspace.eval.metrics import ndcg_at_k, recall_at_k
from embedspace.eval.report import update_section
from embedspace.eval.retrieval import evaluate_retrieval


def test_ndcg_and_recall_by_hand():
    relevant = {"a": 1, "b": 1}
    assert ndcg_at_k(["a", "b", "c"], relevant) == pytest.approx(1.0)
    expected = (1 / math.log2(3)) / (1 + 1 / math.log2(3))  # "a" found at rank 2 only
    assert ndcg_at_k(["c", "a"], relevant) == pytest.approx(expected)
    assert recall_at_k(["c", "a"], relevant, 100) == 0.5
    assert ndcg_at_k(["x"], {}) == 0.0


def test_report_sections_are_replaced_in_place(tmp_path):
    report = tmp_path / "bench.md"
    update_section(report, "one", "first")
    update_section(report, "two", "second")
    update_section(report, "one", "updated")
    text = report.read_text()
    assert (
        "updated" in text and "first" not in text and text.index("updated") < text.index("second")
    )


def test_evaluate_retrieval_on_beir_folder(tmp_path):
    folder = tmp_path / "tiny"
    (folder / "qrels").mkdir(parents=True)
    docs = {
        "d1": "Volcanoes erupt molten lava from the mantle.",
        "d2": "Penguins live in the southern hemisphere and cannot fly.",
        "d3": "Interest rates rose as the central bank fought inflation.",
    }
    queries = {"q1": "why do volcanoes erupt lava", "q2": "flightless birds of Antarctica"}
    (folder / "corpus.jsonl").write_text(
        "\n".join(json.dumps({"_id": k, "title": "", "text": v}) for k, v in docs.items())
    )
    (folder / "queries.jsonl").write_text(
        "\n".join(json.dumps({"_id": k, "text": v}) for k, v in queries.items())
    )
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n")
    results = evaluate_retrieval(folder, cache_dir=tmp_path / "cache", progress=False)
    by_config = {row["config"]: row for row in results["rows"]}
    assert by_config["dense"]["ndcg@10"] == pytest.approx(1.0)
    assert by_config["hybrid convex a=0.5"]["ndcg@10"] == pytest.approx(1.0)
    assert results["documents"] == 3 and results["queries"] == 2


def test_scaling_vectors_keep_the_real_rows_and_grow_with_unit_midpoints():
    import numpy as np

    from benchmarks.speed import scaling_curve, scaling_vectors

    rng = np.random.default_rng(0)
    words = rng.standard_normal((500, 16)).astype(np.float32)
    grown = scaling_vectors(words, 1_200)
    unit = words / np.linalg.norm(words, axis=1, keepdims=True)
    assert grown.shape == (1_200, 16) and grown.dtype == np.float32
    np.testing.assert_allclose(grown[:500], unit, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(grown, axis=1), 1.0, atol=1e-5)
    # a midpoint lies closer to some real row than random directions do
    nearest = (grown[500:] @ unit.T).max(axis=1)
    assert nearest.mean() > 0.6
    rows = scaling_curve(grown, unit[:20], (1_200,))
    recall = {r["index"]: r["recall@10"] for r in rows}
    assert recall["exact"] == 1.0 and recall["hnsw"] >= 0.9


def test_qps_at_recall_interpolates_between_sweep_points():
    from benchmarks.ann import qps_at_recall

    sweep = [{"recall@10": 0.90, "qps_single": 8000}, {"recall@10": 1.0, "qps_single": 2000}]
    # halfway in recall -> geometric mean in QPS (log-linear)
    assert qps_at_recall(sweep, 0.95) == pytest.approx(4000)
    assert qps_at_recall(sweep[:1], 0.95) is None
    assert qps_at_recall([{"recall@10": 0.97, "qps_single": 3000}], 0.95) == 3000


def test_duplicate_benchmark_without_data_says_where_to_find_it(monkeypatch):
    """Without --record it used to load the model and then fail on None / MRPC's path
    (TypeError) when no datasets folder was found."""
    from benchmarks import duplicates

    monkeypatch.setattr(duplicates, "data_root", lambda: None)
    with pytest.raises(FileNotFoundError, match="MRPC not found"):
        duplicates.main([])
