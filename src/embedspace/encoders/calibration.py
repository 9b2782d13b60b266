"""Per-model calibrated thresholds, recorded with the package.

Why: a cosine means different things under different models. all-MiniLM-L6-v2 scores
real paraphrases around 0.6-0.75, so a fixed "near-duplicate" cut such as 0.9 finds
nothing with it, while another model may put unrelated texts at 0.8. The duplicate
threshold of each packaged model is therefore measured (a steady near-best-F1 cosine on
MRPC *train*, ``python -m benchmarks.duplicates --record``) and stored in
``calibration.json`` beside this file, keyed by model id (name + weights fingerprint:
retrained or truncated weights are a different model). Unknown models get ``FALLBACK_DUPLICATE_THRESHOLD``
and a warning that says how to calibrate.
"""

from __future__ import annotations

import json
import os
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import EmbedspaceWarning

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
#: For models nobody calibrated: conservative (few false pairs), may miss paraphrases.
FALLBACK_DUPLICATE_THRESHOLD = 0.9


@lru_cache(maxsize=1)
def _records() -> dict[str, dict[str, Any]]:
    if not CALIBRATION_FILE.is_file():
        return {}
    return json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))


def calibration(model_id: str) -> dict[str, Any] | None:
    """Everything recorded for ``model_id`` (threshold, where it was measured), or None."""
    return _records().get(model_id)


def duplicate_threshold(model_id: str) -> float:
    """The calibrated near-duplicate cosine of ``model_id``; warns and falls back if none."""
    record = calibration(model_id)
    if record and "duplicate_threshold" in record:
        return float(record["duplicate_threshold"])
    warnings.warn(
        f"no calibrated duplicate threshold for model {model_id or '(your own vectors)'!r}; "
        f"using {FALLBACK_DUPLICATE_THRESHOLD}. Pass threshold= yourself, or calibrate the "
        "model on labelled pairs (benchmarks.duplicates.calibrate)",
        EmbedspaceWarning,
        stacklevel=3,
    )
    return FALLBACK_DUPLICATE_THRESHOLD


def record_calibration(model_id: str, values: dict[str, Any]) -> None:
    """Merge ``values`` into the record of ``model_id`` (atomic rewrite of the file)."""
    records = dict(_records())
    records[model_id] = {**records.get(model_id, {}), **values}
    tmp = CALIBRATION_FILE.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(records, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, CALIBRATION_FILE)
    _records.cache_clear()
