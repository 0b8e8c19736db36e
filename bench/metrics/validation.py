"""Validation of the track-length estimator against the simulator's truth table.

Single-particle images (one muon or one proton per image) are simulated and the estimated
main-cluster length is compared with the true path length of the primary projected onto
the image plane inside the crop (truth field ``length_in_crop_cm``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .observables import compute_observables


def validate_track_length(
    num_images: int = 500,
    *,
    particles: tuple[str, ...] = ("muon", "proton"),
    seed: int = 0,
    workers: int | None = 1,
) -> dict[str, dict[str, float]]:
    """Return, per particle, the bias and resolution of the estimated projected track length.

    Lengths are in cm (3 mm pixels). ``bias_cm`` and ``median_bias_cm`` are the mean and
    median of estimate - truth, and ``resolution_cm`` is half their 16-84% range.
    ``relative_bias`` is the median and ``relative_resolution`` half the 16-84% range of
    estimate / truth - 1. ``n_images`` counts the images used: those whose true in-crop
    length is under 1 pixel are left out.
    """
    from lartpcbench.datasets.sim import SimConfig, simulate_images

    summary = {}
    for offset, particle in enumerate(particles):
        config = dataclasses.replace(SimConfig(), particles=(particle,), particle_weights=(1.0,), single_particle=True)
        data = simulate_images(num_images, seed=seed + offset, config=config, workers=workers)
        pixel_cm = config.pixel_mm / 10.0
        estimated = compute_observables(data.images).scalars["track_length"] * pixel_cm
        true_length = data.truth["length_in_crop_cm"][:, 0].astype(np.float64)
        keep = true_length >= pixel_cm
        difference = estimated[keep] - true_length[keep]
        relative = estimated[keep] / true_length[keep] - 1.0
        summary[particle] = {
            "n_images": int(keep.sum()),
            "bias_cm": float(difference.mean()),
            "median_bias_cm": float(np.median(difference)),
            "resolution_cm": float(np.diff(np.percentile(difference, [16, 84]))[0] / 2),
            "relative_bias": float(np.median(relative)),
            "relative_resolution": float(np.diff(np.percentile(relative, [16, 84]))[0] / 2),
            "median_true_cm": float(np.median(true_length[keep])),
        }
    return summary
