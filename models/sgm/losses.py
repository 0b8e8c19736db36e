"""Continuous-time denoising score matching (Song et al. 2021, arXiv:2011.13456, Eq. 7)."""

from __future__ import annotations

from typing import Callable

import torch

from .sde import SDE, broadcast_per_sample


def denoising_score_matching_loss(
    noise_model: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    sde: SDE,
    x0: torch.Tensor,
    t: torch.Tensor,
    z: torch.Tensor,
    *,
    likelihood_weighting: bool = False,
    sigma_data: float | None = None,
) -> torch.Tensor:
    """Return the batch mean of lambda(t) E_dims ||std(t) score + z||^2 for x_t = alpha(t) x0 + std(t) z.

    With score = -eps / std(t) the residual is z - eps(x_t, t). The default weight
    lambda(t) = std(t)^2 balances noise levels; ``likelihood_weighting`` uses lambda(t) = g(t)^2
    instead, which makes the loss a bound on the negative log-likelihood (Song et al. 2021,
    arXiv:2101.09258). With ``sigma_data`` set, lambda(t) = std(t)^2 (sigma^2 + sigma_data^2) / sigma_data^2
    with sigma = std / alpha, the EDM weighting (Karras et al., arXiv:2206.00364), under which
    the preconditioned network's output error counts alike at every noise level.
    ``t`` (B,) and ``z`` (like ``x0``) come from the caller's generator.
    """
    mean, std = sde.marginal(x0, t)
    x_t = mean + broadcast_per_sample(std, x0) * z
    residual = (noise_model(x_t, t) - z).pow(2).flatten(1).mean(dim=1)

    # Likelihood weighting: g(t)^2 ||score + z / std||^2 = (g(t) / std(t))^2 ||z - eps||^2
    if likelihood_weighting:
        residual = residual * (sde.diffusion(t) / std) ** 2

    # EDM weighting: ||D - x0||^2 = sigma^2 ||eps - z||^2 and lambda_EDM = (sigma^2 + sigma_data^2) / (sigma sigma_data)^2
    elif sigma_data is not None:
        sigma = sde.sigma(t)
        residual = residual * (sigma**2 + sigma_data**2) / sigma_data**2
    return residual.mean()
