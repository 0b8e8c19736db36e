"""Samplers for score-based diffusion, each a small function with one call shape.

Every sampler is ``sampler(score_fn, sde, x, *, steps, noise, eps, callback, disable) -> x``:
``score_fn`` is a ``ScoreFunction`` (its ``evaluations`` counter records the cost), ``x`` is the
initial noise drawn from the SDE prior at t = 1 with shape (B, C, H, W), ``steps`` sets the time
grid, ``noise`` is a ``PerImageNoise`` source for stochastic samplers, ``eps`` is the final time,
``callback(step, x)`` receives every intermediate state and ``disable`` turns the progress bar off.
Stochastic samplers live here; deterministic ODE samplers live in ``ode_samplers``.
"""

from __future__ import annotations

from typing import Callable, Protocol

import torch
from tqdm.auto import tqdm

from . import ode_samplers
from .score import PerImageNoise, ScoreFunction
from .sde import SDE, broadcast_per_sample

StepCallback = Callable[[int, torch.Tensor], None]


class Sampler(Protocol):
    def __call__(
        self,
        score_fn: ScoreFunction,
        sde: SDE,
        x: torch.Tensor,
        *,
        steps: int,
        noise: PerImageNoise | None = None,
        eps: float = 1e-3,
        callback: StepCallback | None = None,
        disable: bool = True,
        **options: float,
    ) -> torch.Tensor: ...


def _require_noise(noise: PerImageNoise | None, sampler: str) -> PerImageNoise:
    if noise is None:
        raise ValueError(f"sampler {sampler!r} is stochastic and needs a PerImageNoise source; pass noise=PerImageNoise(seeds).")
    return noise


def _reverse_sde_step(score_fn: ScoreFunction, sde: SDE, x: torch.Tensor, t: torch.Tensor, dt: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the Euler-Maruyama mean x + [f x - g^2 score] dt (dt < 0) and g(t) sqrt(-dt)."""
    g = broadcast_per_sample(sde.diffusion(t), x)
    x_mean = x + (sde.drift(x, t) - g**2 * score_fn(x, t)) * dt
    return x_mean, g * (-dt) ** 0.5


@torch.no_grad()
def euler_maruyama(
    score_fn: ScoreFunction,
    sde: SDE,
    x: torch.Tensor,
    *,
    steps: int,
    noise: PerImageNoise | None = None,
    eps: float = 1e-3,
    callback: StepCallback | None = None,
    disable: bool = True,
) -> torch.Tensor:
    """Integrate the reverse-time SDE from t = 1 to ``eps`` with ``steps`` Euler-Maruyama steps.

    The last step returns the noise-free mean, as in Song et al. (arXiv:2011.13456).
    Costs ``steps`` score evaluations.
    """
    noise = _require_noise(noise, "euler_maruyama")
    times = torch.linspace(1.0, eps, steps, dtype=torch.float64)
    dt = -(1.0 - eps) / steps
    x_mean = x
    for index in tqdm(range(steps), desc="Euler-Maruyama", disable=disable, leave=False):
        t = times[index].to(x.dtype).expand(x.shape[0])
        x_mean, scale = _reverse_sde_step(score_fn, sde, x, t, dt)
        x = x_mean + scale * noise.randn_like(x)
        if callback is not None:
            callback(index, x)
    return x_mean


# Langevin corrector step size: 2 alpha (snr ||z|| / ||score||)^2 per image (Song et al., Algorithm 5)
def _langevin_correct(score_fn: ScoreFunction, x: torch.Tensor, t: torch.Tensor, noise: PerImageNoise, snr: float) -> torch.Tensor:
    score = score_fn(x, t)
    z = noise.randn_like(x)
    score_norm = score.flatten(1).norm(dim=1)
    z_norm = z.flatten(1).norm(dim=1)
    step = 2.0 * (snr * z_norm / score_norm.clamp_min(1e-12)) ** 2
    step = broadcast_per_sample(step, x)
    return x + step * score + torch.sqrt(2.0 * step) * z


@torch.no_grad()
def predictor_corrector(
    score_fn: ScoreFunction,
    sde: SDE,
    x: torch.Tensor,
    *,
    steps: int,
    noise: PerImageNoise | None = None,
    eps: float = 1e-3,
    callback: StepCallback | None = None,
    disable: bool = True,
    snr: float = 0.16,
    corrector_steps: int = 1,
) -> torch.Tensor:
    """Alternate ``corrector_steps`` Langevin corrector steps with one Euler-Maruyama predictor step.

    Costs ``steps * (1 + corrector_steps)`` score evaluations. NOTE: the corrector uses
    alpha = 1 in its step size for every SDE; score_sde uses the discrete DDPM alpha_i for VP,
    which differs from 1 by at most beta_max / steps.
    """
    noise = _require_noise(noise, "predictor_corrector")
    times = torch.linspace(1.0, eps, steps, dtype=torch.float64)
    dt = -(1.0 - eps) / steps
    x_mean = x
    for index in tqdm(range(steps), desc="predictor-corrector", disable=disable, leave=False):
        t = times[index].to(x.dtype).expand(x.shape[0])
        for _ in range(corrector_steps):
            x = _langevin_correct(score_fn, x, t, noise, snr)
        x_mean, scale = _reverse_sde_step(score_fn, sde, x, t, dt)
        x = x_mean + scale * noise.randn_like(x)
        if callback is not None:
            callback(index, x)
    return x_mean


@torch.no_grad()
def edm_stochastic(
    score_fn: ScoreFunction,
    sde: SDE,
    x: torch.Tensor,
    *,
    steps: int,
    noise: PerImageNoise | None = None,
    eps: float = 1e-3,
    callback: StepCallback | None = None,
    disable: bool = True,
    rho: float = 7.0,
    churn: float = 40.0,
    churn_min: float = 0.05,
    churn_max: float = 50.0,
    noise_inflation: float = 1.003,
) -> torch.Tensor:
    """Run the stochastic Heun sampler of Karras et al. (arXiv:2206.00364, Algorithm 2) on the EDM grid.

    Before each Heun step from sigma_i, noise raises the level to sigma_hat = sigma_i (1 + gamma),
    gamma = min(churn / steps, sqrt(2) - 1) while churn_min <= sigma_i <= churn_max and 0 elsewhere,
    with the added noise scaled by ``noise_inflation``. With churn = 0 it equals ``heun_edm``.
    Costs 2 steps - 1 score evaluations.
    """
    noise = _require_noise(noise, "edm_stochastic")
    sigmas = ode_samplers.edm_sigmas(sde, steps, eps, rho)
    gamma_max = min(churn / steps, 2**0.5 - 1)
    x_tilde = ode_samplers.to_edm(sde, x)
    for index in tqdm(range(steps), desc="stochastic Heun (EDM)", disable=disable, leave=False):
        sigma, sigma_next = float(sigmas[index]), float(sigmas[index + 1])
        gamma = gamma_max if churn_min <= sigma <= churn_max else 0.0
        sigma_hat = sigma * (1 + gamma)
        if gamma > 0:
            x_tilde = x_tilde + (sigma_hat**2 - sigma**2) ** 0.5 * noise_inflation * noise.randn_like(x_tilde)
        x_tilde = ode_samplers.heun_step(score_fn, x_tilde, sigma_hat, sigma_next)
        if callback is not None:
            callback(index, x_tilde)
    return x_tilde


@torch.no_grad()
def dpm_solver_2m_sde(
    score_fn: ScoreFunction,
    sde: SDE,
    x: torch.Tensor,
    *,
    steps: int,
    noise: PerImageNoise | None = None,
    eps: float = 1e-3,
    callback: StepCallback | None = None,
    disable: bool = True,
    rho: float = 7.0,
) -> torch.Tensor:
    """Run SDE-DPM-Solver++(2M) (Lu et al. 2022, arXiv:2211.01095) on the EDM grid; ``steps`` evaluations.

    Each step solves the reverse SDE's linear part exactly with the denoiser held at its
    second-order multistep extrapolation, then adds fresh noise; see ``ode_samplers.dpm_solver_2m_loop``.
    """
    noise = _require_noise(noise, "dpm_solver_2m_sde")
    return ode_samplers.dpm_solver_2m_loop(score_fn, sde, x, steps=steps, eps=eps, rho=rho, noise=noise,
                                          callback=callback, disable=disable)


SAMPLERS: dict[str, Sampler] = {
    "euler_maruyama": euler_maruyama,
    "predictor_corrector": predictor_corrector,
    "ode_rk45": ode_samplers.probability_flow_rk45,
    "ddim": ode_samplers.ddim,
    "dpm_solver_2m": ode_samplers.dpm_solver_2m,
    "heun_edm": ode_samplers.heun_edm,
    "edm_stochastic": edm_stochastic,
    "dpm_solver_2m_sde": dpm_solver_2m_sde,
}


def get_sampler(name: str) -> Sampler:
    """Return the sampler registered under ``name``; the error lists the known names."""
    if name not in SAMPLERS:
        raise KeyError(f"unknown sampler {name!r}; known samplers: {sorted(SAMPLERS)}.")
    return SAMPLERS[name]


def evaluations_per_image(name: str, steps: int, *, corrector_steps: int = 1) -> float | None:
    """Return the score evaluations a sampler spends per image, or None when adaptive (``ode_rk45``)."""
    get_sampler(name)
    if name == "predictor_corrector":
        return float(steps * (1 + corrector_steps))
    if name in ("heun_edm", "edm_stochastic"):
        return float(max(2 * steps - 1, 1))
    if name == "ode_rk45":
        return None
    return float(steps)


def is_stochastic(name: str) -> bool:
    return name in ("euler_maruyama", "predictor_corrector", "edm_stochastic", "dpm_solver_2m_sde")

