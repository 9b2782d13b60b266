"""fastembed as a benchmark peer (run by its own venv, `.venv-fastembed`, made by `make bench`).

fastembed is the CPU embedding library people pick for speed (ONNX Runtime under the hood).
It would download its model from a hub; here it is given a local fp32 ONNX export of the
same all-MiniLM-L6-v2 (the folder `st_onnx_peer.py` exports) through
``TextEmbedding.add_custom_model`` + ``specific_model_path``, so nothing is downloaded.
Same protocol as st_onnx_peer.py:

    python fastembed_peer.py MODEL_DIR TEXTS.json OUT.npy
encodes once as warm-up, saves the unit vectors to OUT.npy, prints {"ready": true}; then
answers each line "run" on stdin with {"seconds": ...}, until stdin closes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["HF_HUB_OFFLINE"] = "1"  # never download
warnings.simplefilter("ignore")

import numpy as np  # noqa: E402
from fastembed import TextEmbedding  # noqa: E402
from fastembed.common.model_description import ModelSource, PoolingType  # noqa: E402

NAME = "local/all-MiniLM-L6-v2"
#: sentence-transformers' window for this model (sentence_bert_config.json). fastembed
#: truncates at tokenizer_config.json's model_max_length (512) instead, so without this it
#: would embed twice the text of every other configuration on long inputs.
MAX_TOKENS = 256


def load_model(model_dir: Path, threads: int) -> TextEmbedding:
    """fastembed's ``TextEmbedding`` over the local export in ``model_dir`` (registered
    once as a custom model), truncating where sentence-transformers does. Also used by
    the whole-tool peers that embed with fastembed (benchmarks/peers: Qdrant, LanceDB)."""
    if NAME not in {m["model"] for m in TextEmbedding.list_supported_models()}:
        TextEmbedding.add_custom_model(
            model=NAME,
            pooling=PoolingType.MEAN,
            normalization=True,
            sources=ModelSource(hf="sentence-transformers/all-MiniLM-L6-v2"),
            dim=384,
            model_file="onnx/model.onnx",
        )
    model = TextEmbedding(NAME, specific_model_path=str(model_dir), threads=threads)
    model.model.tokenizer.enable_truncation(max_length=MAX_TOKENS)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path, help="folder with onnx/model.onnx + tokenizer")
    parser.add_argument("texts", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    model = load_model(args.model_dir, threads=len(os.sched_getaffinity(0)))
    texts = json.loads(args.texts.read_text())

    def run() -> np.ndarray:
        return np.stack(list(model.embed(texts, batch_size=32))).astype(np.float32)

    np.save(args.out, run())  # the warm-up, as for every configuration
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if line.strip() == "run":
            started = time.perf_counter()
            run()
            print(json.dumps({"seconds": time.perf_counter() - started}), flush=True)


if __name__ == "__main__":
    main()
