"""Precision, recall, density and coverage of generated features (Naeem et al., ICML 2020).

With B(x, r) the ball around x whose radius r is the distance to x's k-th nearest
neighbour within its own set (k = 5):
precision = share of generated samples inside some real ball,
recall    = share of real samples inside some generated ball,
density   = mean over generated samples of (number of real balls containing it) / k,
coverage  = share of real samples whose ball contains at least one generated sample.
Distances are Euclidean in float64, computed in row blocks so memory stays O(block x N).
"""

from __future__ import annotations

import numpy as np

from .kernels import squared_distances

NEAREST_K = 5
BLOCK_ROWS = 1024


def kth_neighbour_radii(features: np.ndarray, k: int = NEAREST_K) -> np.ndarray:
    """Return each sample's distance to its k-th nearest other sample in the same set."""
    x = np.asarray(features, np.float64)
    radii = np.empty(len(x))
    for start in range(0, len(x), BLOCK_ROWS):
        block = squared_distances(x[start : start + BLOCK_ROWS], x)
        # Column k of the partition is the k-th neighbour because column 0 is the point itself.
        radii[start : start + BLOCK_ROWS] = np.sqrt(np.partition(block, k, axis=1)[:, k])
    return radii


def prdc_contributions(real: np.ndarray, generated: np.ndarray, *, k: int = NEAREST_K) -> dict[str, np.ndarray]:
    """Return per-sample terms whose means are the four scores.

    "precision" and "density" are (M,) arrays over generated samples; "recall" and
    "coverage" are (N,) arrays over real samples. Their means give the scores, which lets a
    caller bootstrap them with the radii held fixed.
    """
    real = np.asarray(real, np.float64)
    generated = np.asarray(generated, np.float64)
    real_radii = kth_neighbour_radii(real, k)
    generated_radii = kth_neighbour_radii(generated, k)

    precision = np.zeros(len(generated))
    density = np.zeros(len(generated))
    recall = np.zeros(len(real), dtype=bool)
    nearest_generated = np.full(len(real), np.inf)
    for start in range(0, len(generated), BLOCK_ROWS):
        stop = start + BLOCK_ROWS
        distances = np.sqrt(squared_distances(generated[start:stop], real))
        inside_real = distances <= real_radii[None, :]
        precision[start:stop] = inside_real.any(axis=1)
        density[start:stop] = inside_real.sum(axis=1) / k
        recall |= (distances <= generated_radii[start:stop, None]).any(axis=0)
        nearest_generated = np.minimum(nearest_generated, distances.min(axis=0))
    return {
        "precision": precision,
        "recall": recall.astype(np.float64),
        "density": density,
        "coverage": (nearest_generated <= real_radii).astype(np.float64),
    }


def prdc(real: np.ndarray, generated: np.ndarray, *, k: int = NEAREST_K) -> dict[str, float]:
    """Return precision, recall, density and coverage of (M, D) generated vs (N, D) real features."""
    return {name: float(values.mean()) for name, values in prdc_contributions(real, generated, k=k).items()}
