"""Unbiased MMD^2 estimators over fixed-seed batches: cubic polynomial and Gaussian-mixture kernels.

For samples X (m) and Y (n), the unbiased estimator (Gretton et al., JMLR 2012, eq. 3) is
MMD_u^2 = sum_{i!=j} k(x_i, x_j) / (m (m-1)) + sum_{i!=j} k(y_i, y_j) / (n (n-1))
          - 2 sum_{i,j} k(x_i, y_j) / (m n).
It is quadratic in the batch size, so it runs on ``n_batches`` batches of ``batch_size``
images per side drawn without replacement inside a batch.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

# Bandwidths of Imani et al. (arXiv:2307.13687): sigma = 2^10 ... 2^15.
# NOTE: applying them as exp(-d^2 / (2 sigma^2)) to 0-255 pixel distances is this project's
# reading. Typical distances between two images (1,000-3,000) then sit inside the range.
PIXEL_SIGMAS = tuple(float(2**power) for power in range(10, 16))

Kernel = Callable[[np.ndarray, np.ndarray], np.ndarray]


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return the cubic polynomial kernel k(x, y) = (x . y / D + 1)^3 as an (m, n) matrix."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def squared_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return the (m, n) squared Euclidean distances in float64, clipped at zero."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    values = (x * x).sum(axis=1)[:, None] + (y * y).sum(axis=1)[None, :] - 2.0 * (x @ y.T)
    return np.clip(values, 0.0, None)


def gaussian_mixture_kernel(x: np.ndarray, y: np.ndarray, sigmas: tuple[float, ...] = PIXEL_SIGMAS) -> np.ndarray:
    """Return the mean of Gaussian kernels exp(-|x - y|^2 / (2 sigma^2)) over ``sigmas``."""
    distances = squared_distances(x, y)
    total = np.zeros_like(distances)
    for sigma in sigmas:
        total += np.exp(-distances / (2.0 * sigma * sigma))
    return total / len(sigmas)


def mmd2_unbiased(x: np.ndarray, y: np.ndarray, kernel: Kernel) -> float:
    """Return the unbiased MMD^2 estimate between samples x (m, D) and y (n, D), m, n >= 2."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    m, n = len(x), len(y)
    k_xx, k_yy, k_xy = kernel(x, x), kernel(y, y), kernel(x, y)

    # Off-diagonal means of the within-sample kernels, plain mean of the cross kernel.
    term_xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    term_yy = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(term_xx + term_yy - 2.0 * k_xy.mean())


def batch_size_for(count: int, batch_size: int) -> int:
    """Return ``batch_size``, or half of ``count`` (at least 2) when that is smaller."""
    return max(min(batch_size, count // 2), 2)


def batched_mmd2(
    x: np.ndarray,
    y: np.ndarray,
    kernel: Kernel,
    *,
    batch_size: int,
    n_batches: int,
    seed: int | np.random.SeedSequence = 0,
) -> np.ndarray:
    """Return MMD^2 of ``n_batches`` random batch pairs of ``batch_size`` images per side.

    A set with fewer than 2 x ``batch_size`` samples gives batches of half its size (at
    least 2), so that batches differ and their spread measures the estimator's noise.
    """
    rng = np.random.default_rng(seed)
    size_x, size_y = batch_size_for(len(x), batch_size), batch_size_for(len(y), batch_size)
    values = np.empty(n_batches)
    for batch in range(n_batches):
        pick_x = rng.choice(len(x), size=size_x, replace=False)
        pick_y = rng.choice(len(y), size=size_y, replace=False)
        values[batch] = mmd2_unbiased(x[pick_x], y[pick_y], kernel)
    return values
