"""Cross-encoders: score (query, document) pairs jointly, for re-ranking.

A bi-encoder embeds query and document apart, so "The product is good" and "The product
is not good" land close together. A cross-encoder reads both texts in one sequence and
outputs one relevance logit, so it can see negation and word order; it is too slow to
score a whole corpus, which is why it re-scores only a first stage's top candidates.

Scores are ``sigmoid(logit)`` in [0, 1] (as sentence-transformers' ``CrossEncoder``
reports them for one-label models), so they can be mixed with first-stage scores.

Loaders:

* ``"default"`` — the int8 ONNX cross-encoder that ships inside embedspace
  (``embedspace/models/reranker-minilm-l6``), trained by ``embedspace train-reranker``;
  see docs/models.md for its data, licences and limits.
* a folder with ``model.onnx`` (or ``onnx/model.onnx``) and ``tokenizer.json`` — runs on
  ONNX Runtime; an optional ``config.json`` may give ``max_length``.
* a sentence-transformers ``CrossEncoder`` / transformers sequence-classification folder
  (``config.json`` + weights) — runs on torch (the optional ``torch`` extra).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, cast

import numpy as np

from ..errors import InvalidInputError, MissingDependencyError, ModelNotFoundError
from .artifacts import PACKAGE_DIR, RERANKER_DIR, shipped_folder
from .runtime import cpu_session, cpu_workers, length_batches, padded_feeds, run_batches
from .text import file_fingerprint

#: The packaged default, inside the embedspace package.
DEFAULT_RERANKER_DIR = PACKAGE_DIR / RERANKER_DIR
DEFAULT_MAX_LENGTH = 512

_cache: dict[str, CrossEncoder] = {}
_lock = threading.Lock()


class CrossEncoder(Protocol):
    """What re-ranking needs: a name, an id, and relevance scores for pairs."""

    name: str
    model_id: str

    def score(self, query: str, docs: Sequence[str]) -> list[float]: ...


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _check_pairs(query: str, docs: Sequence[str]) -> list[str]:
    if not isinstance(query, str) or not query.strip():
        raise InvalidInputError(
            "the query is empty; a cross-encoder scores (query, document) pairs"
        )
    if isinstance(docs, str):
        raise InvalidInputError("score(query, docs) takes a list of documents; wrap one in [ ]")
    docs = list(docs)
    if not all(isinstance(d, str) for d in docs):
        raise InvalidInputError("every document must be a string")
    return docs


class OnnxCrossEncoder:
    """A one-logit sequence-pair classifier exported to ONNX, with a tokenizer.json."""

    def __init__(
        self,
        model_file: str | Path,
        tokenizer_file: str | Path,
        *,
        name: str | None = None,
        max_length: int = DEFAULT_MAX_LENGTH,
        batch_size: int = 16,
        threads: int | None = None,
        recommended_weight: float | None = None,
        recommended_gate: float | None = None,
    ) -> None:
        from tokenizers import Tokenizer

        model_file, tokenizer_file = Path(model_file), Path(tokenizer_file)
        for path in (model_file, tokenizer_file):
            if not path.is_file():
                raise ModelNotFoundError(f"cross-encoder file not found: {path}")
        self.name = name or model_file.parent.name
        self.model_id = f"{self.name}@{file_fingerprint(model_file)}"
        self.max_length, self.batch_size = max_length, batch_size
        #: share of the cross-encoder score when mixed with the first stage (from config)
        self.recommended_weight = recommended_weight
        #: the best score a query's candidates must reach for the tuned mix to apply (config)
        self.recommended_gate = recommended_gate
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.no_padding()
        # longest_first trims the longer text first, so a short query survives intact
        self._tokenizer.enable_truncation(max_length=max_length, strategy="longest_first")
        self._spans_tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._spans_tokenizer.no_padding()
        self._spans_tokenizer.no_truncation()
        self._session = cpu_session(model_file)
        self._workers = cpu_workers(threads)
        self._inputs = {i.name for i in self._session.get_inputs()}
        missing = {"input_ids", "attention_mask"} - self._inputs
        if missing:
            raise ModelNotFoundError(
                f"{model_file} is not a cross-encoder export: it lacks inputs {sorted(missing)}"
            )

    def __repr__(self) -> str:
        return f"OnnxCrossEncoder({self.model_id!r}, max_length={self.max_length})"

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of ``text``'s tokens (no specials, no truncation): how the
        re-ranking stage cuts long passages into windows this model can read whole."""
        return list(self._spans_tokenizer.encode(text, add_special_tokens=False).offsets)

    def logits(self, query: str, docs: Sequence[str]) -> np.ndarray:
        """Raw relevance logits, one per document, in input order."""
        docs = _check_pairs(query, docs)
        out = np.empty(len(docs), dtype=np.float32)
        if not docs:
            return out
        encodings = self._tokenizer.encode_batch([(query, d) for d in docs])
        lengths = [len(e.ids) for e in encodings]
        batches = length_batches(lengths, self.batch_size, workers=self._workers)

        def forward(idx: np.ndarray) -> np.ndarray:
            return self._forward([encodings[i] for i in idx])

        for idx, logits in run_batches(forward, batches, self._workers):
            out[idx] = logits
        return out

    def score(self, query: str, docs: Sequence[str]) -> list[float]:
        """Relevance of each document to ``query`` in [0, 1] (sigmoid of the logit)."""
        return _sigmoid(self.logits(query, docs).astype(np.float64)).tolist()

    def _forward(self, batch: list) -> np.ndarray:
        logits = self._session.run(None, padded_feeds(batch, self._inputs)[0])[0]
        return logits.reshape(len(batch), -1)[:, 0]


class TorchCrossEncoder:
    """A sentence-transformers ``CrossEncoder`` folder (or any one-label transformers
    sequence-classification model) on torch: for models you already have."""

    def __init__(self, folder: str | Path, *, max_length: int | None = None) -> None:
        try:
            from sentence_transformers import CrossEncoder as StCrossEncoder
        except ImportError as exc:
            raise MissingDependencyError(
                f"{folder} is a torch cross-encoder; install the train extra "
                "(pip install 'embedspace[train]') or export it to ONNX"
            ) from exc
        folder = Path(folder)
        self.name = folder.name
        # sentence-transformers >= 6 may keep the transformer in a module subfolder
        weights = next(
            (
                w
                for name in ("model.safetensors", "pytorch_model.bin")
                for w in sorted(folder.rglob(name))
            ),
            None,
        )
        if weights is None:
            raise ModelNotFoundError(f"{folder} has a model config but no weights")
        self.model_id = f"{self.name}@{file_fingerprint(weights)}"
        self._model = StCrossEncoder(str(folder), max_length=max_length, device="cpu")
        if self._model.num_labels != 1:
            raise InvalidInputError(
                f"{folder} has {self._model.num_labels} output labels; re-ranking needs a "
                "one-label (relevance) cross-encoder"
            )

    def score(self, query: str, docs: Sequence[str]) -> list[float]:
        docs = _check_pairs(query, docs)
        if not docs:
            return []
        scores = self._model.predict([(query, d) for d in docs], show_progress_bar=False)
        return [float(s) for s in np.asarray(scores).ravel()]


def _onnx_file(folder: Path) -> Path | None:
    return next(
        (p for p in (folder / "model.onnx", folder / "onnx" / "model.onnx") if p.is_file()), None
    )


def load_folder(folder: Path) -> CrossEncoder:
    """An ONNX export if the folder has one, else a torch cross-encoder."""
    if not folder.is_dir():
        raise ModelNotFoundError(
            f"no cross-encoder at {folder}: give 'default' or a folder holding model.onnx + "
            "tokenizer.json, or a sentence-transformers CrossEncoder folder"
        )
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    onnx_file = _onnx_file(folder)
    if onnx_file is not None:
        tokenizer = folder / "tokenizer.json"
        if not tokenizer.is_file():
            raise ModelNotFoundError(
                f"{folder} has {onnx_file.name} but no tokenizer.json beside it"
            )
        max_length = int(config.get("max_length") or config.get("max_position_embeddings") or 512)
        return OnnxCrossEncoder(
            onnx_file,
            tokenizer,
            name=folder.name,
            max_length=max_length,
            recommended_weight=config.get("rerank_weight"),
            recommended_gate=config.get("rerank_gate"),
        )
    if config_path.is_file() or (folder / "modules.json").is_file():
        return TorchCrossEncoder(folder)
    raise ModelNotFoundError(
        f"{folder} holds neither model.onnx + tokenizer.json nor a config.json with weights"
    )


def packaged_reranker() -> OnnxCrossEncoder:
    """The packaged re-ranker, ``reranker("default")``, as the ONNX model it always is:
    its tokenizer also counts tokens for a space whose model has none."""
    # reranker() refuses a packaged folder without model.onnx, so load_folder made an ONNX one.
    return cast(OnnxCrossEncoder, reranker("default"))


def reranker(name: str | Path = "default") -> CrossEncoder:
    """A cross-encoder by name ("default") or local folder; loaded once per process."""
    key = str(name)
    with _lock:
        if key not in _cache:
            # the packaged folder is checked against its manifest first (artifacts.py)
            folder = (
                shipped_folder(RERANKER_DIR).folder if key == "default" else Path(key).expanduser()
            )
            _cache[key] = load_folder(folder)
        return _cache[key]
