"""PNG figures for the leaderboard page: sample grids and histogram overlays.

Figures are drawn on matplotlib's Agg canvas directly (no pyplot state, no GUI backend) and
returned as PNG bytes with the software tag removed, so the same input gives the same bytes
on the same matplotlib version.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import matplotlib.image
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from lartpcbench.datasets.images import validate_images

GRID_COLUMNS = 6
GRID_SCALE = 2
GRID_GAP = 2
COLORMAP = "inferno"
# PNG metadata without the matplotlib version tag, so files do not differ by tag alone.
PNG_METADATA = {"Software": None}


def sample_grid_png(images: np.ndarray, *, columns: int = GRID_COLUMNS, scale: int = GRID_SCALE) -> bytes:
    """Tile (n, 64, 64) uint8 images into a grid and return it as PNG bytes.

    Pixels map 0-255 linearly through the ``inferno`` colormap; each image is enlarged
    ``scale`` times (nearest neighbour) and separated by a white gap.
    """
    array = validate_images(images, name="grid images")
    if columns < 1 or scale < 1:
        raise ValueError(f"columns is {columns} and scale is {scale}; expected positive integers.")
    count, height, width = array.shape
    columns = min(columns, count)
    rows = math.ceil(count / columns)

    # Canvas of intensity values; NaN marks the gaps, which the colormap draws white.
    cell_height, cell_width = height * scale, width * scale
    canvas = np.full(
        (rows * cell_height + (rows + 1) * GRID_GAP, columns * cell_width + (columns + 1) * GRID_GAP), np.nan
    )
    for index, image in enumerate(array):
        row, column = divmod(index, columns)
        top = GRID_GAP + row * (cell_height + GRID_GAP)
        left = GRID_GAP + column * (cell_width + GRID_GAP)
        canvas[top : top + cell_height, left : left + cell_width] = np.kron(image, np.ones((scale, scale)))

    colormap = matplotlib.colormaps[COLORMAP].with_extremes(bad="white")
    rgba = colormap(np.ma.masked_invalid(canvas) / 255.0, bytes=True)
    buffer = io.BytesIO()
    matplotlib.image.imsave(buffer, rgba, format="png", metadata=PNG_METADATA)
    return buffer.getvalue()


def histogram_overlay_png(
    name: str,
    reference: Mapping[str, Any],
    curves: Sequence[tuple[str, Mapping[str, Any], bool]],
    *,
    reference_label: str = "real (test split)",
) -> bytes:
    """Draw one observable's histograms, generated versus reference, and return PNG bytes.

    ``reference`` is an observable record whose ``reference`` densities are drawn filled
    in grey. ``curves`` are (legend label, observable record, is_real) triples whose
    ``generated`` densities are drawn as step lines in order: real held-out images dashed
    black, submissions in the ``tab10`` colours (solid, then dotted and dash-dotted past
    ten submissions).
    """
    figure = Figure(figsize=(6.4, 4.0), dpi=100)
    axes = figure.add_subplot()
    axes.stairs(reference["reference"], reference["bin_edges"], fill=True, color="0.8", label=_plain(reference_label))
    colors = matplotlib.colormaps["tab10"].colors
    submission_index = 0
    for label, observable, is_real in curves:
        if is_real:
            color, linestyle = "black", "--"
        else:
            color = colors[submission_index % len(colors)]
            linestyle = ("-", ":", "-.")[(submission_index // len(colors)) % 3]
            submission_index += 1
        axes.stairs(
            observable["generated"],
            observable["bin_edges"],
            color=color,
            linestyle=linestyle,
            linewidth=1.5,
            label=_plain(label),
        )
    unit = f" [{reference['unit']}]" if reference["unit"] else ""
    axes.set_xlabel(_plain(f"{reference['label']}{unit}"))
    axes.set_ylabel("density")
    axes.set_title(_plain(name))
    axes.legend(fontsize="small", frameon=False)
    figure.tight_layout()
    return _png_bytes(figure)


def _plain(text: str) -> str:
    """Escape dollar signs so matplotlib draws user text literally instead of as mathtext."""
    return text.replace("$", r"\$")


def _png_bytes(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata=PNG_METADATA)
    return buffer.getvalue()
