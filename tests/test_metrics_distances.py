"""Distance estimators against closed forms, scipy and brute-force references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import cdist

from lartpcbench.bench.metrics import distributions, frechet, kernels, prdc, transport


def gaussian_pair(seed: int = 0):
    rng = np.random.default_rng(seed)
    dim = 4
    mean_1, mean_2 = rng.normal(size=dim), rng.normal(size=dim)
    var_1, var_2 = rng.uniform(0.5, 2.0, dim), rng.uniform(0.5, 2.0, dim)
    # Closed form for diagonal covariances: |m1 - m2|^2 + sum (sqrt(v1) - sqrt(v2))^2.
    exact = np.sum((mean_1 - mean_2) ** 2) + np.sum((np.sqrt(var_1) - np.sqrt(var_2)) ** 2)
    return (mean_1, var_1), (mean_2, var_2), exact


def test_frechet_distance_closed_form():
    (mean_1, var_1), (mean_2, var_2), exact = gaussian_pair()
    value = frechet.frechet_distance(mean_1, np.diag(var_1), mean_2, np.diag(var_2))
    assert value == pytest.approx(exact, rel=1e-10)


def test_frechet_distance_rotated_covariance():
    rng = np.random.default_rng(3)
    rotation, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    cov_1 = rotation @ np.diag([1.0, 2.0, 3.0]) @ rotation.T
    # Commuting covariances (same eigenvectors): the trace term has a closed form too.
    cov_2 = rotation @ np.diag([4.0, 1.0, 0.25]) @ rotation.T
    exact = np.sum((np.sqrt([1.0, 2.0, 3.0]) - np.sqrt([4.0, 1.0, 0.25])) ** 2)
    assert frechet.frechet_distance(np.zeros(3), cov_1, np.zeros(3), cov_2) == pytest.approx(exact, rel=1e-9)


def test_frechet_extrapolation_removes_bias():
    (mean_1, var_1), (mean_2, var_2), exact = gaussian_pair(1)
    rng = np.random.default_rng(7)
    samples = rng.normal(mean_1, np.sqrt(var_1), size=(4000, 4))
    fit = frechet.frechet_distance_extrapolated(samples, mean_2, np.diag(var_2), seed=0)
    assert abs(fit["fd_inf"] - exact) < 0.05 * exact + 3 * fit["fd_inf_se"]


def test_frechet_real_vs_real_floor():
    rng = np.random.default_rng(2)
    reference = rng.normal(size=(5000, 8))
    generated = rng.normal(size=(5000, 8))
    fit = frechet.frechet_distance_extrapolated(generated, *frechet.gaussian_statistics(reference), seed=0)
    assert abs(fit["fd_inf"]) < 0.01
    # Between equal distributions FD(N) is pure finite-sample bias c / N with c > 0.
    assert fit["slope"] > 0
    assert fit["fd_full"] > abs(fit["fd_inf"])


def brute_force_mmd2(x, y, kernel_of_pair):
    m, n = len(x), len(y)
    xx = sum(kernel_of_pair(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(kernel_of_pair(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(kernel_of_pair(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_polynomial_mmd_matches_brute_force():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(12, 3)), rng.normal(0.5, 1.0, size=(9, 3))
    expected = brute_force_mmd2(x, y, lambda a, b: (a @ b / 3 + 1) ** 3)
    assert kernels.mmd2_unbiased(x, y, kernels.polynomial_kernel) == pytest.approx(expected, rel=1e-10)


def test_gaussian_mixture_mmd_matches_brute_force():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(8, 50)).astype(np.float64)
    y = rng.integers(0, 128, size=(7, 50)).astype(np.float64)

    def mixture(a, b):
        squared = np.sum((a - b) ** 2)
        return np.mean([np.exp(-squared / (2 * sigma**2)) for sigma in 2.0 ** np.arange(10, 16)])

    expected = brute_force_mmd2(x, y, mixture)
    assert kernels.mmd2_unbiased(x, y, kernels.gaussian_mixture_kernel) == pytest.approx(expected, rel=1e-8)


def test_batched_mmd_floor_and_seed():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(600, 5)), rng.normal(size=(600, 5))
    shifted = rng.normal(0.5, 1.0, size=(600, 5))
    same = kernels.batched_mmd2(x, y, kernels.polynomial_kernel, batch_size=200, n_batches=5, seed=1)
    different = kernels.batched_mmd2(x, shifted, kernels.polynomial_kernel, batch_size=200, n_batches=5, seed=1)
    assert abs(np.median(same)) < 0.2 * np.median(different)
    again = kernels.batched_mmd2(x, y, kernels.polynomial_kernel, batch_size=200, n_batches=5, seed=1)
    np.testing.assert_array_equal(same, again)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wasserstein_1d_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    u, v = rng.exponential(size=300), rng.normal(1.0, 2.0, size=170)
    assert distributions.wasserstein_1d(u, v) == pytest.approx(stats.wasserstein_distance(u, v), rel=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ks_statistic_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    u, v = rng.integers(0, 20, size=250).astype(float), rng.integers(2, 22, size=180).astype(float)
    assert distributions.ks_statistic(u, v) == pytest.approx(stats.ks_2samp(u, v).statistic, abs=1e-12)


def test_separation_power_by_hand():
    # p = (0.5, 0.5, 0), q = (0.25, 0.25, 0.5): 1/2 [2 * 0.0625 / 0.75 + 0.25 / 0.5] = 1/12 + 1/4.
    assert distributions.separation_power([2, 2, 0], [1, 1, 2]) == pytest.approx(1 / 12 + 1 / 4)
    assert distributions.separation_power([1, 0], [0, 3]) == pytest.approx(1.0)
    assert distributions.separation_power([3, 1], [6, 2]) == pytest.approx(0.0)


def test_compare_histograms_matches_sample_statistics():
    rng = np.random.default_rng(5)
    u, v = rng.integers(0, 30, size=400), rng.integers(5, 30, size=300)
    # One value per "image": count rows are one-hot.
    u_rows, v_rows = np.eye(30)[u], np.eye(30)[v]
    result = distributions.compare_histograms(u_rows, v_rows, n_bootstrap=20, seed=0)
    assert result["w1"][0] == pytest.approx(stats.wasserstein_distance(u, v), rel=1e-10)
    assert result["ks"][0] == pytest.approx(stats.ks_2samp(u, v).statistic, abs=1e-12)
    assert result["w1"][1] <= result["w1"][0] * 1.5
    assert result["w1"][1] <= result["w1"][2]


def test_compare_samples_intervals_and_floor():
    rng = np.random.default_rng(6)
    u, v = rng.normal(size=2000), rng.normal(size=2000)
    shifted = rng.normal(0.3, 1.0, size=2000)
    edges = distributions.histogram_edges(v)
    same = distributions.compare_samples(u, v, edges=edges, n_bootstrap=50, seed=0)
    different = distributions.compare_samples(shifted, v, edges=edges, n_bootstrap=50, seed=0)
    assert same["w1"][0] < 0.1
    assert different["w1"][0] == pytest.approx(0.3, abs=0.08)
    assert different["w1"][1] <= different["w1"][0] <= different["w1"][2]
    assert same["ks"][0] < different["ks"][0]


def test_histogram_edges_integer_and_clipping():
    edges = distributions.histogram_edges(np.array([1, 2, 3, 5]), integer=True)
    np.testing.assert_allclose(edges, np.arange(0.5, 6.0, 1.0))
    counts = distributions.histogram(np.array([-10.0, 1.0, 100.0, np.nan]), edges)
    assert counts.sum() == 3
    assert counts[0] == 2
    assert counts[-1] == 1


def test_wasserstein_pixels_translation_exact():
    rng = np.random.default_rng(8)
    x = rng.integers(0, 200, size=(30, 8, 8)).astype(np.float64)
    shift = np.full((8, 8), 3.0)
    # For a Euclidean ground cost, W1 between a set and its translate equals |shift|.
    assert transport.wasserstein_pixels(x, x + shift) == pytest.approx(np.linalg.norm(shift), rel=1e-9)


def test_wasserstein_pixels_matches_assignment():
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(9)
    x, y = rng.integers(0, 255, size=(25, 64)), rng.integers(0, 255, size=(25, 64))
    cost = cdist(x.astype(float), y.astype(float))
    rows, cols = linear_sum_assignment(cost)
    assert transport.wasserstein_pixels(x, y) == pytest.approx(cost[rows, cols].mean(), rel=1e-9)
    sinkhorn = transport.sinkhorn_pixels(x, y)
    assert cost[rows, cols].mean() - 1e-6 <= sinkhorn <= 1.1 * cost[rows, cols].mean()


def brute_force_prdc(real, fake, k):
    real_real, fake_fake, real_fake = cdist(real, real), cdist(fake, fake), cdist(real, fake)
    real_radius = np.sort(real_real, axis=1)[:, k]
    fake_radius = np.sort(fake_fake, axis=1)[:, k]
    precision = np.mean([(real_fake[:, j] <= real_radius).any() for j in range(len(fake))])
    recall = np.mean([(real_fake[i, :] <= fake_radius).any() for i in range(len(real))])
    density = np.mean([(real_fake[:, j] <= real_radius).sum() / k for j in range(len(fake))])
    coverage = np.mean([real_fake[i].min() <= real_radius[i] for i in range(len(real))])
    return {"precision": precision, "recall": recall, "density": density, "coverage": coverage}


def test_prdc_matches_brute_force(monkeypatch):
    monkeypatch.setattr(prdc, "BLOCK_ROWS", 37)
    rng = np.random.default_rng(10)
    real, fake = rng.normal(size=(150, 6)), rng.normal(0.4, 1.2, size=(120, 6))
    expected = brute_force_prdc(real, fake, 5)
    result = prdc.prdc(real, fake, k=5)
    for name, value in expected.items():
        assert result[name] == pytest.approx(value, abs=1e-12), name


def test_prdc_real_vs_real_floor():
    rng = np.random.default_rng(11)
    real, fake = rng.normal(size=(1500, 4)), rng.normal(size=(1500, 4))
    result = prdc.prdc(real, fake)
    assert result["precision"] > 0.9
    assert result["recall"] > 0.9
    assert result["density"] == pytest.approx(1.0, abs=0.1)
    assert result["coverage"] > 0.9


def test_small_sets_use_half_size_batches():
    assert kernels.batch_size_for(10_000, 1000) == 1000
    assert kernels.batch_size_for(1000, 1000) == 500
    assert kernels.batch_size_for(3, 1000) == 2
    rng = np.random.default_rng(12)
    x, y = rng.normal(size=(100, 3)), rng.normal(size=(100, 3))
    values = kernels.batched_mmd2(x, y, kernels.polynomial_kernel, batch_size=1000, n_batches=4, seed=0)
    # Half-size batches differ, so the batch spread is not zero.
    assert np.ptp(values) > 0
