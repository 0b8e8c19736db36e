"""One-dimensional two-sample distances: Wasserstein-1, KS statistic and separation power.

Samples are 1D float arrays of per-image values; histogram inputs are per-image count rows
that are summed before comparison, so bootstrap resampling stays per image. Generated and
reference images are resampled independently and with replacement. A distance's bootstrap
replicates sit above the estimate (resampling adds noise, which a distance cannot cancel),
so the reported 68% interval is the 16-84% percentile range of the replicates shifted to
centre on the estimate: [d - (m - q16), d + (q84 - m)] with m the replicates' median,
clipped at 0.
"""

from __future__ import annotations

import numpy as np

DEFAULT_BOOTSTRAP = 100
DEFAULT_BINS = 40
INTERVAL_PERCENTILES = (16.0, 84.0)


def wasserstein_1d(u: np.ndarray, v: np.ndarray) -> float:
    """Return the 1D Wasserstein-1 distance between two samples (integral of |F_u - F_v|)."""
    u_sorted, v_sorted = np.sort(np.asarray(u, np.float64)), np.sort(np.asarray(v, np.float64))
    grid = np.sort(np.concatenate([u_sorted, v_sorted]))

    # W1 = sum over the merged grid of |F_u - F_v| times the gap to the next grid point.
    cdf_u = np.searchsorted(u_sorted, grid[:-1], side="right") / len(u_sorted)
    cdf_v = np.searchsorted(v_sorted, grid[:-1], side="right") / len(v_sorted)
    return float(np.sum(np.abs(cdf_u - cdf_v) * np.diff(grid)))


def ks_statistic(u: np.ndarray, v: np.ndarray) -> float:
    """Return the two-sample Kolmogorov-Smirnov statistic sup |F_u - F_v|."""
    u_sorted, v_sorted = np.sort(np.asarray(u, np.float64)), np.sort(np.asarray(v, np.float64))
    grid = np.concatenate([u_sorted, v_sorted])
    cdf_u = np.searchsorted(u_sorted, grid, side="right") / len(u_sorted)
    cdf_v = np.searchsorted(v_sorted, grid, side="right") / len(v_sorted)
    return float(np.max(np.abs(cdf_u - cdf_v)))


def separation_power(counts_p: np.ndarray, counts_q: np.ndarray) -> float:
    """Return the separation power 1/2 sum_i (p_i - q_i)^2 / (p_i + q_i) of two histograms.

    Both histograms are normalised to unit sum first (the CaloChallenge definition); empty
    bins in both are skipped. The value lies in [0, 1]: 0 for identical shapes, 1 for
    histograms without common bins.
    """
    p = np.asarray(counts_p, np.float64)
    q = np.asarray(counts_q, np.float64)
    p = p / p.sum() if p.sum() > 0 else p
    q = q / q.sum() if q.sum() > 0 else q
    total = p + q
    used = total > 0
    return float(0.5 * np.sum((p[used] - q[used]) ** 2 / total[used]))


def histogram_edges(reference: np.ndarray, *, bins: int = DEFAULT_BINS, integer: bool = False) -> np.ndarray:
    """Return bin edges fixed by the reference sample alone.

    Edges span the reference's 0.5th to 99.5th percentile in ``bins`` equal bins; integer
    observables get unit bins centred on integers when they fit in ``bins`` bins. Values
    outside the edges are counted in the first or last bin (see ``histogram``).
    """
    values = np.asarray(reference, np.float64)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return np.linspace(0.0, 1.0, bins + 1)
    low, high = np.percentile(values, [0.5, 99.5])
    if integer:
        low, high = np.floor(low), np.ceil(high)
        if high - low + 1 <= bins:
            return np.arange(low - 0.5, high + 1.0, 1.0)
    if high <= low:
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, bins + 1)


def histogram(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Count finite values in ``edges``, clipping under- and overflow into the end bins."""
    values = np.asarray(values, np.float64)
    values = values[np.isfinite(values)]
    clipped = np.clip(values, edges[0], edges[-1])
    counts, _ = np.histogram(clipped, bins=edges)
    return counts.astype(np.float64)


def compare_samples(
    generated: np.ndarray,
    reference: np.ndarray,
    *,
    edges: np.ndarray,
    n_bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int | np.random.SeedSequence = 0,
) -> dict[str, tuple[float, float, float]]:
    """Compare two 1D samples; return {"w1", "ks", "sep"} -> (value, ci_low, ci_high).

    NaN values (observables undefined for an image) are dropped before comparing.
    """
    u = np.asarray(generated, np.float64)
    v = np.asarray(reference, np.float64)
    u, v = u[np.isfinite(u)], v[np.isfinite(v)]
    if len(u) == 0 or len(v) == 0:
        nan = (float("nan"),) * 3
        return {"w1": nan, "ks": nan, "sep": nan}

    def statistics(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
        return wasserstein_1d(a, b), ks_statistic(a, b), separation_power(histogram(a, edges), histogram(b, edges))

    values = statistics(u, v)
    rng = np.random.default_rng(seed)
    replicates = np.array(
        [statistics(u[rng.integers(0, len(u), len(u))], v[rng.integers(0, len(v), len(v))]) for _ in range(n_bootstrap)]
    )
    return _with_intervals(("w1", "ks", "sep"), values, replicates)


def compare_histograms(
    generated_counts: np.ndarray,
    reference_counts: np.ndarray,
    *,
    bin_width: float = 1.0,
    n_bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int | np.random.SeedSequence = 0,
) -> dict[str, tuple[float, float, float]]:
    """Compare pooled distributions given as per-image count rows on shared unit-spaced bins.

    ``generated_counts`` is (N, B) and ``reference_counts`` (M, B); row sums are pooled. W1
    is sum |F_g - F_r| * bin_width over the bins and KS is max |F_g - F_r|, both exact for
    integer-valued data on consecutive integer bins.
    """
    g_rows = np.asarray(generated_counts, np.float64)
    r_rows = np.asarray(reference_counts, np.float64)

    def statistics(g: np.ndarray, r: np.ndarray) -> tuple[float, float, float]:
        if g.sum() == 0 or r.sum() == 0:
            return float("nan"), float("nan"), float("nan")
        cdf_g, cdf_r = np.cumsum(g) / g.sum(), np.cumsum(r) / r.sum()
        difference = np.abs(cdf_g - cdf_r)
        return float(difference[:-1].sum() * bin_width), float(difference.max()), separation_power(g, r)

    values = statistics(g_rows.sum(axis=0), r_rows.sum(axis=0))
    rng = np.random.default_rng(seed)
    replicates = []
    for _ in range(n_bootstrap):
        g_weights = np.bincount(rng.integers(0, len(g_rows), len(g_rows)), minlength=len(g_rows))
        r_weights = np.bincount(rng.integers(0, len(r_rows), len(r_rows)), minlength=len(r_rows))
        replicates.append(statistics(g_weights @ g_rows, r_weights @ r_rows))
    return _with_intervals(("w1", "ks", "sep"), values, np.array(replicates))


def percentile_interval(replicates: np.ndarray) -> tuple[float, float]:
    """Return the 68% percentile interval (16th, 84th percentile) of finite replicates."""
    finite = np.asarray(replicates, np.float64)
    finite = finite[np.isfinite(finite)]
    if len(finite) == 0:
        return float("nan"), float("nan")
    low, high = np.percentile(finite, INTERVAL_PERCENTILES)
    return float(low), float(high)


def centred_interval(value: float, replicates: np.ndarray) -> tuple[float, float]:
    """Return the 16-84% spread of replicates around their median, moved onto ``value``, clipped at 0."""
    finite = np.asarray(replicates, np.float64)
    finite = finite[np.isfinite(finite)]
    if len(finite) == 0 or not np.isfinite(value):
        return float("nan"), float("nan")
    low, middle, high = np.percentile(finite, (INTERVAL_PERCENTILES[0], 50.0, INTERVAL_PERCENTILES[1]))
    return float(max(value - (middle - low), 0.0)), float(value + (high - middle))


def _with_intervals(names, values, replicates) -> dict[str, tuple[float, float, float]]:
    result = {}
    for column, name in enumerate(names):
        low, high = centred_interval(values[column], replicates[:, column])
        result[name] = (float(values[column]), low, high)
    return result
