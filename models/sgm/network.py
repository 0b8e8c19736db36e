"""A DDPM++-style U-Net for perturbed (B, 1, 64, 64) images.

Its output is the noise eps(x_t, t), from which the score is -eps / std(t), or with the "edm"
parameterization the preconditioned output F (see ``noise_model_for`` in ``generator.py``). Layout after Song et al.'s DDPM++
(arXiv:2011.13456): residual blocks with GroupNorm, SiLU and dropout, a time embedding added
inside every block, self-attention at chosen resolutions, skips rescaled by 1/sqrt(2), average-pool
down-sampling and nearest-neighbour up-sampling, and a zero-initialised output convolution.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .config import NetworkConfig


def _group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with the most groups up to 32 that divide ``channels`` and hold >= 4 channels each."""
    groups = max(g for g in range(1, min(32, max(channels // 4, 1)) + 1) if channels % g == 0)
    return nn.GroupNorm(groups, channels, eps=1e-6)


def _zero_init(module: nn.Module) -> nn.Module:
    for parameter in module.parameters():
        nn.init.zeros_(parameter)
    return module


class PositionalEmbedding(nn.Module):
    """Sinusoidal embedding of a scalar label (Vaswani et al. 2017), as in DDPM."""

    def __init__(self, dim: int, max_period: float = 10000.0) -> None:
        super().__init__()
        self.dim = dim
        self.max_period = max_period

    def forward(self, label: torch.Tensor) -> torch.Tensor:
        half = self.dim // 2
        frequencies = torch.exp(-math.log(self.max_period) * torch.arange(half, device=label.device) / half)
        angles = label.float()[:, None] * frequencies[None]
        return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class FourierEmbedding(nn.Module):
    """Gaussian random Fourier features of a scalar label (Tancik et al. 2020), as in NCSN++."""

    def __init__(self, dim: int, scale: float) -> None:
        super().__init__()
        self.register_buffer("weight", torch.randn(dim // 2) * scale)

    def forward(self, label: torch.Tensor) -> torch.Tensor:
        angles = 2 * math.pi * label.float()[:, None] * self.weight[None]
        return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class ResidualBlock(nn.Module):
    """GroupNorm-SiLU-conv twice, with the embedding added in between; skip rescaled by 1/sqrt(2)."""

    def __init__(self, in_channels: int, out_channels: int, embedding_dim: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = _group_norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.embedding = nn.Linear(embedding_dim, out_channels)
        self.norm2 = _group_norm(out_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = _zero_init(nn.Conv2d(out_channels, out_channels, 3, padding=1))
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.embedding(embedding)[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return (self.skip(x) + h) / math.sqrt(2.0)


class AttentionBlock(nn.Module):
    """Single-head self-attention over all pixels, with a residual connection rescaled by 1/sqrt(2)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = _group_norm(channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.out = _zero_init(nn.Conv2d(channels, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(batch, 3, channels, height * width).unbind(1)
        h = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        h = h.transpose(1, 2).reshape(batch, channels, height, width)
        return (x + self.out(h)) / math.sqrt(2.0)


class ScoreUNet(nn.Module):
    """U-Net for (B, 1, 64, 64) inputs; ``class_labels`` (B,) int64 or None.

    A class index equal to ``num_classes`` is the null class (no conditioning).
    """

    def __init__(self, config: NetworkConfig, in_channels: int = 1) -> None:
        super().__init__()
        self.num_classes = config.num_classes
        channels = config.base_channels
        embedding_dim = 4 * channels
        if config.time_embedding == "fourier":
            self.time_features = FourierEmbedding(channels, config.fourier_scale)
        else:
            self.time_features = PositionalEmbedding(channels)
        self.time_mlp = nn.Sequential(nn.Linear(channels, embedding_dim), nn.SiLU(), nn.Linear(embedding_dim, embedding_dim))
        self.class_embedding = nn.Embedding(config.num_classes + 1, embedding_dim) if config.num_classes else None
        self.patch_size = config.patch_size
        self.conv_in = nn.Conv2d(in_channels * self.patch_size**2, channels, 3, padding=1)

        # Encoder: residual blocks per level, then a 2x down-sampling except at the last level
        self.down = nn.ModuleList()
        skip_channels = [channels]
        current, resolution = channels, 64 // config.patch_size
        for level, multiplier in enumerate(config.channel_multipliers):
            for _ in range(config.num_res_blocks):
                out = config.base_channels * multiplier
                self.down.append(self._stage(current, out, resolution, config, embedding_dim))
                current = out
                skip_channels.append(current)
            if level < len(config.channel_multipliers) - 1:
                self.down.append(nn.AvgPool2d(2))
                resolution //= 2
                skip_channels.append(current)

        self.middle = nn.ModuleList([
            ResidualBlock(current, current, embedding_dim, config.dropout),
            AttentionBlock(current),
            ResidualBlock(current, current, embedding_dim, config.dropout),
        ])

        # Decoder: one more block per level than the encoder, each consuming one skip
        self.up = nn.ModuleList()
        for level, multiplier in reversed(list(enumerate(config.channel_multipliers))):
            for _ in range(config.num_res_blocks + 1):
                out = config.base_channels * multiplier
                self.up.append(self._stage(current + skip_channels.pop(), out, resolution, config, embedding_dim))
                current = out
            if level > 0:
                self.up.append(nn.Upsample(scale_factor=2.0, mode="nearest"))
                resolution *= 2

        self.norm_out = _group_norm(current)
        self.conv_out = _zero_init(nn.Conv2d(current, in_channels * self.patch_size**2, 3, padding=1))

    @staticmethod
    def _stage(in_channels: int, out_channels: int, resolution: int, config: NetworkConfig, embedding_dim: int) -> nn.ModuleList:
        layers = nn.ModuleList([ResidualBlock(in_channels, out_channels, embedding_dim, config.dropout)])
        if resolution in config.attention_resolutions:
            layers.append(AttentionBlock(out_channels))
        return layers

    def forward(self, x: torch.Tensor, noise_label: torch.Tensor, class_labels: torch.Tensor | None = None) -> torch.Tensor:
        embedding = self.time_mlp(self.time_features(noise_label))
        if self.class_embedding is not None:
            if class_labels is None:
                class_labels = torch.full((x.shape[0],), self.num_classes, dtype=torch.long, device=x.device)
            embedding = embedding + self.class_embedding(class_labels)
        embedding = F.silu(embedding)

        h = self.conv_in(F.pixel_unshuffle(x, self.patch_size) if self.patch_size > 1 else x)
        skips = [h]
        for layer in self.down:
            h = layer(h) if isinstance(layer, nn.AvgPool2d) else self._run_stage(layer, h, embedding)
            skips.append(h)
        h = self.middle[2](self.middle[1](self.middle[0](h, embedding)), embedding)
        for layer in self.up:
            if isinstance(layer, nn.Upsample):
                h = layer(h)
            else:
                h = self._run_stage(layer, torch.cat([h, skips.pop()], dim=1), embedding)
        out = self.conv_out(F.silu(self.norm_out(h)))
        return F.pixel_shuffle(out, self.patch_size) if self.patch_size > 1 else out

    @staticmethod
    def _run_stage(stage: nn.ModuleList, h: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        h = stage[0](h, embedding)
        for attention in stage[1:]:
            h = attention(h)
        return h
