"""Smaller vectors: truncation, int8 and binary codes, and two-stage search over them.

Why: a float32 384-d vector costs 1,536 bytes; int8 codes cost 384 (4x less) and binary
codes 48 (32x less), and scanning them is cheaper too. The price is ranking quality,
which is mostly won back by a second stage: take the top candidates from the cheap codes,
then re-score only those with the full float vectors (kept on disk or memory-mapped in a
real deployment). Truncation (keep the first d coordinates) is the same idea for models
trained Matryoshka-style; the packaged MiniLM is not, so truncating it costs more than it
would cost such a model (docs/benchmarks.md measures both, honestly).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..encoders.base import l2_normalise
from ..encoders.variants import truncate
from ..errors import InvalidInputError

Quantization = Literal["float32", "int8", "binary"]
QUANTIZATIONS = ("float32", "int8", "binary")
#: Codes widened to float32 at a time when scoring (~1.5 MB at 384-d: stays in cache).
SCORE_BLOCK_ROWS = 1024


@dataclass(frozen=True)
class Int8Codes:
    """Symmetric per-dimension int8 codes: ``vectors ≈ codes * scale``."""

    codes: np.ndarray  # int8 (n, d)
    scale: np.ndarray  # float32 (d,)

    def scores(self, queries: np.ndarray) -> np.ndarray:
        """Approximate dot products with float queries: ``codes @ (scale * q)``.

        numpy has no int8 matrix product, so codes are widened to float32 one block at a
        time into a buffer that stays in cache; widening all of them per query wrote a
        temporary 4x the size of the codes (3.7 ms a query over SciFact's 9.7k chunks,
        now 0.8 ms).
        """
        scaled = np.asarray(queries * self.scale, dtype=np.float32)
        out = np.empty((len(scaled), len(self.codes)), dtype=np.float32)
        widened = np.empty(
            (min(SCORE_BLOCK_ROWS, len(self.codes)), self.codes.shape[1]), np.float32
        )
        for start in range(0, len(self.codes), SCORE_BLOCK_ROWS):
            block = self.codes[start : start + SCORE_BLOCK_ROWS]
            np.copyto(widened[: len(block)], block, casting="unsafe")
            out[:, start : start + len(block)] = scaled @ widened[: len(block)].T
        return out


def quantize_int8(vectors: np.ndarray, scale: np.ndarray | None = None) -> Int8Codes:
    """int8 codes with one scale per dimension (largest magnitude -> 127).

    ``scale`` from a previous call (the "calibration") keeps codes of new vectors
    comparable with old ones; by default it is computed from ``vectors``.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    if scale is None:
        scale = np.maximum(np.abs(vectors).max(axis=0), 1e-12) / 127.0
    codes = np.clip(np.rint(vectors / scale), -127, 127).astype(np.int8)
    return Int8Codes(codes, scale.astype(np.float32))


def quantize_binary(vectors: np.ndarray) -> np.ndarray:
    """One bit per dimension (the sign), packed 8 to a byte: uint8 (n, ceil(d / 8))."""
    return np.packbits(np.asarray(vectors) > 0, axis=-1)


def hamming_scores(codes: np.ndarray, queries: np.ndarray, dim: int) -> np.ndarray:
    """Similarity from sign bits: ``dim - 2 * hamming`` (higher is closer), (q, n)."""
    packed = quantize_binary(queries)
    return np.stack(
        [dim - 2 * np.bitwise_count(codes ^ q).sum(axis=1, dtype=np.int32) for q in packed]
    ).astype(np.float32)


class CompressedIndex:
    """Exact search over compressed vectors, optionally re-scored in full precision.

    First stage: every vector, truncated to ``dim`` coordinates (re-normalised) and
    stored as ``quantization`` codes. Second stage (``rerank`` > 0): the best ``rerank``
    candidates are re-scored with the original float32 vectors, so the final order is
    exact among them. ``rerank=0`` returns first-stage scores.
    """

    def __init__(
        self,
        vectors: np.ndarray,
        *,
        dim: int | None = None,
        quantization: Quantization = "float32",
        rerank: int = 0,
    ) -> None:
        if quantization not in QUANTIZATIONS:
            raise InvalidInputError(
                f"quantization must be one of {QUANTIZATIONS}, not {quantization!r}"
            )
        if isinstance(rerank, bool) or not isinstance(rerank, int) or rerank < 0:
            raise InvalidInputError(f"rerank must be a number of candidates >= 0, got {rerank!r}")
        self.full = l2_normalise(vectors)
        self.dim = dim or self.full.shape[1]
        self.quantization = quantization
        self.rerank = rerank
        first = truncate(self.full, self.dim)
        if quantization == "int8":
            self._codes: np.ndarray | Int8Codes = quantize_int8(first)
        elif quantization == "binary":
            self._codes = quantize_binary(first)
        else:
            self._codes = first

    @property
    def first_stage_bytes(self) -> int:
        """Memory the first stage scans (what must stay in RAM)."""
        codes = self._codes.codes if isinstance(self._codes, Int8Codes) else self._codes
        return int(codes.nbytes)

    def _first_stage(self, queries: np.ndarray) -> np.ndarray:
        short = truncate(queries, self.dim)
        if isinstance(self._codes, Int8Codes):
            return self._codes.scores(short)
        if self.quantization == "binary":
            return hamming_scores(self._codes, short, self.dim)
        return short @ self._codes.T

    def scores(self, queries: np.ndarray) -> np.ndarray:
        """A (queries, vectors) score matrix: exact cosines for each query's top
        ``rerank`` candidates; the rest keep their first-stage order, shifted below every
        re-scored candidate (so a long result list is still complete)."""
        queries = l2_normalise(np.atleast_2d(queries))
        scores = self._first_stage(queries)
        if not self.rerank:
            return scores
        depth = min(self.rerank, scores.shape[1])
        top = np.argpartition(-scores, depth - 1, axis=1)[:, :depth]
        exact = np.einsum("qd,qkd->qk", queries, self.full[top])
        out = scores - scores.max(axis=1, keepdims=True) + exact.min(axis=1, keepdims=True) - 1
        np.put_along_axis(out, top, exact, axis=1)
        return out

    def search(self, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (positions, scores) per query, best first."""
        scores = self.scores(queries)
        k = min(k, scores.shape[1])
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
        positions = np.take_along_axis(top, order, axis=1)
        return positions, np.take_along_axis(scores, positions, axis=1)
