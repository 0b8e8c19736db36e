"""Samplers and the ODE likelihood of the sgm baseline on Gaussian data with an exact score.

For data x_0 ~ N(mu, s^2 I) the VP marginal is p_t = N(alpha mu, (alpha^2 s^2 + std^2) I), so
the score and the density are known in closed form at every time.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lartpcbench.models.sgm.likelihood import bits_per_dim, draw_probes, ode_log_likelihood
from lartpcbench.models.sgm.samplers import SAMPLERS, evaluations_per_image, get_sampler, is_stochastic
from lartpcbench.models.sgm.score import PerImageNoise, ScoreFunction, per_image_seeds
from lartpcbench.models.sgm.sde import SubVPSDE, VESDE, VPSDE

MEAN, SCALE = 0.3, 0.5
SHAPE = (1, 16, 16)


@pytest.fixture(autouse=True, scope="module")
def single_thread():
    """Run on one torch thread: on a shared 2-core machine, two threads per process oversubscribe the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)



def gaussian_noise_model(sde):
    """Return eps(x, t) = -std(t) * score for data N(MEAN, SCALE^2 I)."""

    def noise_model(x, t):
        alpha = sde.alpha(t)[:, None, None, None]
        std = sde.std(t)[:, None, None, None]
        variance = alpha**2 * SCALE**2 + std**2
        return std * (x - alpha * MEAN) / variance

    return noise_model


def run_sampler(name, sde, num_images, steps, *, seed=0, **options):
    score_fn = ScoreFunction(gaussian_noise_model(sde), sde)
    noise = PerImageNoise(per_image_seeds(seed, num_images))
    x = sde.prior_std * noise.randn(SHAPE)
    result = get_sampler(name)(score_fn, sde, x, steps=steps, noise=noise if is_stochastic(name) else None, **options)
    return result, score_fn.evaluations


CONVERGENCE_CASES = [
    ("euler_maruyama", 400, {}),
    ("predictor_corrector", 200, {}),
    ("ode_rk45", 0, {"rtol": 1e-4, "atol": 1e-4}),
    ("ddim", 200, {}),
    ("dpm_solver_2m", 25, {}),
    ("heun_edm", 25, {}),
    # The stochastic fast samplers converge more slowly: at 25 steps their std is still 7-8 % high
    ("edm_stochastic", 100, {"churn": 40.0}),
    ("dpm_solver_2m_sde", 100, {}),
]


@pytest.mark.parametrize("name, steps, options", CONVERGENCE_CASES, ids=[case[0] for case in CONVERGENCE_CASES])
def test_sampler_converges_on_gaussian(name, steps, options):
    samples, _ = run_sampler(name, VPSDE(), 400, steps, **options)
    values = samples.double().flatten()
    # 102,400 draws: the standard error of the mean is 0.0016 and of the std about 0.2 %
    assert abs(float(values.mean()) - MEAN) < 0.02
    assert abs(float(values.std()) / SCALE - 1) < 0.04


@pytest.mark.parametrize("sde", [SubVPSDE(), VESDE(0.01, 20.0)], ids=["subvp", "ve"])
def test_heun_converges_for_other_sdes(sde):
    samples, _ = run_sampler("heun_edm", sde, 200, 30)
    assert abs(float(samples.mean()) - MEAN) < 0.02
    assert abs(float(samples.std()) / SCALE - 1) < 0.04


def test_edm_stochastic_without_churn_is_heun():
    stochastic, _ = run_sampler("edm_stochastic", VPSDE(), 8, 10, churn=0.0)
    heun, _ = run_sampler("heun_edm", VPSDE(), 8, 10)
    assert torch.equal(stochastic, heun)
    churned, _ = run_sampler("edm_stochastic", VPSDE(), 8, 10, churn=40.0)
    assert not torch.allclose(churned, heun)


def test_higher_order_error_shrinks_with_steps():
    """The deterministic map of a Gaussian is exact, so the error is the discretisation error."""
    reference, _ = run_sampler("ode_rk45", VPSDE(), 64, 0, rtol=1e-7, atol=1e-7)
    errors = {steps: float((run_sampler("heun_edm", VPSDE(), 64, steps)[0] - reference).abs().max()) for steps in (8, 32)}
    assert errors[32] < errors[8] / 4


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_sampler_seed_determinism_and_batch_independence(name):
    steps = 0 if name == "ode_rk45" else 12
    options = {"rtol": 1e-6, "atol": 1e-6} if name == "ode_rk45" else {}
    whole, _ = run_sampler(name, VPSDE(), 6, steps, seed=5, **options)
    again, _ = run_sampler(name, VPSDE(), 6, steps, seed=5, **options)
    other_seed, _ = run_sampler(name, VPSDE(), 6, steps, seed=6, **options)
    assert torch.equal(whole, again)
    assert not torch.allclose(whole, other_seed)

    # Images 3..5 sampled alone receive the same noise as inside the batch of 6
    sde = VPSDE()
    seeds = per_image_seeds(5, 6)[3:]
    noise = PerImageNoise(seeds)
    x = noise.randn(SHAPE)
    part = get_sampler(name)(ScoreFunction(gaussian_noise_model(sde), sde), sde, x, steps=steps,
                             noise=noise if is_stochastic(name) else None, **options)
    tolerance = 1e-4 if name == "ode_rk45" else 1e-6
    assert torch.allclose(part, whole[3:], atol=tolerance)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_sampler_counts_score_evaluations(name):
    steps = 7
    _, evaluations = run_sampler(name, VPSDE(), 3, steps, **({"rtol": 1e-3, "atol": 1e-3} if name == "ode_rk45" else {}))
    expected = evaluations_per_image(name, steps)
    if expected is None:
        assert evaluations >= 6
    else:
        assert evaluations == expected


def test_per_image_seeds_do_not_depend_on_count():
    assert np.array_equal(per_image_seeds(11, 10)[:4], per_image_seeds(11, 4))
    assert len(set(per_image_seeds(11, 1000).tolist())) == 1000


def test_unknown_sampler_lists_known_names():
    with pytest.raises(KeyError, match="euler_maruyama"):
        get_sampler("euler")


def exact_log_density(sde, x, eps):
    """Return log p_eps(x) for data N(MEAN, SCALE^2 I): p_eps = N(alpha mu, (alpha^2 s^2 + std^2) I)."""
    t = torch.tensor([eps], dtype=torch.float64)
    alpha, std = float(sde.alpha(t)), float(sde.std(t))
    variance = alpha**2 * SCALE**2 + std**2
    squared = (x.double() - alpha * MEAN).pow(2).flatten(1).sum(dim=1)
    return -0.5 * x[0].numel() * math.log(2 * math.pi * variance) - squared / (2 * variance)


def test_ode_likelihood_matches_gaussian_density():
    # beta_max = 40 makes p_1 equal the N(0, I) prior to 1e-8, which the method assumes
    sde = VPSDE(0.1, 40.0)
    generator = torch.Generator().manual_seed(4)
    x = MEAN + SCALE * torch.randn((5, *SHAPE), generator=generator, dtype=torch.float64)
    probes = draw_probes(x.shape, "rademacher", generator)
    log_prob, evaluations = ode_log_likelihood(ScoreFunction(gaussian_noise_model(sde), sde), sde, x, probes=probes,
                                               eps=1e-5, rtol=1e-6, atol=1e-6)
    # Rademacher probes make Hutchinson's estimate exact here because the Jacobian is a multiple of I
    assert torch.allclose(log_prob, exact_log_density(sde, x, 1e-5), atol=1e-3)
    assert evaluations > 10


def test_ode_likelihood_gaussian_probes_unbiased():
    sde = VPSDE(0.1, 40.0)
    generator = torch.Generator().manual_seed(5)
    x = (MEAN + SCALE * torch.randn((1, *SHAPE), generator=generator, dtype=torch.float64)).repeat(64, 1, 1, 1)
    probes = draw_probes(x.shape, "gaussian", generator).double()
    log_prob, _ = ode_log_likelihood(ScoreFunction(gaussian_noise_model(sde), sde), sde, x, probes=probes,
                                     eps=1e-5, rtol=1e-6, atol=1e-6)
    exact = float(exact_log_density(sde, x[:1], 1e-5))
    standard_error = float(log_prob.std()) / math.sqrt(64)
    assert float(log_prob.std()) > 0.1
    assert abs(float(log_prob.mean()) - exact) < 4 * standard_error


def test_bits_per_dim_offset():
    """A uniform density on [-1, 1]^D has log p = -D log 2, which is exactly 8 bits per 8-bit pixel."""
    dims = 16
    log_prob = torch.tensor([-dims * math.log(2.0)], dtype=torch.float64)
    assert torch.allclose(bits_per_dim(log_prob, dims, scale_offset_bits=7.0), torch.tensor([8.0], dtype=torch.float64))
