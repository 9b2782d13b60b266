"""`embedspace map`: the explorer's map for people who don't run a server.

``.html`` is one self-contained file: the explorer's own page, script, style and WebGL
renderer inlined, with the map (the space's default: the neighbour-preserving layout),
its topics (cluster of each point and their labels) and each item's nearest neighbours
(computed in the full space) embedded, so hover, click, lasso and labels work offline
from a file; image items carry their thumbnail inline (shrunk, as data: URLs). ``.png`` is a plain picture of the points drawn with
Pillow, image items as their thumbnails.
"""

from __future__ import annotations

import base64
import io
import json
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .analysis.clusters import assignments
from .analysis.projection import SpaceMap
from .encoders.image import thumbnail_file
from .errors import InvalidInputError
from .space import Space

STATIC = Path(__file__).parent / "server" / "static"
#: The explorer's scripts, inlined into an export in this order (index.html's).
SCRIPTS = ("points.js", "explorer.js")
#: Neighbours stored per item in an HTML export (what a click shows).
EXPORT_NEIGHBOURS = 10
#: Pictures drawn on an exported map at most (as the explorer): more would bury the points
#: and, inline in an HTML file, weigh megabytes.
MAX_PICTURES = 2000
#: Longest side of a thumbnail inlined in an HTML export (the explorer draws them at 44 px).
INLINE_SIDE = 96


def export_map(
    space: Space,
    out: str | Path,
    *,
    color_by: str | None = None,
    size: int = 1600,
    method: str = "auto",
) -> int:
    """Write the map of ``space`` (``space.map(method)``) to ``out`` (.html or .png),
    coloured by the metadata key ``color_by`` if given; returns the number of points."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".html", ".png"):
        raise InvalidInputError(f"--out must end in .html or .png, not {out.name!r}")
    space_map = space.map(method)
    pictures = _pictures(space, space_map)
    if suffix == ".png":
        _png(space_map, color_by, size, pictures).save(out)
    else:
        inline = {name: _data_url(picture) for name, picture in pictures.items()}
        page = _html(space, space_map, color_by, inline)
        out.write_text(page, encoding="utf-8")
    return len(space_map.ids)


def _pictures(space: Space, space_map: SpaceMap) -> dict[str, Image.Image]:
    """The thumbnails of the map's image items (the first MAX_PICTURES), by name; a
    missing or unreadable one is left out and its item stays a dot."""
    names = dict.fromkeys(n for n in space_map.thumbnails() or () if n)
    found = {}
    for name in list(names)[:MAX_PICTURES]:
        path = thumbnail_file(space.path, name) if space.path else None
        if path is None:
            continue
        try:
            with Image.open(path) as picture:
                found[name] = picture.convert("RGB")
        except OSError:
            continue
    return found


def _data_url(picture: Image.Image) -> str:
    small = picture.copy()
    small.thumbnail((INLINE_SIDE, INLINE_SIDE))
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=75)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _neighbours(space: Space, space_map: SpaceMap) -> list[list[tuple[int, float]]]:
    """Each item's nearest items in the full space, as (map index, rounded score)."""
    index = {item_id: i for i, item_id in enumerate(space_map.ids)}
    vectors: np.ndarray | list[np.ndarray] = space.vectors(space_map.ids) if space_map.ids else []
    rows = []
    for item_id, vector in zip(space_map.ids, vectors, strict=True):
        hits = space.search_vector(vector, EXPORT_NEIGHBOURS + 1)
        rows.append(
            [(index[h.id], round(h.score, 4)) for h in hits if h.id != item_id][:EXPORT_NEIGHBOURS]
        )
    return rows


def _clusters(space: Space, space_map: SpaceMap) -> dict[str, list]:
    """Each map point's cluster (-1 = none) and the cluster labels, as ``/map/clusters``."""
    found = space.clusters() if space_map.ids else []
    where = assignments(found)
    return {
        "clusters": [where.get(id_, -1) for id_ in space_map.ids],
        "cluster_labels": [c.label for c in found],
    }


def _html(
    space: Space, space_map: SpaceMap, color_by: str | None, thumbnails: dict[str, str]
) -> str:
    data = {
        "map": space_map.to_columns(color_by) | _clusters(space, space_map),
        "neighbours": _neighbours(space, space_map),
        "thumbnails": thumbnails,
    }
    # "</" would end the inline script early; "<\/" is the same string to JavaScript.
    payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    style = (STATIC / "explorer.css").read_text(encoding="utf-8")
    link = '<link rel="stylesheet" href="/static/explorer.css">'
    page = page.replace(link, f"<style>\n{style}</style>")
    for name in SCRIPTS:  # each <script src> inlined, in the page's own order
        script = (STATIC / name).read_text(encoding="utf-8").replace("</", "<\\/")
        page = page.replace(
            f'<script src="/static/{name}"></script>', f"<script>\n{script}</script>"
        )
    return page.replace("<!--export-->", f"<script>window.EMBEDSPACE_EXPORT = {payload};</script>")


#: Tableau 10, as in the explorer: the most common groups get a colour, the rest grey.
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
           "#edc948", "#b07aa1", "#ff9da7", "#9c755f")  # fmt: skip
DEFAULT_COLOUR, OTHER_COLOUR = "#325aa0", "#bab0ac"


def _colours(space_map: SpaceMap, color_by: str | None) -> list[str]:
    if not color_by:
        return [DEFAULT_COLOUR] * len(space_map.ids)
    groups = space_map.groups(color_by)
    ranked = [g for g, _ in Counter(groups).most_common(len(PALETTE))]
    colour = dict(zip(ranked, PALETTE, strict=False))
    return [colour.get(g, OTHER_COLOUR) for g in groups]


def _png(
    space_map: SpaceMap, color_by: str | None, size: int, pictures: dict[str, Image.Image]
) -> Image.Image:
    image = Image.new("RGB", (size, size), (251, 251, 253))
    draw = ImageDraw.Draw(image)
    half = size * 0.46  # a 4% margin around the [-1, 1] square
    radius = max(1.5, size / 600)
    centres = [(size / 2 + x * half, size / 2 - y * half) for x, y in space_map.xy]
    colours = _colours(space_map, color_by)
    for (cx, cy), colour in zip(centres, colours, strict=True):
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=colour)
    side = max(24, size // (30 if len(pictures) < 60 else 60))
    names = space_map.thumbnails() or [""] * len(centres)
    for (cx, cy), colour, name in zip(centres, colours, names, strict=True):
        if name in pictures:  # framed in its group's colour, as in the explorer
            picture = pictures[name].copy()
            picture.thumbnail((side, side))
            left, top = round(cx - picture.width / 2), round(cy - picture.height / 2)
            draw.rectangle(
                (left - 2, top - 2, left + picture.width + 1, top + picture.height + 1), fill=colour
            )
            image.paste(picture, (left, top))
    return image
