"""Looking at a whole space: ``classify``, ``dupes``, ``cluster``, ``outliers``,
``recommend`` and ``map``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import InvalidInputError
from .options import (
    JsonOpt,
    SpaceArg,
    UsingOpt,
    WhereOpt,
    handles_errors,
    open_space,
    where_filter,
)
from .render import console, emit, hits, ranked, snippet, table

if TYPE_CHECKING:
    from ..analysis.classify import Prediction
    from ..space import Space

app = typer.Typer()


@app.command()
@handles_errors
def classify(
    item: Annotated[
        str,
        typer.Argument(
            help="A text, the path of an image file, or a space (folder or URI; then: its items)."
        ),
    ],
    label: Annotated[
        list[str], typer.Option("--label", "--labels", "-l", help="A candidate label (repeat).")
    ],
    items: Annotated[
        list[str] | None,
        typer.Argument(help="With a space: ids (or texts) to classify; default every item."),
    ] = None,
    where: WhereOpt = None,
    model: Annotated[str, typer.Option(help="Model name, local folder or hub id.")] = "default",
    as_json: JsonOpt = False,
) -> None:
    """Zero-shot: rank the labels by closeness to ITEM (no training on the labels).

    ITEM may be a space: then every item in it (or the given ids, or --where
    matches) gets its best label, e.g. `embedspace classify shop.space -l refund -l delivery`.
    """
    from ..space import classify as classify_item

    if _is_space(item):
        _classify_space(item, label, items or [], where, as_json)
        return
    if items:
        raise InvalidInputError(f"{item} is not a space; give one text or image at a time")
    predictions = classify_item(item, label, model=model)
    ranked([(p.label, p.score) for p in predictions], "label", as_json)


def _is_space(item: str) -> bool:
    """A remote space URI, or a folder holding an embedded space."""
    from ..store.factory import SCHEMES
    from ..store.sqlite import DB_NAME

    if item.startswith(tuple(f"{scheme}://" for scheme in SCHEMES)):
        return True
    return Path(item).is_dir() and (Path(item) / DB_NAME).is_file()


def _classify_space(
    space: str, labels: list[str], entries: list[str], where: list[str] | None, as_json: bool
) -> None:
    """Best label of each item of a space; entries that are not ids are classified as texts."""
    with open_space(space, create=False) as sp:
        known = set(entries) & set(sp.ids()) if entries else set()
        rows: list[tuple[str, list[Prediction]]] = []
        if not entries or known:
            ids = [e for e in entries if e in known] or None
            rows += sp.classify_all(labels, ids, where=where_filter(where)).items()
        rows += [(text, sp.classify(text, labels)) for text in entries if text not in known]
    out = table(f"zero-shot labels ({len(rows)} items)", ("item", "label", "score", "runner-up"))
    for key, predictions in rows:
        if as_json:
            emit(
                {
                    "id": key,
                    "label": predictions[0].label,
                    "score": round(predictions[0].score, 6),
                    "scores": {p.label: round(p.score, 6) for p in predictions},
                }
            )
        else:
            best, runner_up = predictions[0], predictions[1]
            out.add_row(snippet(key, 60), best.label, f"{best.score:.3f}", runner_up.label)
    if not as_json:
        console.print(out)


def _texts(sp: Space, ids: list[str]) -> dict[str, str]:
    """The texts of ``ids`` (each fetched once), for the human-readable tables."""
    return {item.id: item.text for item in sp.items(list(dict.fromkeys(ids)))}


@app.command()
@handles_errors
def dupes(
    space: SpaceArg,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Cosine at or above which two items are duplicates (default: the model's calibrated value)."
        ),
    ] = None,
    k: Annotated[int, typer.Option("--k", "-k", help="Neighbours examined per item.")] = 10,
    where: WhereOpt = None,
    using: UsingOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Groups of near-duplicate items in SPACE (paraphrases and exact copies), largest first."""
    with open_space(space, create=False) as sp:
        groups = sp.duplicates(threshold, k=k, where=where_filter(where), using=using)
        texts = _texts(sp, [i for g in groups for i in g.ids]) if not as_json else {}
    if as_json:
        for number, group in enumerate(groups):
            emit({"group": number} | group.to_dict())
        return
    for number, group in enumerate(groups):
        kind = "exact copies" if group.exact else f"best pair {group.score:.3f}"
        console.print(f"[bold]group {number}[/bold] ({len(group)} items, {kind})", highlight=False)
        for id_ in group.ids:
            console.print(f"  {id_}: {snippet(texts[id_], 120)}", highlight=False, markup=False)
    console.print(f"{len(groups)} groups", highlight=False)


@app.command()
@handles_errors
def cluster(
    space: SpaceArg,
    k: Annotated[
        int | None,
        typer.Option("--k", "-k", help="Number of clusters (default: chosen by silhouette)."),
    ] = None,
    method: Annotated[
        str, typer.Option(help="kmeans | hdbscan (density; leaves noise out)")
    ] = "kmeans",
    min_size: Annotated[
        int | None, typer.Option(help="HDBSCAN: smallest cluster (default 5).")
    ] = None,
    noise: Annotated[
        str,
        typer.Option(help="HDBSCAN: keep (leave noise out) | nearest (join the closest cluster)"),
    ] = "keep",
    where: WhereOpt = None,
    members: Annotated[
        bool, typer.Option("--members", help="With --json: list every member id.")
    ] = False,
    using: UsingOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Topics in SPACE: clusters with a label of distinctive words and their most central items."""
    with open_space(space, create=False) as sp:
        clusters = sp.clusters(
            k, method, min_size=min_size, noise=noise, where=where_filter(where), using=using
        )
        texts = _texts(sp, [i for c in clusters for i in c.central]) if not as_json else {}
    if as_json:
        for c in clusters:
            row = c.to_dict()
            emit(row if members else {key: v for key, v in row.items() if key != "ids"})
        return
    out = table(f"{len(clusters)} clusters ({method})", ("#", "size", "label", "most central"))
    for c in clusters:
        out.add_row(str(c.id), str(c.size), c.label, snippet(texts[c.central[0]], 100))
    console.print(out)


@app.command()
@handles_errors
def outliers(
    space: SpaceArg,
    k: Annotated[int, typer.Option("--k", "-k", help="Neighbours per item.")] = 20,
    by: Annotated[
        str, typer.Option(help="Sort by lof (local outlier factor) | knn (mean distance).")
    ] = "lof",
    limit: Annotated[int, typer.Option(help="How many to show.")] = 10,
    where: WhereOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The items of SPACE least like their neighbours, most unusual first."""
    with open_space(space, create=False) as sp:
        found = sp.outliers(k, by=by, limit=limit, where=where_filter(where))
        texts = _texts(sp, [o.id for o in found]) if not as_json else {}
    if as_json:
        for rank, o in enumerate(found, start=1):
            emit({"rank": rank} | o.to_dict())
        return
    out = table(f"outliers by {by} (k={k})", ("#", "lof", "knn distance", "id", "text"))
    for rank, o in enumerate(found, start=1):
        out.add_row(str(rank), f"{o.lof:.2f}", f"{o.knn_distance:.3f}", o.id, snippet(texts[o.id]))
    console.print(out)


@app.command()
@handles_errors
def recommend(
    space: SpaceArg,
    liked: Annotated[
        list[str] | None, typer.Option("--liked", "-l", help="An id (or a text) liked (repeat).")
    ] = None,
    disliked: Annotated[
        list[str] | None,
        typer.Option("--disliked", "-d", help="An id (or a text) disliked (repeat)."),
    ] = None,
    query: Annotated[
        str | None, typer.Option("--query", "-q", help="A typed description of what you want.")
    ] = None,
    k: Annotated[int, typer.Option("--k", "-k", help="How many suggestions.")] = 10,
    diversity: Annotated[
        float, typer.Option(help="0 = closest first .. 1 = most varied (MMR).")
    ] = 0.0,
    where: WhereOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Suggest items of SPACE from liked/disliked items (ids or texts) and/or a description."""
    with open_space(space, create=False) as sp:
        found = sp.recommend(
            liked or [],
            disliked or [],
            k,
            query=query,
            diversity=diversity,
            where=where_filter(where),
        )
    hits(found, "recommended", as_json, text=lambda hit: hit.text)


@app.command("map")
@handles_errors
def map_(
    space: SpaceArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="map.html (interactive) or map.png.")],
    color_by: Annotated[
        str | None, typer.Option(help="Colour points by this metadata key, e.g. kind.")
    ] = None,
    method: Annotated[
        str,
        typer.Option(help="auto (neighbour-preserving: UMAP, cached in the space), umap or pca."),
    ] = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Export the 2-D map of SPACE: a self-contained interactive .html (WebGL), or a .png."""
    from ..map_export import export_map

    with open_space(space, create=False) as sp:
        points = export_map(sp, out, color_by=color_by, method=method)
    if as_json:
        emit({"out": str(out), "points": points})
    else:
        console.print(f"wrote {out} ({points} points)", highlight=False)
