"""Training models of your own: ``train-reranker`` and ``finetune`` (train extra)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import InvalidInputError
from .options import JsonOpt, handles_errors, show_progress
from .render import console, emit

app = typer.Typer()


def _recipe(name: str) -> Any:
    """The shipped re-ranker's recipe value of one training knob (TrainConfig's default),
    so the command and the library cannot disagree. train.reranker imports torch only
    inside its functions, so reading its defaults costs nothing at start-up."""
    from dataclasses import fields

    from ..train.reranker import TrainConfig

    return next(f.default for f in fields(TrainConfig) if f.name == name)


@app.command("train-reranker")
@handles_errors
def train_reranker_cmd(
    output: Annotated[
        Path, typer.Option(help="Run folder (checkpoint, model/, train_config.json).")
    ],
    data: Annotated[
        Path | None, typer.Option(help="Shared datasets folder (default: $EMBEDSPACE_DATA).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for sampling, shuffling and init.")] = _recipe(
        "seed"
    ),
    epochs: Annotated[int, typer.Option(help="Passes over the sampled pairs.")] = _recipe("epochs"),
    lr: Annotated[float, typer.Option(help="Peak learning rate (AdamW, linear decay).")] = _recipe(
        "lr"
    ),
    batch_size: Annotated[int, typer.Option(help="Pairs per step.")] = _recipe("batch_size"),
    stsb: Annotated[
        int | None, typer.Option(help="STS-B train pairs sampled (of 5,749; default all).")
    ] = _recipe("stsb"),
    sick: Annotated[
        int | None, typer.Option(help="SICK train pairs sampled (of ~7,900; default all).")
    ] = _recipe("sick"),
    mrpc: Annotated[
        int | None, typer.Option(help="MRPC train pairs sampled (of 4,076; default all).")
    ] = _recipe("mrpc"),
    mined_negatives: Annotated[
        int, typer.Option(help="Hybrid-search hard negatives per STS-B / MRPC positive.")
    ] = _recipe("mined_negatives"),
    scifact_negatives: Annotated[
        int, typer.Option(help="BM25 hard negatives per SciFact claim.")
    ] = _recipe("scifact_negatives"),
    scifact_repeat: Annotated[
        int, typer.Option(help="SciFact passes per epoch (fresh negatives each).")
    ] = _recipe("scifact_repeat"),
    negations: Annotated[
        int, typer.Option(help="STS-B paraphrases turned into a negation drill (x3 pairs).")
    ] = _recipe("negations"),
    max_minutes: Annotated[
        float | None, typer.Option(help="Stop (and save) after this long; the manifest says so.")
    ] = None,
    max_steps: Annotated[
        int | None,
        typer.Option(help="Plan at most this many steps (the learning rate decays to 0 there)."),
    ] = None,
    export: Annotated[
        Path | None,
        typer.Option(
            help="Then export int8 ONNX into this folder and check it against torch "
            "(then tune its mixing weight: python -m benchmarks.rerank_study --reranker "
            "FOLDER --record)."
        ),
    ] = None,
) -> None:
    """Train the cross-encoder re-ranker from all-MiniLM-L6-v2 on public pairs (torch, CPU; resumable). The defaults are the shipped model's recipe."""
    import logging

    from ..eval.datasets import data_root
    from ..train.reranker import TrainConfig, train_reranker
    from ..train.ship import ship_reranker

    root = data or data_root()
    if root is None:
        raise InvalidInputError("no datasets folder: pass --data or set EMBEDSPACE_DATA")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    cfg = TrainConfig(
        data=str(root), output=str(output), seed=seed, epochs=epochs, lr=lr,
        batch_size=batch_size, stsb=stsb, sick=sick, mrpc=mrpc, mined_negatives=mined_negatives,
        scifact_negatives=scifact_negatives, scifact_repeat=scifact_repeat, negations=negations,
        max_minutes=max_minutes, max_steps=max_steps,
    )  # fmt: skip
    model_dir = train_reranker(cfg, progress=show_progress())
    console.print(f"model: {model_dir}")
    if export:
        report = ship_reranker(model_dir.parent, export)
        console.print(json.dumps({k: v for k, v in report.items() if k != "pairs"}, indent=2))
        console.print(
            f"mixing weight: tune it on the retrieval suite (source repository): "
            f"python -m benchmarks.rerank_study --reranker {export} --record",
            highlight=False,
        )


@app.command()
@handles_errors
def finetune(
    pairs: Annotated[
        Path,
        typer.Option(
            help="CSV/TSV of text pairs that belong together, header e.g. 'anchor,positive'."
        ),
    ],
    output: Annotated[
        Path, typer.Option(help="New folder for the model (use it as Space(..., model=FOLDER)).")
    ],
    base: Annotated[
        Path | None,
        typer.Option(
            help="sentence-transformers BERT folder to start from (default: packaged MiniLM)."
        ),
    ] = None,
    epochs: Annotated[int, typer.Option(help="Passes over the pairs.")] = 1,
    batch_size: Annotated[
        int, typer.Option(help="Pairs per step; the others in a batch are the negatives.")
    ] = 32,
    learning_rate: Annotated[float, typer.Option(help="AdamW learning rate.")] = 2e-5,
    matryoshka: Annotated[
        str | None,
        typer.Option(
            help="Also train truncated prefixes, e.g. '384,256,128,64' (Matryoshka loss)."
        ),
    ] = None,
    max_steps: Annotated[
        int | None, typer.Option(help="Stop after N steps (quick trials).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Fine-tune the embedding model on domain pairs (in-batch negatives) and export it to ONNX."""
    from dataclasses import asdict

    from ..train.finetune import finetune as run_finetune
    from ..train.finetune import read_pairs

    try:
        dims = [int(d) for d in matryoshka.split(",")] if matryoshka else None
    except ValueError:
        raise InvalidInputError(
            f"--matryoshka takes comma-separated integers, not {matryoshka!r}"
        ) from None
    report = run_finetune(
        read_pairs(pairs),
        output,
        base=base,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        matryoshka_dims=dims,
        max_steps=max_steps,
        progress=not as_json,
    )
    if as_json:
        emit(asdict(report) | {"output": str(output)})
    else:
        console.print(
            f"fine-tuned on {report.pairs} pairs in {report.steps} steps ({report.seconds} s), "
            f"loss {report.first_loss} -> {report.last_loss}; model: {output}\n"
            f"use it: es.Space(path, model={str(output)!r})",
            highlight=False,
        )
