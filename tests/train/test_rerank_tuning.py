"""How the re-ranker's shipped settings are chosen, and the hard negatives it trains on."""

from __future__ import annotations

import json

import pytest

from benchmarks.rerank_study import DEPTHS, GATES, SETTINGS, WEIGHTS, _key, choose, record_choice
from embedspace.train.pairs import Pair, mined_negatives


def _dev(task_deltas: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Dev means per task: hybrid 0.5, every setting 0.5 + its delta (default 0)."""
    return {
        task: {"hybrid": 0.5} | {_key(*st): 0.5 + deltas.get(_key(*st), 0.0) for st in SETTINGS}
        for task, deltas in task_deltas.items()
    }


def test_choice_skips_settings_that_lower_any_task_even_with_a_better_mean():
    bold, careful = _key(20, 0.3), _key(20, 0.1)
    dev = _dev({"a": {bold: 0.2, careful: 0.01}, "b": {bold: -0.01, careful: 0.0}})
    choice = choose(dev)
    assert choice["chosen"] == careful
    assert choice["dev_mean"][bold] > choice["dev_mean"][careful]


def test_choice_ties_go_to_the_cheaper_and_more_cautious_setting():
    dev = _dev({"a": {}, "b": {}})  # every setting equals hybrid
    assert choose(dev)["chosen"] == _key(min(DEPTHS), min(WEIGHTS), max(GATES))


def test_no_safe_setting_is_reported_not_guessed():
    every = {_key(*st): -0.01 for st in SETTINGS}
    choice = choose(_dev({"a": every, "b": {}}))
    assert choice["chosen"] is None and choice["safe_settings"] == 0


def _study(dev: dict[str, dict[str, float]]) -> dict:
    choice = choose(dev)
    return {
        "reranker": "test-model", "choice": choice, "depth": 20, "weight": 0.1, "gate": 0.0,
        "held_out": {"a": {"hybrid": 0.5}},
    }  # fmt: skip


def test_record_writes_the_chosen_weight_and_how_it_was_chosen(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"max_length": 256, "rerank_weight": 1.0}))
    record_choice(tmp_path, _study(_dev({"a": {_key(20, 0.1): 0.02}, "b": {}})))
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["max_length"] == 256 and config["rerank_weight"] == 0.1
    assert config["rerank_gate"] == 0.0
    assert config["rerank_weight_tuning"]["chosen"] == _key(20, 0.1)
    assert config["rerank_weight_tuning"]["held_out"] == {"a": {"hybrid": 0.5}}


def test_record_refuses_when_no_setting_is_safe_and_leaves_the_config(tmp_path):
    before = json.dumps({"rerank_weight": 0.3})
    (tmp_path / "config.json").write_text(before)
    every = {_key(*st): -0.01 for st in SETTINGS}
    with pytest.raises(SystemExit, match="nothing recorded"):
        record_choice(tmp_path, _study(_dev({"a": every})))
    assert (tmp_path / "config.json").read_text() == before


def test_least_harm_is_the_smallest_worst_loss_and_is_recorded_as_unsafe(tmp_path):
    every = {_key(*st): -0.05 for st in SETTINGS}
    gentle, better_mean = _key(20, 0.05), _key(20, 0.3)
    dev = _dev({"a": every | {gentle: -0.002, better_mean: -0.01}, "b": {better_mean: 0.2}})
    choice = choose(dev)
    assert choice["chosen"] is None and choice["least_harm"] == gentle
    assert choice["least_harm_dev_worst"] == -0.002
    (tmp_path / "config.json").write_text(json.dumps({"rerank_weight": 1.0}))
    study = _study(dev) | {"depth": 20, "weight": 0.05}
    record_choice(tmp_path, study, least_harm=True)
    tuning = json.loads((tmp_path / "config.json").read_text())["rerank_weight_tuning"]
    assert tuning["safe"] is False and tuning["chosen"] == gentle


def test_a_gated_setting_is_chosen_when_only_the_gate_keeps_every_task(tmp_path):
    gated, open_ = _key(10, 0.2, 0.85), _key(10, 0.2)
    dev = _dev({"a": {gated: 0.01, open_: 0.03}, "b": {gated: 0.0, open_: -0.02}})
    assert choose(dev)["chosen"] == gated
    (tmp_path / "config.json").write_text(json.dumps({"rerank_weight": 1.0}))
    record_choice(tmp_path, _study(dev) | {"depth": 10, "weight": 0.2, "gate": 0.85})
    config = json.loads((tmp_path / "config.json").read_text())
    assert (config["rerank_weight"], config["rerank_gate"]) == (0.2, 0.85)


def test_mined_negatives_are_never_the_pair_or_a_known_partner(tmp_path):
    pairs = [
        Pair("A man plays a guitar.", "A man is playing the guitar.", 1.0, "stsb"),
        Pair("A man plays a guitar.", "Someone strums a guitar.", 0.9, "stsb"),
        Pair("A woman slices an onion.", "A woman is cutting an onion.", 0.95, "stsb"),
        Pair("A dog runs on the beach.", "A cat sleeps on a sofa.", 0.1, "stsb"),
        Pair(
            "Stocks fell sharply on Monday.",
            "Markets dropped at the start of the week.",
            0.8,
            "stsb",
        ),
        Pair("The guitar shop closed early.", "A shop sells guitars.", 0.3, "stsb"),
        Pair("Kids play football in the park.", "Children kick a ball outside.", 0.85, "stsb"),
    ]
    negatives = mined_negatives(pairs, per_positive=2, depth=6, seed=0, workdir=tmp_path / "s")
    partners = {p.a: {q.b for q in pairs if q.a == p.a} for p in pairs}
    assert negatives, "positives with enough other sentences must get negatives"
    for neg in negatives:
        assert neg.label == 0.0 and neg.source == "stsb-mined"
        assert neg.b != neg.a and neg.b not in partners[neg.a]
    # low-scored pairs are not positives: nothing is mined for them
    assert "A dog runs on the beach." not in {n.a for n in negatives}
    # the same seed over the same (cached) space gives the same negatives
    again = mined_negatives(pairs, per_positive=2, depth=6, seed=0, workdir=tmp_path / "s")
    assert again == negatives


def test_record_keeps_the_shipped_manifest_true_to_the_new_config(tmp_path):
    from embedspace.encoders.artifacts import verify_folder
    from embedspace.train.ship import write_reranker_manifest

    for name in ("model.onnx", "tokenizer.json"):
        (tmp_path / name).write_bytes(b"stand-in " + name.encode())
    (tmp_path / "config.json").write_text(json.dumps({"rerank_weight": 1.0}))
    write_reranker_manifest(tmp_path)
    record_choice(tmp_path, _study(_dev({"a": {_key(20, 0.1): 0.02}})))
    verify_folder(tmp_path)  # raises DamagedModelError if config.json no longer matches
