"""Fine-tune the embedding model on a user's domain pairs, then export it for ONNX Runtime.

Why contrastive with in-batch negatives (MultipleNegativesRankingLoss): a domain rarely
has labelled negatives, only pairs that belong together (question / answer, claim /
evidence, two phrasings of one request). Every other positive in the batch serves as a
negative, so pairs are all a user needs. Optional Matryoshka loss trains the leading
dimensions to work alone, so ``+dim=128`` truncation loses less.

The output folder is a sentence-transformers model (safetensors + tokenizer + pooling
config) plus ``model.onnx``: the same fused dynamic-int8 graph the default model uses
(``encoders/onnx_optimize.py``), so ``Space(path, model=folder)`` runs it on ONNX Runtime
without torch. Training needs the ``torch`` extra; nothing here runs at search time.
"""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import InvalidInputError, MissingDependencyError, NotSupportedError
from ..progress import progress_bar

#: Column names accepted for the two sides of a pair (first match wins).
_LEFT = ("anchor", "query", "question", "text1", "sentence1")
_RIGHT = ("positive", "document", "answer", "text2", "sentence2")


@dataclass(frozen=True)
class FinetuneReport:
    """What a fine-tune did, saved beside the model as ``finetune.json``."""

    base: str
    pairs: int
    steps: int
    batch_size: int
    epochs: int
    learning_rate: float
    matryoshka_dims: list[int] | None
    seconds: float
    first_loss: float
    last_loss: float


def read_pairs(path: str | Path) -> list[tuple[str, str]]:
    """(anchor, positive) pairs from a CSV/TSV with a header such as ``anchor,positive``
    (also query/document, question/answer, text1/text2, sentence1/sentence2)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"pairs file not found: {path}")
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        fields = [f.strip().lower() for f in reader.fieldnames or []]
        left = next((f for f in _LEFT if f in fields), None)
        right = next((f for f in _RIGHT if f in fields), None)
        if left is None or right is None:
            raise InvalidInputError(
                f"{path} needs a header with two text columns, e.g. 'anchor,positive' "
                f"(found {fields}); accepted: {_LEFT} and {_RIGHT}"
            )
        rows = [{k.strip().lower(): v for k, v in row.items() if k} for row in reader]
    pairs = [(r[left].strip(), r[right].strip()) for r in rows if r.get(left) and r.get(right)]
    if not pairs:
        raise InvalidInputError(f"{path} has no rows with both {left!r} and {right!r} filled")
    return pairs


def _batches(
    pairs: Sequence[tuple[str, str]], size: int, rng: random.Random
) -> list[list[tuple[str, str]]]:
    """Shuffled batches in which no text appears twice: a repeated text would be its own
    in-batch negative (the 'no duplicates' sampler of sentence-transformers)."""
    order = list(pairs)
    rng.shuffle(order)
    batches: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    seen: set[str] = set()
    pending = order
    while pending:
        left_over = []
        for pair in pending:
            if pair[0] in seen or pair[1] in seen:
                left_over.append(pair)
                continue
            current.append(pair)
            seen.update(pair)
            if len(current) == size:
                batches.append(current)
                current, seen = [], set()
        if len(left_over) == len(pending):  # only clashing pairs remain
            break
        pending = left_over
    if len(current) > 1:
        batches.append(current)
    return batches


def finetune(
    pairs: Sequence[tuple[str, str]],
    output: str | Path,
    *,
    base: str | Path | None = None,
    epochs: int = 1,
    batch_size: int = 32,
    learning_rate: float = 2e-5,
    matryoshka_dims: Sequence[int] | None = None,
    max_steps: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> FinetuneReport:
    """Train ``base`` (default: the packaged fp32 all-MiniLM-L6-v2) on ``pairs`` and write
    a model folder at ``output`` that ``load_encoder(str(output))`` runs on ONNX Runtime.

    The folder is written to a temporary sibling and renamed, so a crash never leaves a
    half-written model where a Space would look for one."""
    try:
        import torch
        from sentence_transformers import SentenceTransformer
        from sentence_transformers.sentence_transformer import losses  # moved there in ST 5.4
    except ImportError as exc:
        raise MissingDependencyError(
            "fine-tuning needs torch and sentence-transformers: "
            "pip install torch==2.13.0 'embedspace[train]'"
        ) from exc
    from ..encoders.onnx_optimize import build_fast_int8
    from ..encoders.packaged import minilm_reference_dir

    pairs = [(str(a), str(b)) for a, b in pairs]
    if len(pairs) < 2:
        raise InvalidInputError(
            "fine-tuning needs at least 2 pairs (each batch's others are its negatives)"
        )
    if batch_size < 2 or epochs < 1 or learning_rate <= 0:
        raise InvalidInputError("batch_size must be >= 2, epochs >= 1 and learning_rate > 0")
    output = Path(output)
    if output.exists() and any(output.iterdir()):
        raise InvalidInputError(f"{output} exists and is not empty; choose a new folder")
    base = Path(base) if base is not None else minilm_reference_dir()

    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = SentenceTransformer(str(base), device="cpu")
    loss_fn: torch.nn.Module = losses.MultipleNegativesRankingLoss(model)
    dims = sorted({int(d) for d in matryoshka_dims or ()}, reverse=True) or None
    if dims:
        dim_of = getattr(model, "get_embedding_dimension", None)  # ST >= 6 name
        full = (dim_of or model.get_sentence_embedding_dimension)()
        if full is None:  # sentence-transformers: "not known"
            raise NotSupportedError(
                f"{base} does not declare its embedding dimension: matryoshka_dims needs it"
            )
        if dims[0] > full or dims[-1] < 1:
            raise InvalidInputError(f"matryoshka dims must be between 1 and {full}, got {dims}")
        loss_fn = losses.MatryoshkaLoss(model, loss_fn, matryoshka_dims=dims)
    schedule = [b for _ in range(epochs) for b in _batches(pairs, batch_size, rng)]
    schedule = schedule[:max_steps] if max_steps else schedule
    if not schedule:
        raise InvalidInputError(
            "no batch of 2+ distinct pairs could be formed from the pairs given"
        )
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    warmup = max(1, len(schedule) // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min(
            (step + 1) / warmup, max(0.0, (len(schedule) - step) / (len(schedule) - warmup + 1))
        ),
    )

    model.train()
    started, loss_values = time.perf_counter(), []
    with progress_bar(len(schedule), "fine-tuning", progress) as bar:
        for batch in schedule:
            features = [model.preprocess([pair[side] for pair in batch]) for side in (0, 1)]
            loss = loss_fn(features, None)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            loss_values.append(float(loss.detach()))
            bar.advance()
    model.eval()

    report = FinetuneReport(
        base=str(base),
        pairs=len(pairs),
        steps=len(schedule),
        batch_size=batch_size,
        epochs=epochs,
        learning_rate=learning_rate,
        matryoshka_dims=dims,
        seconds=round(time.perf_counter() - started, 1),
        first_loss=round(loss_values[0], 4),
        last_loss=round(sum(loss_values[-10:]) / len(loss_values[-10:]), 4),
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}-", dir=output.parent))
    try:
        model.save(str(staging))
        build_fast_int8(staging, staging / "model.onnx")
        (staging / "finetune.json").write_text(json.dumps(asdict(report), indent=2))
        if output.exists():
            output.rmdir()  # empty (checked above)
        os.replace(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return report
