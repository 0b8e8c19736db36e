"""SDEs and the denoising score-matching loss of the sgm baseline against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from lartpcbench.models.sgm.losses import denoising_score_matching_loss
from lartpcbench.models.sgm.sde import SubVPSDE, VESDE, VPSDE

SDES = {"vp": VPSDE(0.1, 20.0), "subvp": SubVPSDE(0.1, 20.0), "ve": VESDE(0.01, 50.0)}
TIMES = torch.tensor([1e-3, 0.1, 0.37, 0.8, 1.0], dtype=torch.float64)


@pytest.fixture(autouse=True, scope="module")
def single_thread():
    """Run on one torch thread: on a shared 2-core machine, two threads per process oversubscribe the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)



def test_vp_marginals_closed_form():
    sde = SDES["vp"]
    integrated = 0.1 * TIMES + 0.5 * 19.9 * TIMES**2
    assert torch.allclose(sde.alpha(TIMES), torch.exp(-0.5 * integrated))
    assert torch.allclose(sde.std(TIMES), torch.sqrt(1 - torch.exp(-integrated)))
    assert math.isclose(float(sde.std(torch.tensor(1.0, dtype=torch.float64))) ** 2, 1 - math.exp(-10.05), rel_tol=1e-12)


def test_subvp_and_ve_marginals_closed_form():
    integrated = 0.1 * TIMES + 0.5 * 19.9 * TIMES**2
    assert torch.allclose(SDES["subvp"].std(TIMES), 1 - torch.exp(-integrated))
    assert torch.allclose(SDES["subvp"].alpha(TIMES), torch.exp(-0.5 * integrated))
    assert torch.allclose(SDES["ve"].std(TIMES), 0.01 * (50.0 / 0.01) ** TIMES)
    assert torch.allclose(SDES["ve"].alpha(TIMES), torch.ones_like(TIMES))


@pytest.mark.parametrize("kind", sorted(SDES))
def test_marginals_solve_moment_equations(kind):
    """d alpha/dt = f alpha and d var/dt = 2 f var + g^2 for the linear SDE dx = f x dt + g dw."""
    sde = SDES[kind]
    t = torch.linspace(0.05, 0.95, 7, dtype=torch.float64)
    h = 1e-6
    alpha_rate = (sde.alpha(t + h) - sde.alpha(t - h)) / (2 * h)
    variance_rate = (sde.std(t + h) ** 2 - sde.std(t - h) ** 2) / (2 * h)
    f, g = sde.drift_coefficient(t), sde.diffusion(t)
    assert torch.allclose(alpha_rate, f * sde.alpha(t), rtol=1e-6)
    assert torch.allclose(variance_rate, 2 * f * sde.std(t) ** 2 + g**2, rtol=1e-5)


@pytest.mark.parametrize("kind", sorted(SDES))
def test_t_from_sigma_inverts_sigma(kind):
    sde = SDES[kind]
    assert torch.allclose(sde.t_from_sigma(sde.sigma(TIMES)), TIMES, rtol=1e-9, atol=1e-12)


def test_vp_forward_simulation_matches_marginal():
    sde = SDES["vp"]
    generator = torch.Generator().manual_seed(0)
    x = torch.full((10000, 1), 1.5, dtype=torch.float64)
    steps, end = 200, 0.5
    dt = end / steps
    for index in range(steps):
        t = torch.full((x.shape[0],), index * dt, dtype=torch.float64)
        noise = torch.randn(x.shape, generator=generator, dtype=torch.float64)
        x = x + sde.drift(x, t) * dt + sde.diffusion(t)[:, None] * math.sqrt(dt) * noise
    t_end = torch.tensor([end], dtype=torch.float64)
    # 10,000 paths: the standard error of the mean is about 0.01 and of the std about 0.007
    assert abs(float(x.mean()) - 1.5 * float(sde.alpha(t_end))) < 0.03
    assert abs(float(x.std()) - float(sde.std(t_end))) < 0.025


@pytest.mark.parametrize("kind", sorted(SDES))
def test_prior_log_prob_matches_scipy(kind):
    sde = SDES[kind]
    z = sde.prior_sample((3, 1, 4, 4), generator=torch.Generator().manual_seed(1)).double()
    expected = stats.norm(scale=sde.prior_std).logpdf(z.flatten(1).numpy()).sum(axis=1)
    assert np.allclose(sde.prior_log_prob(z).numpy(), expected)


def test_loss_zero_for_exact_noise_model():
    """For data at 0, x_t = std(t) z, so eps(x, t) = x / std(t) recovers z and the loss is 0."""
    sde = SDES["vp"]
    generator = torch.Generator().manual_seed(2)
    x0 = torch.zeros(6, 1, 8, 8)
    t = torch.rand(6, generator=generator) * 0.9 + 0.05
    z = torch.randn(x0.shape, generator=generator)
    exact = lambda x, time: x / sde.std(time)[:, None, None, None]  # noqa: E731
    assert float(denoising_score_matching_loss(exact, sde, x0, t, z)) < 1e-10


@pytest.mark.parametrize("likelihood_weighting", [False, True])
def test_loss_of_zero_model_on_tiny_batch(likelihood_weighting):
    sde = SDES["subvp"]
    generator = torch.Generator().manual_seed(3)
    x0 = torch.rand(4, 1, 8, 8, generator=generator) * 2 - 1
    t = torch.tensor([0.1, 0.3, 0.6, 0.9])
    z = torch.randn(x0.shape, generator=generator)
    zero = lambda x, time: torch.zeros_like(x)  # noqa: E731
    per_image = z.pow(2).flatten(1).mean(dim=1)
    if likelihood_weighting:
        per_image = per_image * (sde.diffusion(t) / sde.std(t)) ** 2
    loss = denoising_score_matching_loss(zero, sde, x0, t, z, likelihood_weighting=likelihood_weighting)
    assert torch.isclose(loss, per_image.mean(), rtol=1e-6)


def test_edm_preconditioning_matches_definition():
    """eps = (x~ - D) / sigma with D = c_skip x~ + c_out F(c_in x~), c_skip = sd^2 / (s^2 + sd^2), c_out = s sd / sqrt(s^2 + sd^2)."""
    from lartpcbench.models.sgm.generator import noise_model_for

    sde, sigma_data = SDES["vp"], 0.5
    generator = torch.Generator().manual_seed(5)
    output = torch.randn(3, 1, 8, 8, generator=generator)
    seen = {}

    def network(inputs, label, class_labels):
        seen["inputs"] = inputs
        return output

    x = torch.randn(3, 1, 8, 8, generator=generator)
    t = torch.tensor([0.05, 0.5, 0.95])
    eps = noise_model_for(network, sde, None, False, sigma_data)(x, t)
    sigma = sde.sigma(t)[:, None, None, None]
    x_tilde = x / sde.alpha(t)[:, None, None, None]
    c_skip = sigma_data**2 / (sigma**2 + sigma_data**2)
    c_out = sigma * sigma_data / torch.sqrt(sigma**2 + sigma_data**2)
    denoised = c_skip * x_tilde + c_out * output
    assert torch.allclose(eps, (x_tilde - denoised) / sigma, rtol=1e-4, atol=1e-5)
    assert torch.allclose(seen["inputs"], x_tilde / torch.sqrt(sigma**2 + sigma_data**2), rtol=1e-5)


@pytest.mark.parametrize("time_sampling", ["uniform", "lognormal"])
def test_draw_batch_time_distribution(time_sampling):
    from lartpcbench.models.sgm.config import SDEConfig
    from lartpcbench.models.sgm.training import draw_batch

    sde, config = SDES["vp"], SDEConfig(time_sampling=time_sampling)
    images = torch.zeros((4, 64, 64), dtype=torch.uint8)
    batch = draw_batch(torch.Generator().manual_seed(0), images, None, batch_size=4000, sde=sde, sde_config=config,
                       random_flip=True, label_dropout=0.0, null_class=0)
    assert float(batch.t.min()) >= config.train_eps
    assert float(batch.t.max()) <= 1.0
    median_log_sigma = float(torch.log(sde.sigma(batch.t)).median())
    if time_sampling == "lognormal":
        assert abs(median_log_sigma - (-1.2)) < 0.1
    else:
        # The median time 0.5 has B(0.5) = 0.05 + 19.9 / 8 and sigma = sqrt(exp(B) - 1), about 3.4
        assert abs(median_log_sigma - 0.5 * math.log(math.expm1(0.05 + 19.9 / 8))) < 0.1
