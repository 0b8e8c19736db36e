"""Rendering a leaderboard from result files alone: Markdown, CSV, a static HTML page and PNGs."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path

from lartpcbench.datasets.fileio import atomic_path, write_bytes_atomic, write_text_atomic

from .html_page import render_page
from .plots import histogram_overlay_png, sample_grid_png
from .record import decode_preview
from .store import StoredResult, load_results
from .table import is_reference, markdown_document, metric_columns, results_frame, sort_results

logger = logging.getLogger(__name__)

DEFAULT_PRIMARY_METRIC = "fd_physics"
IMAGE_FOLDER = "images"


def render_leaderboard(
    results_root: str | os.PathLike,
    dataset: str,
    out_dir: str | os.PathLike,
    *,
    primary_metric: str = DEFAULT_PRIMARY_METRIC,
) -> dict[str, Path]:
    """Render the leaderboard for ``dataset`` from the result files under ``results_root``.

    Writes ``LEADERBOARD.md``, ``results.csv`` and ``index.html`` to ``out_dir``, and into
    ``out_dir/images`` one sample-grid PNG per result (the reference row's grid shows real
    images) and one histogram-overlay PNG per observable. Rows are sorted best first by
    ``primary_metric``. Every file is written atomically, and the same result files give
    the same output. Returns the written paths, keyed ``markdown``, ``csv``, ``html``,
    ``grid:<run id>`` and ``histogram:<observable>``.

    Raises ``FileNotFoundError`` when the dataset has no results folder, ``ValueError``
    when it contains no result files or none has ``primary_metric``, and
    ``ResultValidationError`` naming the first invalid result file.
    """
    results = load_results(results_root, dataset)
    if not results:
        raise ValueError(
            f"no result files in {Path(results_root) / dataset}; write results with write_result() first."
        )
    return render_results(results, out_dir, primary_metric=primary_metric)


def render_results(
    results: Sequence[StoredResult], out_dir: str | os.PathLike, *, primary_metric: str = DEFAULT_PRIMARY_METRIC
) -> dict[str, Path]:
    """Render already loaded results; see ``render_leaderboard`` for the files written."""
    out = Path(out_dir)
    columns = metric_columns(results, primary_metric)
    ordered = sort_results(results, columns[0])
    written: dict[str, Path] = {}

    written["markdown"] = out / "LEADERBOARD.md"
    write_text_atomic(written["markdown"], markdown_document(ordered, columns))

    written["csv"] = out / "results.csv"
    frame = results_frame(ordered, columns)
    with atomic_path(written["csv"]) as temporary:
        frame.to_csv(temporary, index=False, lineterminator="\n")

    grid_paths = _write_grids(ordered, out, written)
    histogram_paths = _write_histograms(ordered, out, written)

    written["html"] = out / "index.html"
    write_text_atomic(written["html"], render_page(ordered, columns, grid_paths, histogram_paths))
    logger.info("rendered leaderboard of %d results to %s", len(ordered), out)
    return written


def _write_grids(results: Sequence[StoredResult], out: Path, written: dict[str, Path]) -> dict[str, str]:
    """Write one sample grid per result; return run id -> path relative to ``out``."""
    relative_paths = {}
    for index, result in enumerate(results):
        prefix = "real" if is_reference(result) else "samples"
        relative = f"{IMAGE_FOLDER}/{prefix}-{index:03d}-{_slug(result.run_id)}.png"
        path = out / relative
        write_bytes_atomic(path, sample_grid_png(decode_preview(result.record)))
        written[f"grid:{result.run_id}"] = path
        relative_paths[result.run_id] = relative
    return relative_paths


def _write_histograms(results: Sequence[StoredResult], out: Path, written: dict[str, Path]) -> dict[str, str]:
    """Write one overlay per observable, every result's generated histogram on one axis."""
    names = sorted({name for result in results for name in result.record["observables"]})
    relative_paths = {}
    for name in names:
        having = [result for result in results if name in result.record["observables"]]
        # The real test-split histogram comes from the first row that records it; all rows
        # of one dataset version share the test split.
        reference = having[0].record["observables"][name]
        curves = []
        for result in having:
            label = result.record["submission"]["name"]
            if is_reference(result):
                label = f"{label} (real, held-out)"
            curves.append((label, result.record["observables"][name], is_reference(result)))
        relative = f"{IMAGE_FOLDER}/hist-{_slug(name)}.png"
        path = out / relative
        write_bytes_atomic(path, histogram_overlay_png(name, reference, curves))
        written[f"histogram:{name}"] = path
        relative_paths[name] = relative
    return relative_paths


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "result"
