"""The re-ranker's confidence gate: its tuned mix applies only where it recognises an answer."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from embedspace.search.rerank import rerank_hits
from embedspace.search.results import Hit


class ScriptedCross:
    """A cross-encoder whose score for each text is given; tuned weight 0.5, gate 0.85."""

    name, model_id = "scripted", "scripted@0"
    recommended_weight, recommended_gate = 0.5, 0.85

    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores

    def score(self, query: str, docs: Sequence[str]) -> list[float]:
        return [self.scores[d] for d in docs]


HITS = [Hit("a", 0.9, "first"), Hit("b", 0.8, "second"), Hit("c", 0.7, "third")]


def test_an_unsure_cross_encoder_leaves_the_first_stage_order():
    unsure = ScriptedCross({"first": 0.1, "second": 0.3, "third": 0.6})  # best 0.6 < 0.85
    ranked = rerank_hits(unsure, "q", HITS, k=3)
    assert [h.id for h in ranked] == ["a", "b", "c"]
    # on the mixed scale: first-stage score over the list's best
    assert [h.score for h in ranked] == pytest.approx([1.0, 0.8 / 0.9, 0.7 / 0.9])


def test_a_confident_cross_encoder_reorders_with_its_tuned_weight():
    sure = ScriptedCross({"first": 0.1, "second": 0.2, "third": 0.95})
    ranked = rerank_hits(sure, "q", HITS, k=3)
    assert ranked[0].id == "c"  # 0.5 * 0.95 + 0.5 * 0.7 / 0.9 beats 0.5 * 0.1 + 0.5
    assert ranked[0].score == pytest.approx(0.5 * 0.95 + 0.5 * (0.7 / 0.9))


def test_an_explicit_weight_mixes_every_query():
    unsure = ScriptedCross({"first": 0.0, "second": 0.0, "third": 0.6})
    assert rerank_hits(unsure, "q", HITS, k=3, weight=1.0)[0].id == "c"
    # ... unless the caller also asks for a gate
    assert rerank_hits(unsure, "q", HITS, k=3, weight=1.0, gate=0.85)[0].id == "a"
