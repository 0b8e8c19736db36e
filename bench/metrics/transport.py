"""Optimal-transport distances between image sets in raw pixel space, computed with POT.

Each image is a point in R^4096 with pixel values on the 0-255 scale; the ground cost is
the Euclidean distance between two images. Both sets get uniform weights.
"""

from __future__ import annotations

import numpy as np
import ot

from .kernels import squared_distances

# Entropic regularisation as a fraction of the median ground cost.
SINKHORN_REG_FRACTION = 0.05
SINKHORN_MAX_ITERATIONS = 2000


def pixel_cost_matrix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return the (m, n) Euclidean distances between flattened images, in float64."""
    return np.sqrt(squared_distances(x.reshape(len(x), -1), y.reshape(len(y), -1)))


def wasserstein_pixels(x: np.ndarray, y: np.ndarray) -> float:
    """Return the exact Wasserstein-1 distance (network simplex, ``ot.emd2``)."""
    cost = pixel_cost_matrix(x, y)
    return float(ot.emd2(ot.unif(len(x)), ot.unif(len(y)), cost, numItermax=10_000_000))


def sinkhorn_pixels(x: np.ndarray, y: np.ndarray, *, reg_fraction: float = SINKHORN_REG_FRACTION) -> float:
    """Return the transport cost <P, C> of the entropic plan P (log-domain Sinkhorn).

    The regularisation is ``reg_fraction`` times the median of the cost matrix C, so the
    value does not depend on the overall brightness scale; it is at least the exact W1.
    """
    cost = pixel_cost_matrix(x, y)
    reg = reg_fraction * float(np.median(cost))
    if reg <= 0:
        return 0.0
    plan = ot.sinkhorn(
        ot.unif(len(x)), ot.unif(len(y)), cost, reg, method="sinkhorn_log", numItermax=SINKHORN_MAX_ITERATIONS
    )
    return float(np.sum(plan * cost))
