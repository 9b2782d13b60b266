"""SVG files -> Pillow images, through resvg (the ``svg`` extra: ``resvg-py``).

Why here: icon and emoji sets (and many logos) are SVG only, and Pillow reads no SVG.
resvg is a well-kept renderer (Rust, no system libraries), shipped as a self-contained
wheel. Drawings are rendered to fit a bounded box, so an SVG that claims to be
20,000 px wide costs no more memory than a small one; transparency is left for
``image._flatten`` to composite on white, as a person sees an icon. Without the extra,
an SVG gets a clear error naming both ways out.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UnsupportedFileError

if TYPE_CHECKING:
    from PIL import Image

#: Suffixes read as SVG.
SVG_SUFFIXES = frozenset({".svg", ".svgz"})
#: The box a drawing is rendered to fit (aspect kept): a little above the tower's 224 px
#: input, so the resize to 224 still smooths the edges (a 448 box cost 2.5x the CPU).
SVG_BOX = 256


def is_svg(path: str | Path) -> bool:
    return Path(path).suffix.lower() in SVG_SUFFIXES


def rasterise(path: str | Path, box: int = SVG_BOX) -> Image.Image:
    """Render an SVG file to an RGBA Pillow image that fits ``box`` x ``box`` pixels."""
    try:
        import resvg_py
    except ImportError as exc:
        raise UnsupportedFileError(  # per file, so a folder's other images still go in
            f"{path} is an SVG drawing and the SVG rasteriser is not installed: convert "
            'it to PNG first, or pip install "embedspace[svg]" (resvg-py)'
        ) from exc
    from PIL import Image

    try:
        data = resvg_py.svg_to_bytes(svg_path=str(path), width=box, height=box)
    except (ValueError, OSError) as exc:
        raise UnsupportedFileError(f"{path} is not a readable SVG drawing: {exc}") from exc
    image = Image.open(io.BytesIO(bytes(data)))
    image.load()
    return image
