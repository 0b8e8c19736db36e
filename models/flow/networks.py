"""Multiscale Glow built from normflows, its base distribution, dequantisation and bits/dim.

Direction convention (normflows): ``forward`` maps latents to data, ``inverse`` maps data to
latents, and both return ``(output, log_det)``.
"""

from __future__ import annotations

import math
import warnings

import normflows as nf
import numpy as np
import torch
from torch import nn

BITS_PER_PIXEL = 8
LEVELS_PER_PIXEL = 2**BITS_PER_PIXEL


class ChannelGaussian(nf.distributions.BaseDistribution):
    """Diagonal Gaussian with one learned mean and log-scale per channel, optionally per class.

    ``latent_from_noise`` turns standard-normal noise into latents deterministically, so a
    caller controls the random stream (normflows' own bases draw from the global RNG).
    """

    def __init__(self, shape: tuple[int, int, int], num_classes: int = 0) -> None:
        super().__init__()
        self.shape = tuple(shape)
        self.num_classes = num_classes
        channels = self.shape[0]
        self.loc = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        if num_classes:
            self.loc_class = nn.Parameter(torch.zeros(num_classes, channels))
            self.log_scale_class = nn.Parameter(torch.zeros(num_classes, channels))

    def _class_parameters(self, y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.num_classes:
            return self.loc, self.log_scale
        if y is None:
            raise ValueError("this base distribution is class-conditional; pass the class labels y.")
        shape = (len(y), self.shape[0], 1, 1)
        return self.loc + self.loc_class[y].view(shape), self.log_scale + self.log_scale_class[y].view(shape)

    def latent_from_noise(self, eps: torch.Tensor, y: torch.Tensor | None = None, temperature: float = 1.0) -> torch.Tensor:
        """Return latents ``loc + temperature * exp(log_scale) * eps`` for noise eps (N, *shape)."""
        loc, log_scale = self._class_parameters(y)
        return loc + temperature * torch.exp(log_scale) * eps

    def forward(self, num_samples: int = 1, y: torch.Tensor | None = None, generator: torch.Generator | None = None):
        eps = torch.randn((num_samples, *self.shape), generator=generator).to(self.loc.device)
        z = self.latent_from_noise(eps, y)
        return z, self.log_prob(z, y)

    def log_prob(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        # log N(z; loc, exp(log_scale)^2), summed over channels and pixels
        loc, log_scale = self._class_parameters(y)
        log_density = -0.5 * math.log(2 * math.pi) - log_scale - 0.5 * ((z - loc) * torch.exp(-log_scale)) ** 2
        return log_density.flatten(1).sum(dim=1)


def latent_shapes(image_size: int, levels: int) -> list[tuple[int, int, int]]:
    """Return the latent shape of each level, coarsest first, for a 1-channel square image.

    Level 0 carries ``2^(levels+1)`` channels at ``image_size / 2^levels``; level i > 0
    carries ``2^(levels-i)`` channels at ``image_size / 2^(levels-i)``; they sum to
    ``image_size^2`` dimensions.
    """
    if image_size % 2**levels:
        raise ValueError(f"image_size {image_size} is not divisible by 2^levels = {2**levels}; use fewer levels.")
    shapes = [(2 ** (levels + 1), image_size // 2**levels, image_size // 2**levels)]
    for i in range(1, levels):
        side = image_size // 2 ** (levels - i)
        shapes.append((2 ** (levels - i), side, side))
    return shapes


def build_multiscale_flow(
    *,
    image_size: int,
    levels: int,
    blocks_per_level: int,
    hidden_channels: int,
    scale_map: str,
    logit_alpha: float,
    num_classes: int = 0,
) -> nf.MultiscaleFlow:
    """Build a Glow ``MultiscaleFlow`` for (N, 1, image_size, image_size) inputs in [0, 1].

    The logit transform is the flow's ``transform``, so ``log_prob`` is the density of the
    [0, 1]-scaled image. ActNorm layers start as the identity and marked initialised, so call
    ``initialize_actnorm`` with a data batch before training.
    """
    shapes = latent_shapes(image_size, levels)
    bases, flows, merges = [], [], []
    for i in range(levels):
        channels = 2 ** (levels + 1 - i)
        with warnings.catch_warnings():
            # normflows 1.7 builds the LU-parametrised 1x1 convolution with the deprecated torch.lu
            warnings.filterwarnings("ignore", message="torch.lu is deprecated", category=UserWarning)
            level = [
                nf.flows.GlowBlock(channels, hidden_channels, split_mode="channel", scale=True, scale_map=scale_map)
                for _ in range(blocks_per_level)
            ]
        flows.append(level + [nf.flows.Squeeze()])
        if i > 0:
            merges.append(nf.flows.Merge())
        bases.append(ChannelGaussian(shapes[i], num_classes))
    model = nf.MultiscaleFlow(bases, flows, merges, transform=nf.transforms.Logit(alpha=logit_alpha), class_cond=num_classes > 0)
    _set_actnorm_initialized(model, True)
    return model


def _set_actnorm_initialized(model: nn.Module, done: bool) -> None:
    for module in model.modules():
        if isinstance(module, nf.flows.ActNorm):
            module.data_dep_init_done = torch.tensor(1.0 if done else 0.0, device=module.s.device)


@torch.no_grad()
def initialize_actnorm(model: nf.MultiscaleFlow, x: torch.Tensor, y: torch.Tensor | None = None) -> None:
    """Set every ActNorm so that its output on batch ``x`` (N >= 2) has zero mean and unit variance."""
    if len(x) < 2:
        raise ValueError(f"ActNorm initialisation needs a batch of at least 2 images, got {len(x)}.")
    _set_actnorm_initialized(model, False)
    model.log_prob(x, y)


def dequantize(images: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Map 0-255 pixels and uniform noise in [0, 1) to x = (u + v) / 256 in [0, 1), shape (N, 1, H, W)."""
    return ((images.double() + noise.double()) / LEVELS_PER_PIXEL).to(noise.dtype).unsqueeze(1)


def bits_per_dim(log_density: torch.Tensor, num_dims: int) -> torch.Tensor:
    """Convert log p(x) of x = (u + v) / 256 to bits per dimension of the discrete 0-255 data.

    The density of u + v on [0, 256)^D is p(x) / 256^D, so
    bits/dim = -log p(x) / (D ln 2) + 8. Averaged over v ~ U[0, 1)^D this bounds the discrete
    negative log-likelihood from above (uniform dequantisation).
    """
    return -log_density.double() / (num_dims * math.log(2.0)) + BITS_PER_PIXEL


def to_pixel_scale(x: torch.Tensor) -> np.ndarray:
    """Map flow output (N, 1, H, W) on the [0, 1] scale to float32 (N, H, W) on 0-255.

    ``256 x - 0.5`` is the centre of the dequantisation interval of the pixel value.
    """
    return (x.squeeze(1).double() * LEVELS_PER_PIXEL - 0.5).clamp(0.0, 255.0).float().cpu().numpy()
