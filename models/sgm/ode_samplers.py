"""Deterministic samplers of the probability-flow ODE, with the call shape of ``samplers``.

``probability_flow_rk45`` integrates dx/dt = f(t) x - g(t)^2 score / 2 in the SDE's own time with
scipy's adaptive RK45. The fixed-step samplers work in the EDM variables (Karras et al. 2022,
arXiv:2206.00364) x~ = x / alpha(t) and sigma(t) = std(t) / alpha(t), where the same ODE reads
dx~/dsigma = (x~ - D(x~; sigma)) / sigma for every SDE here. Their grids hold ``steps`` noise
levels from sigma(1) to sigma(eps) followed by sigma = 0, whose state is the data prediction.
``noise`` is accepted for the shared call shape and unused.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from scipy.integrate import solve_ivp
from tqdm.auto import tqdm

from .score import PerImageNoise, ScoreFunction
from .sde import SDE, broadcast_per_sample

StepCallback = Callable[[int, torch.Tensor], None]


def probability_flow_drift(score_fn: ScoreFunction, sde: SDE, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Return the probability-flow ODE velocity f(t) x - g(t)^2 score(x, t) / 2."""
    g = broadcast_per_sample(sde.diffusion(t), x)
    return sde.drift(x, t) - 0.5 * g**2 * score_fn(x, t)


@torch.no_grad()
def probability_flow_rk45(
    score_fn: ScoreFunction,
    sde: SDE,
    x: torch.Tensor,
    *,
    steps: int = 0,
    noise: PerImageNoise | None = None,
    eps: float = 1e-3,
    callback: StepCallback | None = None,
    disable: bool = True,
    rtol: float = 1e-5,
    atol: float = 1e-5,
) -> torch.Tensor:
    """Integrate the probability-flow ODE from t = 1 to ``eps`` with adaptive RK45; ``steps`` is unused.

    NOTE: it returns x(eps) without a final denoising step, unlike the fixed-step samplers here,
    which end with the data prediction at sigma = 0, so its samples keep noise of std(eps).

    NOTE: the step-size control uses the error of the whole batch, so results depend on the batch's other
    images up to the solver tolerance.
    """
    shape, dtype = x.shape, x.dtype
    progress = tqdm(desc="RK45 evaluations", disable=disable, leave=False)

    def velocity(time: float, state: np.ndarray) -> np.ndarray:
        current = torch.from_numpy(state).reshape(shape).to(dtype)
        t = torch.full((shape[0],), time, dtype=dtype)
        progress.update(1)
        return probability_flow_drift(score_fn, sde, current, t).double().flatten().numpy()

    solution = solve_ivp(velocity, (1.0, eps), x.double().flatten().numpy(), method="RK45", rtol=rtol, atol=atol)
    progress.close()
    if not solution.success:
        raise RuntimeError(f"RK45 failed on the probability-flow ODE: {solution.message}")
    result = torch.from_numpy(solution.y[:, -1]).reshape(shape).to(dtype)
    if callback is not None:
        callback(solution.nfev, result)
    return result


def edm_sigmas(sde: SDE, steps: int, eps: float, rho: float = 7.0) -> torch.Tensor:
    """Return the EDM grid sigma_i = (s_max^(1/rho) + i/(N-1) (s_min^(1/rho) - s_max^(1/rho)))^rho, then 0."""
    ends = sde.sigma(torch.tensor([1.0, eps], dtype=torch.float64))
    sigma_max, sigma_min = float(ends[0]), float(ends[1])
    ramp = torch.linspace(0, 1, steps, dtype=torch.float64) if steps > 1 else torch.zeros(1, dtype=torch.float64)
    sigmas = (sigma_max ** (1 / rho) + ramp * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho
    return torch.cat([sigmas, torch.zeros(1, dtype=torch.float64)])


def uniform_time_sigmas(sde: SDE, steps: int, eps: float) -> torch.Tensor:
    """Return sigma(t) on ``steps`` uniformly spaced times from 1 to ``eps`` (the DDIM grid), then 0."""
    times = torch.linspace(1.0, eps, steps, dtype=torch.float64)
    return torch.cat([sde.sigma(times), torch.zeros(1, dtype=torch.float64)])


def denoise(score_fn: ScoreFunction, x_tilde: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    return score_fn.denoise(x_tilde, sigma.to(x_tilde.dtype).expand(x_tilde.shape[0]))


def to_edm(sde: SDE, x: torch.Tensor) -> torch.Tensor:
    """Return x~ = x / alpha(1) for the prior sample x at t = 1."""
    return x / float(sde.alpha(torch.tensor(1.0, dtype=torch.float64)))


@torch.no_grad()
def ddim(
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
    """Run deterministic DDIM (eta = 0) on uniformly spaced times; ``steps`` score evaluations.

    DDIM update (Song, Meng, Ermon 2021): x~_next = D + (sigma_next / sigma) (x~ - D).
    """
    sigmas = uniform_time_sigmas(sde, steps, eps)
    x_tilde = to_edm(sde, x)
    for index in tqdm(range(steps), desc="DDIM", disable=disable, leave=False):
        denoised = denoise(score_fn, x_tilde, sigmas[index])
        ratio = float(sigmas[index + 1] / sigmas[index])
        x_tilde = denoised + ratio * (x_tilde - denoised)
        if callback is not None:
            callback(index, x_tilde)
    return x_tilde


@torch.no_grad()
def dpm_solver_2m(
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
    """Run DPM-Solver++(2M) (Lu et al. 2022, arXiv:2211.01095) on the EDM grid; ``steps`` evaluations."""
    return dpm_solver_2m_loop(score_fn, sde, x, steps=steps, eps=eps, rho=rho, noise=None, callback=callback,
                              disable=disable)


def dpm_solver_2m_loop(score_fn: ScoreFunction, sde: SDE, x: torch.Tensor, *, steps: int, eps: float, rho: float,
                       noise: PerImageNoise | None, callback: StepCallback | None, disable: bool) -> torch.Tensor:
    """Run DPM-Solver++(2M) on the EDM grid: its ODE form without ``noise``, its SDE form with it.

    In lambda = -log sigma with step h and eta = 0 (ODE) or 1 (SDE), each step is
    x~' = (sigma'/sigma) e^(-eta h) x~ + (1 - e^(-(1 + eta) h)) D_hat + sigma' sqrt(1 - e^(-2 eta h)) z,
    where D_hat adds the multistep correction (D - D_prev) / (2 r), r = h_prev / h, to the denoiser D.
    """
    eta = 0.0 if noise is None else 1.0
    sigmas = edm_sigmas(sde, steps, eps, rho)
    x_tilde = to_edm(sde, x)
    previous_denoised, previous_h = None, None
    description = "DPM-Solver++(2M)" if noise is None else "SDE-DPM-Solver++(2M)"
    for index in tqdm(range(steps), desc=description, disable=disable, leave=False):
        sigma, sigma_next = sigmas[index], sigmas[index + 1]
        denoised = denoise(score_fn, x_tilde, sigma)
        if sigma_next == 0:
            x_tilde = denoised
        else:
            h = float(torch.log(sigma / sigma_next))
            corrected = denoised
            if previous_denoised is not None:
                corrected = denoised + (denoised - previous_denoised) * h / (2 * previous_h)
            weight = -float(np.expm1(-(1 + eta) * h))
            x_tilde = float(sigma_next / sigma) * float(np.exp(-eta * h)) * x_tilde + weight * corrected
            if noise is not None:
                x_tilde = x_tilde + float(sigma_next) * float(-np.expm1(-2 * h)) ** 0.5 * noise.randn_like(x_tilde)
            previous_h = h
        previous_denoised = denoised
        if callback is not None:
            callback(index, x_tilde)
    return x_tilde


@torch.no_grad()
def heun_edm(
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
    """Run Heun's second-order method on the EDM grid (Karras et al., Algorithm 1); 2 steps - 1 evaluations."""
    sigmas = edm_sigmas(sde, steps, eps, rho)
    x_tilde = to_edm(sde, x)
    for index in tqdm(range(steps), desc="Heun (EDM)", disable=disable, leave=False):
        x_tilde = heun_step(score_fn, x_tilde, float(sigmas[index]), float(sigmas[index + 1]))
        if callback is not None:
            callback(index, x_tilde)
    return x_tilde


def heun_step(score_fn: ScoreFunction, x_tilde: torch.Tensor, sigma: float, sigma_next: float) -> torch.Tensor:
    """Take one Heun step of dx~/dsigma = (x~ - D) / sigma from ``sigma`` to ``sigma_next``.

    The trapezoidal correction is skipped on a final step to sigma = 0, where the Euler step
    returns the data prediction D.
    """
    slope = (x_tilde - denoise(score_fn, x_tilde, torch.tensor(sigma, dtype=torch.float64))) / sigma
    x_next = x_tilde + (sigma_next - sigma) * slope
    if sigma_next > 0:
        slope_next = (x_next - denoise(score_fn, x_next, torch.tensor(sigma_next, dtype=torch.float64))) / sigma_next
        x_next = x_tilde + (sigma_next - sigma) * 0.5 * (slope + slope_next)
    return x_next
