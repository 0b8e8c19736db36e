"""Physics comparisons: each observable's generated vs reference distribution, and overlay histograms.

Every observable is compared by the 1D Wasserstein-1 distance (in the observable's unit),
the Kolmogorov-Smirnov statistic and the separation power on 40 bins fixed by the
reference (see ``distributions``), each with a 68% bootstrap interval over images.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import distributions
from .features import SHOWER_CLASS, TRACK_CLASS
from .observables import Observables

STATISTICS = ("w1", "ks", "sep")
PROFILE_BINS = 40


@dataclasses.dataclass(frozen=True)
class ObservableInfo:
    """Label, unit and binning rule of an observable."""

    label: str
    unit: str
    integer: bool = False


OBSERVABLES = {
    "lit_pixels": ObservableInfo("lit pixels per image", "pixels", integer=True),
    "charge": ObservableInfo("total charge per image (pixel sum)", "pixel value"),
    "n_clusters": ObservableInfo("DBSCAN clusters per image", "", integer=True),
    "track_length": ObservableInfo("main-cluster length (PCA axis, convex hull)", "pixels"),
    "track_width": ObservableInfo("main-cluster width (hull area / length)", "pixels"),
    "direction": ObservableInfo("main-cluster direction from the column axis", "degrees"),
    "dedx_mean": ObservableInfo("main-cluster charge per unit length", "pixel value / pixel"),
    "bragg_ratio": ObservableInfo("Bragg-peak ratio (end slices / median slice)", ""),
    "intensity": ObservableInfo("pixel intensity spectrum of lit pixels", "pixel value"),
    "track_fraction": ObservableInfo("share of lit pixels the network labels track", ""),
    "shower_fraction": ObservableInfo("share of lit pixels the network labels shower", ""),
}


def observable_values(observables: Observables, fractions: np.ndarray) -> dict[str, np.ndarray]:
    """Return every per-image scalar observable, including the network's class fractions."""
    values = dict(observables.scalars)
    values["track_fraction"] = fractions[:, TRACK_CLASS]
    values["shower_fraction"] = fractions[:, SHOWER_CLASS]
    return values


def compare_observables(
    generated: tuple[Observables, np.ndarray],
    reference: tuple[Observables, np.ndarray],
    *,
    seed: np.random.SeedSequence,
    n_bootstrap: int = distributions.DEFAULT_BOOTSTRAP,
) -> dict[str, dict[str, tuple[float, float, float]]]:
    """Compare every observable; return {observable: {"w1"|"ks"|"sep": (value, ci_low, ci_high)}}.

    ``generated`` and ``reference`` are (observables, class fractions) pairs.
    """
    generated_values = observable_values(*generated)
    reference_values = observable_values(*reference)
    seeds = seed.spawn(len(OBSERVABLES))
    comparisons = {}
    for child, name in zip(seeds, OBSERVABLES):
        if name == "intensity":
            comparisons[name] = distributions.compare_histograms(
                generated[0].intensity_counts[:, 1:], reference[0].intensity_counts[:, 1:], n_bootstrap=n_bootstrap, seed=child
            )
            continue
        edges = distributions.histogram_edges(reference_values[name], integer=OBSERVABLES[name].integer)
        comparisons[name] = distributions.compare_samples(
            generated_values[name], reference_values[name], edges=edges, n_bootstrap=n_bootstrap, seed=child
        )
    return comparisons


def observable_histograms_from(
    generated: tuple[Observables, np.ndarray], reference: tuple[Observables, np.ndarray]
) -> dict[str, dict]:
    """Build the overlay histograms of every observable on bins fixed by the reference.

    Each entry contains "label", "unit", "bin_edges" and the "generated" and "reference" bin
    contents normalised to unit sum. The extra entry "dedx_profile" contains, per residual-range
    bin (pixels from the stopping end of the main cluster), the mean charge per slice.
    """
    generated_values = observable_values(*generated)
    reference_values = observable_values(*reference)
    histograms = {}
    for name, info in OBSERVABLES.items():
        if name == "intensity":
            edges = np.arange(0.5, 256.0, 5.0)
            values = np.arange(1, 256)
            counts = []
            for observables in (generated[0], reference[0]):
                pooled = observables.intensity_counts[:, 1:].sum(axis=0).astype(np.float64)
                binned, _ = np.histogram(values, bins=edges, weights=pooled)
                counts.append(_normalised(binned))
        else:
            edges = distributions.histogram_edges(reference_values[name], integer=info.integer)
            counts = [_normalised(distributions.histogram(v[name], edges)) for v in (generated_values, reference_values)]
        histograms[name] = _entry(info.label, info.unit, edges, counts[0], counts[1])

    edges = np.arange(PROFILE_BINS + 1, dtype=np.float64)
    means = []
    for observables in (generated[0], reference[0]):
        profiles = observables.dedx_profiles[:, :PROFILE_BINS]
        filled = np.isfinite(profiles).sum(axis=0)
        means.append(np.where(filled > 0, np.nansum(profiles, axis=0) / np.maximum(filled, 1), 0.0))
    histograms["dedx_profile"] = _entry(
        "mean main-cluster charge per slice vs distance from the stopping end (pixels)", "pixel value / pixel", edges, *means
    )
    return histograms


def _normalised(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total > 0 else counts


def _entry(label: str, unit: str, edges: np.ndarray, generated: np.ndarray, reference: np.ndarray) -> dict:
    return {
        "label": label,
        "unit": unit,
        "bin_edges": [float(edge) for edge in edges],
        "generated": [float(value) for value in generated],
        "reference": [float(value) for value in reference],
    }
