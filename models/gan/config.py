"""Hyper-parameters of the DCGAN-style baseline."""

from __future__ import annotations

import dataclasses

from lartpcbench.models.config import require

INTENSITY_SCALES = ("log", "linear")


@dataclasses.dataclass(frozen=True)
class GANConfig:
    """A DCGAN-style GAN for 64x64 single-channel images.

    ``intensity_scale`` sets how 0-255 pixels map to the tanh range [-1, 1]. ``"linear"`` is
    ``u / 127.5 - 1``. ``"log"`` is ``2 log(1 + u) / log(256) - 1``, which compresses the
    bright track cores. It also moves the harness's noise threshold (4) to -0.42 instead of
    -0.97, so the generator leaves a pixel empty without saturating tanh. ``base_channels`` is the
    width of the 64x64 and 32x32 stages; deeper stages double it up to 8x. The discriminator
    loss is the non-saturating logistic loss with an R1 penalty ``r1_gamma / 2 * |grad D(x)|^2``
    on real images, applied every ``r1_every`` steps and scaled by ``r1_every`` (lazy
    regularisation). ``ema_decay`` is the decay of the exponential moving average of the
    generator weights that ``sample`` uses. ``output_bias`` initialises the bias of the last
    layer, so an untrained generator starts with nearly empty images (tanh(-2) = -0.96).
    """

    latent_dim: int = 128
    base_channels: int = 64
    intensity_scale: str = "log"
    class_conditional: bool = False
    num_classes: int = 2
    spectral_norm: bool = True
    r1_gamma: float = 1.0
    r1_every: int = 4
    discriminator_steps: int = 1
    adam_beta1: float = 0.0
    adam_beta2: float = 0.99
    discriminator_lr_ratio: float = 1.0
    ema_decay: float = 0.999
    output_bias: float = -2.0

    def __post_init__(self) -> None:
        require(self.latent_dim >= 1, f"latent_dim is {self.latent_dim}; expected a positive integer.")
        require(self.base_channels >= 1, f"base_channels is {self.base_channels}; expected a positive integer.")
        require(
            self.intensity_scale in INTENSITY_SCALES,
            f"intensity_scale is {self.intensity_scale!r}; expected one of {INTENSITY_SCALES}.",
        )
        require(self.num_classes >= 2, f"num_classes is {self.num_classes}; expected at least 2 (track, shower).")
        require(self.r1_gamma >= 0, f"r1_gamma is {self.r1_gamma}; expected >= 0 (0 disables the R1 penalty).")
        require(self.r1_every >= 1, f"r1_every is {self.r1_every}; expected a positive number of steps.")
        require(
            self.discriminator_steps >= 1,
            f"discriminator_steps is {self.discriminator_steps}; expected a positive integer.",
        )
        require(0 <= self.adam_beta1 < 1, f"adam_beta1 is {self.adam_beta1}; expected a value in [0, 1).")
        require(0 <= self.adam_beta2 < 1, f"adam_beta2 is {self.adam_beta2}; expected a value in [0, 1).")
        require(
            self.discriminator_lr_ratio > 0,
            f"discriminator_lr_ratio is {self.discriminator_lr_ratio}; expected a positive number.",
        )
        require(0 <= self.ema_decay < 1, f"ema_decay is {self.ema_decay}; expected a value in [0, 1).")
