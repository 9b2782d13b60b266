"""Models on their own, without a space: ``embed``, ``models``, ``compare`` and the
``words`` group (static word vectors)."""

from __future__ import annotations

from typing import Annotated, cast

import typer

from .options import JsonOpt, handles_errors
from .render import console, emit, ranked, snippet, table

app = typer.Typer()
words_app = typer.Typer(
    help="Static word vectors (GloVe): neighbours and analogies.", no_args_is_help=True
)


@app.command()
@handles_errors
def compare(
    a: Annotated[str, typer.Argument(help='A text, e.g. "Paris is beautiful".')],
    b: Annotated[str, typer.Argument(help='Another text, e.g. "France is lovely".')],
    model: Annotated[
        str, typer.Option(help="The dense model (name, folder or hub id).")
    ] = "default",
    as_json: JsonOpt = False,
) -> None:
    """Cosine of A and B under six representations, from integer ids to the dense model."""
    from ..analysis.compare import REPRESENTATIONS
    from ..analysis.compare import compare as compare_texts

    scores = compare_texts(a, b, model=model)
    if as_json:
        emit({"a": a, "b": b} | {key: round(value, 6) for key, value in scores.items()})
        return
    out = table(f"{a!r} vs {b!r}", ("representation", "cosine", "what it sees"))
    for row in REPRESENTATIONS:
        out.add_row(row.key, f"{scores[row.key]:.3f}", row.sees)
    console.print(out)


@app.command()
@handles_errors
def embed(
    texts: Annotated[list[str], typer.Argument(help="Texts to embed.")],
    model: Annotated[str, typer.Option(help="Model name, local folder or hub id.")] = "default",
    as_json: JsonOpt = False,
) -> None:
    """Print the vector of each TEXT (JSON lines with --json)."""
    from ..space import embed as embed_texts

    vectors = embed_texts(texts, model=model)
    for text, vector in zip(texts, vectors, strict=True):
        if as_json:
            emit(
                {
                    "text": text,
                    "dim": len(vector),
                    "embedding": [round(float(x), 6) for x in vector],
                }
            )
        else:
            head = ", ".join(f"{x:+.4f}" for x in vector[:6])
            console.print(
                f"{snippet(text, 60)!r} -> [{head}, …] ({len(vector)} dims)", highlight=False
            )


@app.command("models")
@handles_errors
def list_models(as_json: JsonOpt = False) -> None:
    """Models available offline."""
    from dataclasses import asdict

    from ..encoders.registry import models

    if as_json:
        for info_ in models():
            emit(asdict(info_))
        return
    out = table(
        "Models available offline",
        ("name", "dim", "max tokens", "modality", "size", "licence", "available"),
    )
    for info_ in models():
        out.add_row(
            info_.name,
            str(info_.dim),
            str(info_.max_tokens or "-"),
            info_.modality,
            f"{info_.size_mb} MB" if info_.size_mb is not None else "not installed",
            info_.licence,
            "yes" if info_.available else "no",
        )
    console.print(out)
    console.print(
        "Variants: +cls / +max pooling, +dim=N truncation (e.g. default+cls+dim=128); "
        "other models: a local folder, a hub id, clip:<folder> (CLIP/SigLIP, listed once "
        "exported), openai:<model>@<base url>.",
        highlight=False,
    )


@words_app.command("similar")
@handles_errors
def words_similar(
    word: Annotated[str, typer.Argument(help="A word, e.g. king.")],
    k: Annotated[int, typer.Option("--k", "-k", help="How many neighbours.")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """The words nearest to WORD."""
    from ..encoders.registry import words

    ranked(words().most_similar(word, k=k), "word", as_json)


@words_app.command("analogy")
@handles_errors
def words_analogy(
    a: Annotated[str, typer.Argument(help="e.g. king")],
    b: Annotated[str, typer.Argument(help="e.g. man")],
    c: Annotated[str, typer.Argument(help="e.g. woman")],
    k: Annotated[int, typer.Option("--k", "-k", help="How many candidates.")] = 5,
    restrict: Annotated[
        int | None, typer.Option(help="Answer only with the N most frequent words.")
    ] = None,
    method: Annotated[str, typer.Option(help="add (3CosAdd) | mul (3CosMul)")] = "add",
    as_json: JsonOpt = False,
) -> None:
    """A - B + C: `embedspace words analogy king man woman` -> queen."""
    from ..encoders.registry import words
    from ..encoders.words import AnalogyMethod

    # A plain str on the command line (typer has no Literal options); analogy() checks it.
    checked = cast(AnalogyMethod, method)
    ranked(words().analogy(a, b, c, k=k, restrict=restrict, method=checked), "word", as_json)
