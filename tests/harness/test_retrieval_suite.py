"""The retrieval suite builds its tasks correctly and runs end to end on packaged data."""

from __future__ import annotations

from benchmarks.retrieval_suite import first_stage_markdown, run_suite
from benchmarks.shop_faq import SHOP_ANSWERS, SHOP_QUESTIONS
from benchmarks.suite_tasks import _pairs_task, _topic_task, suite_tasks


def test_shop_faq_questions_all_have_an_answer_and_every_answer_is_asked():
    asked = {answer for _, answer in SHOP_QUESTIONS}
    assert asked == set(SHOP_ANSWERS)


def test_pair_tasks_never_ask_a_sentence_that_is_itself_a_document():
    pairs = [("a cat sat", "a cat was sitting"), ("a dog ran", "a dog was running")]
    pairs += [("a cat was sitting", "a cat was sitting")]  # a distractor only
    pairs += [("a dog was running", "a man cooks")]  # its text is a document: no query
    data = _pairs_task("t", "similar", pairs, seed=0)
    assert sorted(data.queries.values()) == ["a cat sat", "a dog ran"]
    for qid, text in data.queries.items():
        (relevant,) = data.qrels[qid]
        assert data.corpus[relevant] == dict(pairs)[text]


def test_topic_tasks_keep_the_query_item_out_of_the_corpus():
    items = [(label, f"title {label} {n}", f"body {label} {n}") for label in "ab" for n in range(6)]
    data = _topic_task("t", items, docs_per_class=4, queries_per_class=2)
    assert len(data.corpus) == 8 and len(data.queries) == 4
    for qid, title in data.queries.items():
        label = title.split()[1]
        assert f"body {title.split(' ', 1)[1]}" not in data.corpus.values()
        assert {data.corpus[d].split()[1] for d in data.qrels[qid]} == {label}


def test_without_data_only_packaged_tasks_run_and_the_rest_are_reported_skipped():
    tasks, skipped = suite_tasks(None)
    assert [t.data.name for t in tasks] == ["shop-faq"]
    assert "retrieval/scifact/scifact.zip" in skipped


def test_suite_runs_through_space_search_and_reports_the_margin(tmp_path):
    results = run_suite(None, rerank=False, cache_dir=tmp_path, progress=False)
    (task,) = results["tasks"]
    assert set(task["first"]) == {"dense", "sparse", "hybrid convex", "hybrid rrf"}
    for score in task["first"].values():
        assert 0.0 <= score["ndcg"] <= 1.0 and 0.0 <= score["top1"] <= 1.0
    table = first_stage_markdown(results)
    assert "| shop-faq |" in table and "margin" in table


def _rule(name: str, mean: float, failing: int) -> dict:
    return {"rule": name, "mean": mean, "scifact": 0.7, "worst": (-0.01, "t"), "failing": failing}


def test_fusion_verdict_keeps_the_default_unless_a_passing_rule_clearly_wins():
    from benchmarks.fusion_study import TIE, verdict

    default = _rule("convex (default)", 0.796, 0)
    assert "the default stays" in verdict([default, _rule("other", 0.796 + TIE / 2, 0)])
    assert "beats the default" in verdict([default, _rule("other", 0.796 + 3 * TIE, 0)])
    assert "beats" not in verdict([default, _rule("other", 0.9, 2)])  # fails a task
    assert "fails at least one task" in verdict([_rule("convex (default)", 0.8, 1)])
