"""The dataset card: image-level statistics of a split file, written as Markdown with plots.

Usage: ``python -m lartpcbench.datasets.sim.card SPLIT_FILE [--output docs/dataset-card.md]
[--image-dir docs/img/dataset]``. Works for any split file; the charge scale in MeV and the
track-length spectrum need a simulator-built file (``generator_params`` and ``truth``).
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..fileio import atomic_path, write_text_atomic
from ..splits import SEMANTIC_CLASSES, SPLIT_NAMES, SplitData, read_split, read_split_attrs

logger = logging.getLogger(__name__)

# Primaries whose projected length counts as a track length: muons, pions, protons.
TRACK_PDG = (13, 211, 2212)

SIMULATOR_SUMMARY = [
    "Particle-bomb events in liquid argon (1.396 g/cm^3, I = 188 eV, X0 = 14 cm): primaries from a",
    "common vertex with isotropic directions and uniform kinetic energies. Charged particles are",
    "stepped in sub-mm steps (step_mm) with the Bethe mean loss (Sternheimer density effect), Landau-like",
    "straggling from explicit close collisions, Highland multiple scattering and delta rays above",
    "the threshold. Stopping muons decay to Michel electrons (mu- after capture competition), pions",
    "and protons interact hadronically per length. Electrons radiate bremsstrahlung photons, which",
    "pair-convert, Compton-scatter or are absorbed, so showers grow particle by particle. Deposits",
    "are scaled by the modified box model (alpha 0.93, beta 0.212 at the configured field) relative",
    "to a MIP, projected onto 3 mm pixels of the xy plane and cropped to 64x64 around the charge",
    "centroid of a connected cluster. The label is shower when shower pixels outnumber track,",
    "Michel and delta-ray pixels.",
]


def split_statistics(data: SplitData, mev_per_adc: float | None) -> dict[str, Any]:
    """Return image-level statistics of one split (float64 sums; arrays for the plots)."""
    images = data.images.astype(np.float64)
    lit = data.images > 0
    stats: dict[str, Any] = {
        "count": len(data),
        "lit_fraction": lit.mean(axis=(1, 2)),
        "adc_sum": images.sum(axis=(1, 2)),
        "pixel_values": data.images[lit],
        "saturated_fraction": float(np.count_nonzero(data.images == 255) / max(np.count_nonzero(lit), 1)),
        "shower_fraction": float(np.mean(data.labels == 1)),
        "track_fraction": float(np.mean(data.labels == 0)),
        "labels": data.labels,
    }
    if mev_per_adc is not None:
        stats["charge_mev"] = stats["adc_sum"] * mev_per_adc
    if data.semantic is not None:
        counts = np.bincount(data.semantic[lit].ravel(), minlength=len(SEMANTIC_CLASSES)).astype(np.float64)
        stats["class_fractions"] = dict(zip(SEMANTIC_CLASSES[1:], counts[1:] / max(counts[1:].sum(), 1.0)))
    if data.truth is not None and "length_in_crop_cm" in (data.truth.dtype.names or ()):
        is_track = np.isin(np.abs(data.truth["pdg"]), TRACK_PDG)
        lengths = data.truth["length_in_crop_cm"][is_track]
        stats["track_length_cm"] = lengths[lengths > 0].astype(np.float64)
    return stats


def _percentiles(values: np.ndarray) -> str:
    low, median, high = np.percentile(values, [5, 50, 95])
    return f"{np.mean(values):.4g} | {median:.4g} | {low:.4g} | {high:.4g}"


def render_markdown(path: Path, attrs: dict[str, Any], stats: dict[str, dict[str, Any]], plots: list[str]) -> str:
    """Return the card's Markdown text."""
    params = attrs.get("generator_params", {})
    lines = [
        f"# Dataset card: {attrs.get('dataset', path.stem)}",
        "",
        f"- File: `{path.name}`; version {attrs.get('version', '?')}; seed {attrs.get('seed', '?')}.",
        f"- Source: {attrs.get('source', '?')}.",
        "- Images: 64x64 uint8, energy per 3 mm pixel projected on the xy plane, no detector response.",
    ]
    if "mev_per_adc" in params:
        lines.append(
            f"- Charge scale: 1 ADC step = {params['mev_per_adc']} MeV of visible energy (recombination "
            f"relative to a MIP, box model at {params.get('field_v_cm', '?')} V/cm), saturating at 255."
        )
    if params:
        lines += ["", "## Simulator", ""] + SIMULATOR_SUMMARY + ["", "| parameter | value |", "|---|---|"]
        lines += [f"| {key} | {value} |" for key, value in params.items()]
    lines += ["", "## Sizes and labels", "", "| split | images | track | shower | saturated lit pixels |", "|---|---|---|---|---|"]
    for split, s in stats.items():
        lines.append(
            f"| {split} | {s['count']} | {s['track_fraction']:.3f} | {s['shower_fraction']:.3f} | {s['saturated_fraction']:.4f} |"
        )
    lines += ["", "## Image statistics (mean, median, 5th and 95th percentile)", ""]
    lines += ["| split | quantity | mean | median | p5 | p95 |", "|---|---|---|---|---|---|"]
    for split, s in stats.items():
        lines.append(f"| {split} | lit-pixel fraction | {_percentiles(s['lit_fraction'])} |")
        lines.append(f"| {split} | lit pixel value (ADC) | {_percentiles(s['pixel_values'])} |")
        if "charge_mev" in s:
            lines.append(f"| {split} | visible charge per image (MeV) | {_percentiles(s['charge_mev'])} |")
        if "track_length_cm" in s and len(s["track_length_cm"]):
            lines.append(f"| {split} | track length in crop per track (cm) | {_percentiles(s['track_length_cm'])} |")
    if any("class_fractions" in s for s in stats.values()):
        lines += ["", "## Semantic classes (fraction of lit pixels)", ""]
        names = list(SEMANTIC_CLASSES[1:])
        lines += ["| split | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for split, s in stats.items():
            if "class_fractions" in s:
                lines.append(f"| {split} | " + " | ".join(f"{s['class_fractions'][n]:.4f}" for n in names) + " |")
    lines += ["", "## Plots", ""] + [f"![{Path(plot).stem}]({plot})" for plot in plots]
    return "\n".join(lines) + "\n"


def draw_plots(stats: dict[str, dict[str, Any]], samples: SplitData, image_dir: Path, relative_to: Path) -> list[str]:
    """Draw the histograms and a sample grid as PNG files; return their paths relative to ``relative_to``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    image_dir.mkdir(parents=True, exist_ok=True)
    written = []
    panels = [
        ("lit_fraction", "lit-pixel fraction", False),
        ("charge_mev", "visible charge per image (MeV)", True),
        ("track_length_cm", "track length in crop (cm)", False),
        ("pixel_values", "lit pixel value (ADC)", True),
    ]
    figure, axes = plt.subplots(2, 2, figsize=(10, 7))
    for axis, (key, title, log_y) in zip(axes.ravel(), panels):
        for split, s in stats.items():
            if key in s and len(s[key]):
                axis.hist(s[key], bins=60, histtype="step", density=True, label=split)
        axis.set_title(title)
        axis.set_yscale("log" if log_y else "linear")
        axis.legend()
    figure.tight_layout()
    written.append(_save(figure, image_dir / "statistics.png"))
    plt.close(figure)

    figure, axes = plt.subplots(4, 8, figsize=(16, 8.5))
    for index, axis in enumerate(axes.ravel()):
        if index < len(samples):
            axis.imshow(samples.images[index], cmap="inferno", vmin=0, vmax=255)
            axis.set_title("shower" if samples.labels[index] == 1 else "track", fontsize=8)
        axis.set_axis_off()
    figure.tight_layout()
    written.append(_save(figure, image_dir / "samples.png"))
    plt.close(figure)
    return [os.path.relpath(path, relative_to) for path in written]


def _save(figure, path: Path) -> Path:
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=80)
    return path


def write_card(split_file: str | os.PathLike, output: str | os.PathLike, image_dir: str | os.PathLike) -> Path:
    """Compute the statistics of every split in ``split_file`` and write the card and its plots."""
    path = Path(split_file)
    attrs = read_split_attrs(path)
    mev_per_adc = attrs.get("generator_params", {}).get("mev_per_adc")
    stats = {}
    for split in SPLIT_NAMES:
        if split in attrs["sizes"]:
            stats[split] = split_statistics(read_split(path, split), mev_per_adc)
            logger.info("computed statistics of %s/%s", path.name, split)
    samples = read_split(path, next(iter(stats)))
    output_path = Path(output)
    plots = draw_plots(stats, samples, Path(image_dir), output_path.parent)
    write_text_atomic(output_path, render_markdown(path, attrs, stats, plots))
    return output_path


def main(argv: list[str] | None = None) -> int:
    """Write a dataset card from the command line."""
    parser = argparse.ArgumentParser(prog="python -m lartpcbench.datasets.sim.card", description=__doc__.splitlines()[0])
    parser.add_argument("split_file", help="HDF5 split file to describe")
    parser.add_argument("--output", default="docs/dataset-card.md", help="Markdown file to write")
    parser.add_argument("--image-dir", default="docs/img/dataset", help="folder for the PNG plots")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    write_card(arguments.split_file, arguments.output, arguments.image_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
