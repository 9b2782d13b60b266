"""sentence-transformers' ONNX backend as a benchmark peer (run by the *peer* venv).

optimum-onnx, which ST's ONNX backend needs, pins transformers 4.x while embedspace's own
extras use 5.x, so `make bench` keeps it in `.venv-peer` and runs this script there. It
exports the packaged all-MiniLM-L6-v2 the way ST's documentation says (plain, O3
graph-optimised, dynamic int8 for AVX-512 VNNI) and serves timed runs, so the benchmark
can interleave them with every other configuration's (embedspace/eval/throughput.py):

    python st_onnx_peer.py MODEL_DIR TEXTS.json OUT.npy --variant qint8
encodes once as warm-up, saves the unit vectors to OUT.npy, prints {"ready": true}; then
answers each line "run" on stdin with {"seconds": ...} for one timed ``encode`` of the
texts, until stdin closes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
warnings.simplefilter("ignore")

import numpy as np  # noqa: E402
from sentence_transformers import (  # noqa: E402
    SentenceTransformer,
    export_dynamic_quantized_onnx_model,
    export_optimized_onnx_model,
)

FILES = {"fp32": "onnx/model.onnx", "O3": "onnx/model_O3.onnx",
         "qint8": "onnx/model_qint8_avx512_vnni.onnx"}  # fmt: skip


def exported(source: Path, cache: Path) -> Path:
    """A copy of the model folder with ST's three ONNX exports (made once)."""
    if all((cache / f).is_file() for f in FILES.values()):
        return cache
    shutil.rmtree(cache, ignore_errors=True)
    shutil.copytree(source, cache)
    model = SentenceTransformer(str(cache), backend="onnx", device="cpu")
    model.save_pretrained(str(cache))
    export_optimized_onnx_model(model, "O3", str(cache))
    export_dynamic_quantized_onnx_model(model, "avx512_vnni", str(cache))
    return cache


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("texts", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--variant", choices=sorted(FILES), default="fp32")
    parser.add_argument("--cache", type=Path, default=Path(".cache/bench/st-onnx-model"))
    args = parser.parse_args()
    folder = exported(args.model_dir, args.cache)
    model = SentenceTransformer(
        str(folder), backend="onnx", device="cpu", model_kwargs={"file_name": FILES[args.variant]}
    )
    texts = json.loads(args.texts.read_text())

    def run() -> np.ndarray:
        return model.encode(texts, batch_size=32, convert_to_numpy=True, normalize_embeddings=True)

    np.save(args.out, run().astype(np.float32))  # the warm-up, as for every configuration
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if line.strip() == "run":
            started = time.perf_counter()
            run()
            print(json.dumps({"seconds": time.perf_counter() - started}), flush=True)


if __name__ == "__main__":
    main()
