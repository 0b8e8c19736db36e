"""DCGAN-style generator and discriminator for (N, 1, 64, 64) images in [-1, 1].

Neither network uses batch normalisation, so every image is computed independently of the
others in its batch. Samples therefore do not depend on the sampling batch size.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

IMAGE_SIZE = 64


class PixelNorm(nn.Module):
    """Normalise each pixel's feature vector to unit root-mean-square (ProGAN's pixelwise norm)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class ImageGenerator(nn.Module):
    """Map latents (N, latent_dim) and optional labels (N,) to images (N, 1, 64, 64) in [-1, 1].

    A linear layer makes a 4x4 feature map with 8 * base_channels channels; four stages of
    nearest-neighbour upsampling and a 3x3 convolution halve the channels down to
    base_channels at 64x64, and a 3x3 convolution with tanh gives the image.
    """

    def __init__(
        self, latent_dim: int, base_channels: int, *, num_classes: int = 0, output_bias: float = 0.0
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        input_dim = latent_dim
        if num_classes:
            self.label_embedding = nn.Embedding(num_classes, latent_dim)
            input_dim += latent_dim
        widths = [base_channels * 8, base_channels * 4, base_channels * 2, base_channels, base_channels]
        self.widths = widths
        self.project = nn.Linear(input_dim, widths[0] * 4 * 4)
        stages = []
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            stages += [
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(c_in, c_out, 3, padding=1),
                nn.LeakyReLU(0.2),
                PixelNorm(),
            ]
        self.stages = nn.Sequential(*stages)
        self.to_image = nn.Conv2d(widths[-1], 1, 3, padding=1)
        nn.init.constant_(self.to_image.bias, output_bias)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            z = torch.cat([z, self.label_embedding(labels)], dim=1)
        h = self.project(z).view(z.shape[0], self.widths[0], 4, 4)
        h = self.stages(PixelNorm()(nn.functional.leaky_relu(h, 0.2)))
        return torch.tanh(self.to_image(h))


class ImageDiscriminator(nn.Module):
    """Map images (N, 1, 64, 64) and optional labels (N,) to logits (N,).

    Four stride-2 4x4 convolutions (64 -> 4 pixels, base_channels up to 8 * base_channels),
    a linear head, and for class conditioning a projection term ``<embed(y), features>``
    (Miyato and Koyama, "cGANs with projection discriminator", 2018).
    """

    def __init__(self, base_channels: int, *, num_classes: int = 0, use_spectral_norm: bool = True) -> None:
        super().__init__()
        wrap = spectral_norm if use_spectral_norm else (lambda module: module)
        widths = [1, base_channels, base_channels * 2, base_channels * 4, base_channels * 8]
        layers = []
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            layers += [wrap(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
        self.features = nn.Sequential(*layers)
        feature_dim = widths[-1] * 4 * 4
        self.head = wrap(nn.Linear(feature_dim, 1))
        self.num_classes = num_classes
        if num_classes:
            self.label_embedding = wrap(nn.Embedding(num_classes, feature_dim))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x).flatten(1)
        logits = self.head(h).squeeze(1)
        if self.num_classes:
            logits = logits + (self.label_embedding(labels) * h).sum(dim=1)
        return logits
