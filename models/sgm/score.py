"""The score function that samplers call, and per-image random noise.

``ScoreFunction`` wraps a noise-prediction network eps(x_t, t) and an SDE. It offers the score
-eps / std(t) for SDE samplers and the EDM denoiser D(x; sigma) for ODE samplers. It also counts
network evaluations, so every sampler reports its cost in the same unit.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from .sde import SDE, broadcast_per_sample

# A noise-prediction network: (x_t (B, C, H, W), t (B,)) -> eps (B, C, H, W).
NoiseModel = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class ScoreFunction:
    """Score and denoiser views of one noise-prediction model; ``evaluations`` counts model calls."""

    def __init__(self, noise_model: NoiseModel, sde: SDE) -> None:
        self.noise_model = noise_model
        self.sde = sde
        self.evaluations = 0

    def noise(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Return the predicted noise eps for x_t at times ``t`` (B,)."""
        self.evaluations += 1
        return self.noise_model(x, t)

    def __call__(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Return the score grad log p_t(x) = -eps / std(t)."""
        return -self.noise(x, t) / broadcast_per_sample(self.sde.std(t), x)

    # EDM denoiser: with x = alpha x~ and x~ = x_0 + sigma n, D(x~; sigma) = x~ - sigma eps(alpha x~, t(sigma))
    def denoise(self, x_tilde: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """Return the data prediction D(x~; sigma) in the EDM variable x~ = x / alpha(t)."""
        t = self.sde.t_from_sigma(sigma)
        alpha = broadcast_per_sample(self.sde.alpha(t), x_tilde)
        return x_tilde - broadcast_per_sample(sigma, x_tilde) * self.noise(alpha * x_tilde, t)


class PerImageNoise:
    """Standard normal draws from one ``torch.Generator`` per image.

    Image i of a batch always receives the same draws whatever else is in its batch, so samples
    do not depend on batch size or on how images are split across processes.
    """

    def __init__(self, seeds: list[int] | np.ndarray) -> None:
        self.generators = [torch.Generator().manual_seed(int(seed)) for seed in seeds]

    def __len__(self) -> int:
        return len(self.generators)

    def randn(self, shape: tuple[int, ...]) -> torch.Tensor:
        """Return a (len(self), *shape) tensor; row i comes from image i's generator."""
        return torch.stack([torch.randn(shape, generator=generator) for generator in self.generators])

    def randn_like(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] != len(self):
            raise ValueError(f"x has batch size {x.shape[0]}; this noise source serves {len(self)} images.")
        return self.randn(tuple(x.shape[1:])).to(device=x.device, dtype=x.dtype)


def per_image_seeds(seed: int, num_images: int) -> np.ndarray:
    """Return one 63-bit seed per image, derived from ``seed`` and the image index."""
    sequence = np.random.SeedSequence(seed)
    states = sequence.generate_state(num_images * 2, dtype=np.uint32).astype(np.uint64).reshape(num_images, 2)
    return ((states[:, 0] << np.uint64(31)) ^ states[:, 1]).astype(np.int64)
