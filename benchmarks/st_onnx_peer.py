"""sentence-transformers' ONNX backend as a benchmark peer (run by the *peer* venv).

optimum-onnx, which ST's ONNX backend needs, pins transformers 4.x while embedspace's own
extras use 5.x, so `make bench` keeps it in `.venv-peer` and runs this script there. It
exports the packaged all-MiniLM-L6-v2 the way ST's documentation says (plain, O3
graph-optimised, dynamic int8 for AVX-512 VNNI), then times ``encode`` exactly as
embedspace's own encoders are timed (one warm-up, median of ``--repeats``).

    python st_onnx_peer.py MODEL_DIR TEXTS.json OUT.npy --variant qint8 --repeats 3
prints {"per_second": ...} and saves the unit vectors to OUT.npy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
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
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path(".cache/bench/st-onnx-model"))
    args = parser.parse_args()
    folder = exported(args.model_dir, args.cache)
    model = SentenceTransformer(
        str(folder), backend="onnx", device="cpu", model_kwargs={"file_name": FILES[args.variant]}
    )
    texts = json.loads(args.texts.read_text())

    def run() -> np.ndarray:
        return model.encode(texts, batch_size=32, convert_to_numpy=True, normalize_embeddings=True)

    vectors = run()  # warm-up, as for every configuration
    times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    np.save(args.out, vectors.astype(np.float32))
    print(json.dumps({"per_second": len(texts) / statistics.median(times)}))


if __name__ == "__main__":
    main()
