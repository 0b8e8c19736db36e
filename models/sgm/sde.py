"""Forward SDEs of score-based diffusion: VP, sub-VP and VE (Song et al. 2021, arXiv:2011.13456).

Each SDE is a small object with the forward drift and diffusion, the Gaussian perturbation
kernel p_0t(x_t | x_0) = N(alpha(t) x_0, std(t)^2 I), prior sampling and the prior log density.
The samplers also use the EDM view of the same process (Karras et al. 2022, arXiv:2206.00364):
x_t / alpha(t) = x_0 + sigma(t) n with sigma(t) = std(t) / alpha(t), and ``t_from_sigma`` inverts it.
Time runs from 0 (data) to 1 (prior). Tensors ``x`` have shape (B, C, H, W) and ``t`` shape (B,).
"""

from __future__ import annotations

import abc
import math

import torch


def broadcast_per_sample(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Reshape per-sample values (B,) so that they broadcast against ``like`` (B, ...)."""
    return values.reshape(-1, *([1] * (like.dim() - 1)))


class SDE(abc.ABC):
    """A linear forward SDE dx = f(t) x dt + g(t) dw with a Gaussian perturbation kernel."""

    @abc.abstractmethod
    def log_alpha(self, t: torch.Tensor) -> torch.Tensor:
        """Return log of the marginal mean coefficient alpha(t)."""

    @abc.abstractmethod
    def std(self, t: torch.Tensor) -> torch.Tensor:
        """Return the marginal standard deviation std(t) of x_t given x_0."""

    @abc.abstractmethod
    def drift_coefficient(self, t: torch.Tensor) -> torch.Tensor:
        """Return f(t), so that the drift is f(t) x."""

    @abc.abstractmethod
    def diffusion(self, t: torch.Tensor) -> torch.Tensor:
        """Return the diffusion coefficient g(t)."""

    @abc.abstractmethod
    def t_from_sigma(self, sigma: torch.Tensor) -> torch.Tensor:
        """Return the time t at which sigma(t) = std(t) / alpha(t) equals ``sigma``."""

    @property
    @abc.abstractmethod
    def prior_std(self) -> float:
        """Standard deviation of the prior N(0, prior_std^2 I) at t = 1."""

    def alpha(self, t: torch.Tensor) -> torch.Tensor:
        return torch.exp(self.log_alpha(t))

    def sigma(self, t: torch.Tensor) -> torch.Tensor:
        """Return the EDM noise level std(t) / alpha(t)."""
        return self.std(t) / self.alpha(t)

    def drift(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return broadcast_per_sample(self.drift_coefficient(t), x) * x

    def marginal(self, x0: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the mean alpha(t) x_0 and the per-sample std(t) of p_0t(x_t | x_0)."""
        return broadcast_per_sample(self.alpha(t), x0) * x0, self.std(t)

    def prior_sample(self, shape: tuple[int, ...], generator: torch.Generator | None = None) -> torch.Tensor:
        return self.prior_std * torch.randn(shape, generator=generator)

    def prior_log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """Return log N(z; 0, prior_std^2 I) per sample, in nats, shape (B,)."""
        dims = z[0].numel()
        variance = self.prior_std**2
        squared = z.flatten(1).pow(2).sum(dim=1)
        return -0.5 * dims * math.log(2 * math.pi * variance) - squared / (2 * variance)

    def noise_label(self, t: torch.Tensor) -> torch.Tensor:
        """Return the network's time input; VP-type SDEs use 999 t like DDPM++."""
        return 999.0 * t


class VPSDE(SDE):
    """Variance-preserving SDE, dx = -beta(t) x / 2 dt + sqrt(beta(t)) dw, linear beta(t)."""

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0) -> None:
        self.beta_min = beta_min
        self.beta_max = beta_max

    # Integrated noise rate B(t) = beta_min t + (beta_max - beta_min) t^2 / 2
    def integrated_beta(self, t: torch.Tensor) -> torch.Tensor:
        return self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t**2

    def beta(self, t: torch.Tensor) -> torch.Tensor:
        return self.beta_min + (self.beta_max - self.beta_min) * t

    def log_alpha(self, t: torch.Tensor) -> torch.Tensor:
        return -0.5 * self.integrated_beta(t)

    def std(self, t: torch.Tensor) -> torch.Tensor:
        return torch.sqrt(-torch.expm1(-self.integrated_beta(t)))

    def drift_coefficient(self, t: torch.Tensor) -> torch.Tensor:
        return -0.5 * self.beta(t)

    def diffusion(self, t: torch.Tensor) -> torch.Tensor:
        return torch.sqrt(self.beta(t))

    @property
    def prior_std(self) -> float:
        return 1.0

    # sigma^2 = exp(B(t)) - 1, so B = log(1 + sigma^2); solve the quadratic B(t) = B for t
    def t_from_sigma(self, sigma: torch.Tensor) -> torch.Tensor:
        return _solve_integrated_beta(torch.log1p(sigma**2), self.beta_min, self.beta_max)


class SubVPSDE(VPSDE):
    """Sub-VP SDE: VP drift, g(t)^2 = beta(t) (1 - exp(-2 B(t))), so std(t) = 1 - exp(-B(t))."""

    def std(self, t: torch.Tensor) -> torch.Tensor:
        return -torch.expm1(-self.integrated_beta(t))

    def diffusion(self, t: torch.Tensor) -> torch.Tensor:
        return torch.sqrt(self.beta(t) * -torch.expm1(-2.0 * self.integrated_beta(t)))

    # sigma = (1 - e^-B) / e^(-B/2) = 2 sinh(B / 2), so B = 2 asinh(sigma / 2)
    def t_from_sigma(self, sigma: torch.Tensor) -> torch.Tensor:
        return _solve_integrated_beta(2.0 * torch.asinh(sigma / 2), self.beta_min, self.beta_max)


class VESDE(SDE):
    """Variance-exploding SDE: sigma(t) = sigma_min (sigma_max / sigma_min)^t, no drift."""

    def __init__(self, sigma_min: float = 0.01, sigma_max: float = 50.0) -> None:
        self.sigma_min = sigma_min
        self.sigma_max = sigma_max
        self._log_ratio = math.log(sigma_max / sigma_min)

    def log_alpha(self, t: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(t)

    def std(self, t: torch.Tensor) -> torch.Tensor:
        return self.sigma_min * torch.exp(self._log_ratio * t)

    def drift_coefficient(self, t: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(t)

    # g(t)^2 = d sigma(t)^2 / dt = 2 sigma(t)^2 log(sigma_max / sigma_min)
    def diffusion(self, t: torch.Tensor) -> torch.Tensor:
        return self.std(t) * math.sqrt(2 * self._log_ratio)

    @property
    def prior_std(self) -> float:
        return self.sigma_max

    def t_from_sigma(self, sigma: torch.Tensor) -> torch.Tensor:
        return torch.log(sigma / self.sigma_min) / self._log_ratio

    def noise_label(self, t: torch.Tensor) -> torch.Tensor:
        """Return log std(t), the NCSN++ time input for VE."""
        return torch.log(self.std(t))


def _solve_integrated_beta(integrated: torch.Tensor, beta_min: float, beta_max: float) -> torch.Tensor:
    """Solve beta_min t + (beta_max - beta_min) t^2 / 2 = ``integrated`` for t >= 0."""
    slope = beta_max - beta_min
    if slope == 0:
        return integrated / beta_min
    return (torch.sqrt(beta_min**2 + 2 * slope * integrated) - beta_min) / slope


def make_sde(kind: str, *, beta_min: float, beta_max: float, sigma_min: float, sigma_max: float) -> SDE:
    """Build the SDE named ``kind`` ("vp", "subvp" or "ve")."""
    if kind == "vp":
        return VPSDE(beta_min, beta_max)
    if kind == "subvp":
        return SubVPSDE(beta_min, beta_max)
    if kind == "ve":
        return VESDE(sigma_min, sigma_max)
    raise ValueError(f"SDE kind {kind!r} is unknown; expected 'vp', 'subvp' or 've'.")
