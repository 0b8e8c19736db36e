"""Frechet distance between Gaussian fits of two feature sets, with FD_inf extrapolation.

FD = |mu_1 - mu_2|^2 + tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2)). Its estimate from N samples is
biased upwards by about c / N, so, following Chong and Forsyth ("Effectively Unbiased FID
and Inception Score and where to find them", CVPR 2020), FD is computed on generated
subsets of several sizes N_j against the full reference statistics, a line
FD(N) = FD_inf + c / N is fitted by least squares, and its intercept FD_inf is reported.
The reference-side bias, from the finite reference set, is not removed.
"""

from __future__ import annotations

import numpy as np

# Generated subset sizes run from this fraction of N up to N, equally spaced in 1/N.
MIN_SUBSET_FRACTION = 0.2
N_SUBSET_SIZES = 8


def gaussian_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the mean (D,) and covariance (D, D) of (N, D) features, in float64."""
    x = np.asarray(features, np.float64)
    mean = x.mean(axis=0)
    centred = x - mean
    covariance = centred.T @ centred / max(len(x) - 1, 1)
    return mean, covariance


def frechet_distance(mean_1: np.ndarray, cov_1: np.ndarray, mean_2: np.ndarray, cov_2: np.ndarray) -> float:
    """Return the Frechet distance between N(mean_1, cov_1) and N(mean_2, cov_2).

    tr((S_1 S_2)^(1/2)) is computed as the sum of square roots of the eigenvalues of the
    symmetric matrix S_1^(1/2) S_2 S_1^(1/2), which has the same spectrum and is stable
    for singular covariances.
    """
    # Symmetric square root of S_1 from its eigen-decomposition.
    eigenvalues, vectors = np.linalg.eigh(cov_1)
    root_1 = (vectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ vectors.T

    # tr((S_1 S_2)^(1/2)) = sum sqrt(eig(S_1^(1/2) S_2 S_1^(1/2))).
    middle = root_1 @ cov_2 @ root_1
    trace_root = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)))

    difference = np.asarray(mean_1, np.float64) - np.asarray(mean_2, np.float64)
    value = difference @ difference + np.trace(cov_1) + np.trace(cov_2) - 2.0 * trace_root
    return float(max(value, 0.0))


def frechet_distance_extrapolated(
    generated: np.ndarray,
    reference_mean: np.ndarray,
    reference_cov: np.ndarray,
    *,
    seed: int | np.random.SeedSequence = 0,
    n_sizes: int = N_SUBSET_SIZES,
    min_fraction: float = MIN_SUBSET_FRACTION,
) -> dict:
    """Extrapolate FD to infinitely many generated samples (FD_inf).

    ``generated`` is (N, D) features. Returns ``fd_inf`` (the intercept), ``fd_inf_se`` (its
    least-squares standard error), ``fd_full`` (FD at all N generated samples), ``slope``
    (c) and the fitted points ``sizes`` and ``values``.
    """
    x = np.asarray(generated, np.float64)
    count = len(x)
    rng = np.random.default_rng(seed)

    # Subset sizes equally spaced in 1/N between min_fraction * N and N.
    inverse = np.linspace(1.0 / max(min_fraction * count, 2.0), 1.0 / count, n_sizes)
    sizes = np.unique(np.clip(np.round(1.0 / inverse).astype(int), 2, count))
    values = []
    for size in sizes:
        subset = x[rng.choice(count, size=size, replace=False)]
        values.append(frechet_distance(*gaussian_statistics(subset), reference_mean, reference_cov))
    values = np.array(values)

    # Least-squares line FD = FD_inf + c / N and the standard error of its intercept.
    design = np.column_stack([np.ones(len(sizes)), 1.0 / sizes])
    coefficients, *_ = np.linalg.lstsq(design, values, rcond=None)
    residual = values - design @ coefficients
    dof = max(len(sizes) - 2, 1)
    covariance = np.linalg.pinv(design.T @ design) * (residual @ residual / dof)
    return {
        "fd_inf": float(coefficients[0]),
        "fd_inf_se": float(np.sqrt(max(covariance[0, 0], 0.0))),
        "fd_full": frechet_distance(*gaussian_statistics(x), reference_mean, reference_cov),
        "slope": float(coefficients[1]),
        "sizes": [int(size) for size in sizes],
        "values": [float(value) for value in values],
    }
