"""Re-ranking quality: nDCG@10 of each first stage with and without the cross-encoder.

Everything goes through ``Space.search(..., rerank=...)``, the product path. The
cross-encoder is wrapped in a memo so that a (query, passage) pair scored for one
configuration is not scored again for the next (the scores are identical; only the
mixing weight or the first stage differs), which keeps the run within minutes on CPU.

The shipped mixing weight is chosen elsewhere, on the dev halves of the whole retrieval
suite (:mod:`benchmarks.rerank_study`), never on these test claims.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..encoders.reranker import CrossEncoder
from ..encoders.reranker import reranker as load_reranker
from ..encoders.runtime import BATCH_TOKENS
from ..progress import progress_bar
from .datasets import RetrievalSet, load_retrieval_set
from .metrics import mean, ndcg_at_k
from .retrieval import _ingest_seconds, cached_space_path

if TYPE_CHECKING:
    from ..space import Space

FIRST_STAGES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("dense", {"mode": "dense"}),
    ("BM25", {"mode": "sparse"}),
    ("hybrid convex a=0.5", {"mode": "hybrid", "fusion": "convex", "alpha": 0.5}),
)


class MemoCrossEncoder:
    """Caches scores per (query, passage); counts the pairs really scored."""

    def __init__(self, inner: CrossEncoder) -> None:
        self.inner = inner
        self.name, self.model_id = inner.name, inner.model_id
        self.max_length = getattr(inner, "max_length", None)
        self.recommended_weight = getattr(inner, "recommended_weight", None)
        self.recommended_gate = getattr(inner, "recommended_gate", None)
        if hasattr(inner, "token_spans"):
            self.token_spans = inner.token_spans
        self._cache: dict[tuple[str, str], float] = {}
        self.scored, self.seconds = 0, 0.0

    def score(self, query: str, docs: Sequence[str]) -> list[float]:
        missing = list(dict.fromkeys(d for d in docs if (query, d) not in self._cache))
        if missing:
            started = time.perf_counter()
            for d, s in zip(missing, self.inner.score(query, missing), strict=True):
                self._cache[(query, d)] = s
            self.seconds += time.perf_counter() - started
            self.scored += len(missing)
        return [self._cache[(query, d)] for d in docs]


def _ndcg(
    space: Space, data: RetrievalSet, qids: list[str], progress: bool, label: str, **kw: Any
) -> float:
    scores = []
    with progress_bar(len(qids), label, progress) as bar:
        for qid in qids:
            ranked = [h.id for h in space.search(data.queries[qid], k=10, **kw)]
            scores.append(ndcg_at_k(ranked, data.qrels[qid], 10))
            bar.advance()
    return round(mean(scores), 4)


def _open_corpus(data: RetrievalSet, model: str, cache_dir: Path | None, progress: bool) -> Space:
    from ..space import Space

    cache = cached_space_path(data.name, model, cache_dir)
    space = Space(cache, model=model, progress=progress)
    _ingest_seconds(space, data.corpus, cache.with_suffix(".ingest.json"))
    return space


def evaluate_rerank(
    dataset: Path,
    *,
    model: str = "default",
    reranker: str | CrossEncoder = "default",
    depth: int = 30,
    weights: Sequence[float | None] = (1.0, None),
    reranked: Sequence[str] = ("hybrid convex a=0.5",),
    limit_queries: int | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Rows: each first stage alone; those named in ``reranked`` also re-ranked with each
    weight (None = the model's tuned one). Re-ranking costs ~``depth`` cross-encoder
    passes per query and stage, so only the hybrid stage is re-ranked by default."""
    data = load_retrieval_set(dataset)
    qids = [q for q in data.queries if data.qrels.get(q)][:limit_queries]
    cross = load_reranker(reranker) if isinstance(reranker, str | Path) else reranker
    memo = MemoCrossEncoder(cross)
    rows = []
    with _open_corpus(data, model, cache_dir, progress) as space:
        for label, kwargs in FIRST_STAGES:
            rows.append(
                {"config": label, "ndcg@10": _ndcg(space, data, qids, progress, label, **kwargs)}
            )
            for w in weights if label in reranked else ():
                tag = f"w={w}" if w is not None else f"w={memo.recommended_weight or 1.0} (tuned)"
                name = f"{label} + rerank@{depth} {tag}"
                ndcg = _ndcg(
                    space, data, qids, progress, name, rerank=memo, rerank_depth=depth,
                    rerank_weight=w, **kwargs,
                )  # fmt: skip
                rows.append({"config": name, "ndcg@10": ndcg})
        chunks = space.info()["chunks"]
    return {
        "dataset": data.name,
        "documents": len(data.corpus),
        "queries": len(qids),
        "chunks": chunks,
        "reranker": cross.model_id,
        "depth": depth,
        "pairs_scored": memo.scored,
        "ms_per_pair": round(1000 * memo.seconds / max(memo.scored, 1), 2),
        "rows": rows,
    }


def rerank_markdown(results: dict[str, Any]) -> str:
    lines = [
        f"### Re-ranking: {results['dataset']} ({results['documents']:,} documents, "
        f"{results['queries']:,} test queries, cross-encoder `{results['reranker']}`, "
        f"top {results['depth']} re-scored)",
        "",
        "| search | nDCG@10 |",
        "|---|---:|",
    ]
    lines += [f"| {r['config']} | {r['ndcg@10']:.3f} |" for r in results["rows"]]
    lines += [
        "",
        f"{results['pairs_scored']:,} distinct (query, passage) pairs scored, "
        f"{results['ms_per_pair']} ms per pair (int8 ONNX, batches of up to 16 pairs and "
        f"{BATCH_TOKENS} padded tokens, one batch per core, this machine). "
        "w = share of the cross-encoder score; the rest is the first-stage score divided "
        "by the list's best. The tuned w was chosen on the retrieval suite's dev queries.",
        f"Command: `embedspace eval rerank <{results['dataset']} data> --write docs/benchmarks.md`",
    ]
    return "\n".join(lines)


NEGATION_PAIRS = (
    ("The product is good", "The product is great"),
    ("The product is good", "The product is not good"),
    ("A man is playing a guitar", "A man is playing an instrument"),
    ("A man is playing a guitar", "A man is not playing a guitar"),
    ("My order hasn't arrived", "I haven't received my package"),
    ("My order hasn't arrived", "My order arrived early"),
)


def negation_markdown(reranker: str = "default", model: str = "default") -> str:
    """Bi-encoder cosine vs cross-encoder score on paraphrase / negation pairs."""
    from ..encoders.registry import load_encoder

    encoder = load_encoder(model)
    cross = load_reranker(reranker)
    lines = [
        "### Negation: bi-encoder cosine vs cross-encoder score",
        "",
        "| query | candidate | cosine (all-MiniLM-L6-v2) | cross-encoder |",
        "|---|---|---:|---:|",
    ]
    for query, candidate in NEGATION_PAIRS:
        q, c = encoder.encode([query, candidate], role="document")
        score = cross.score(query, [candidate])[0]
        lines.append(f"| {query} | {candidate} | {float(q @ c):.3f} | {score:.3f} |")
    lines += ["", "Command: `embedspace bench --only rerank`"]
    return "\n".join(lines)
