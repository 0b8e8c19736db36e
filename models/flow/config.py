"""Hyper-parameters of the multiscale Glow/RealNVP baseline."""

from __future__ import annotations

import dataclasses

from lartpcbench.models.config import require

SCALE_MAPS = ("sigmoid_inv", "sigmoid", "exp")
IMAGE_SIZE = 64


@dataclasses.dataclass(frozen=True)
class FlowConfig:
    """A multiscale Glow flow (normflows ``MultiscaleFlow``) on dequantised 64x64 images.

    Data scaling: a pixel ``u`` in 0-255 is dequantised with uniform noise,
    ``x = (u + v) / 256`` with ``v ~ U[0, 1)``, then mapped by the logit transform
    ``logit(logit_alpha + (1 - 2 logit_alpha) x)``. The log-likelihood includes both Jacobians,
    so bits per dimension refer to the discrete 0-255 data.

    Architecture: ``levels`` scales, each with ``blocks_per_level`` Glow blocks (affine
    coupling whose conditioner has ``hidden_channels`` channels, invertible 1x1 convolution,
    ActNorm) and a squeeze. Half of the channels leave as a latent at every level but the
    coarsest. ``scale_map`` is the coupling's scale (normflows' names). ``"sigmoid"`` (Glow)
    multiplies by ``sigmoid(h + 2)`` on the data-to-latent pass and divides by it when
    sampling. ``"sigmoid_inv"`` multiplies when sampling and divides on the data-to-latent
    pass, and ``"exp"`` (RealNVP) scales by ``exp(h)``. The default is ``"sigmoid_inv"``
    because with ``"sigmoid"`` a briefly trained model on these sparse images sent about half
    of its temperature-1 samples to inf/NaN: the division by a near-zero scale compounds
    across blocks (measured on sim64-smoke-v1 after 100 steps of the quick config). The base distribution is a Gaussian with a learned mean and scale per channel,
    shifted per class when ``class_conditional``. ``temperature`` scales the base standard
    deviation when sampling (1.0 samples the model as trained).

    Training: ``ema_decay`` is the decay of the weight average that ``sample`` and
    ``log_likelihood`` use; ``warmup_steps`` ramps the learning rate linearly from 0;
    ``max_grad_norm`` clips the gradient norm (0 disables clipping).
    """

    levels: int = 3
    blocks_per_level: int = 8
    hidden_channels: int = 128
    scale_map: str = "sigmoid_inv"
    logit_alpha: float = 0.05
    class_conditional: bool = False
    num_classes: int = 2
    temperature: float = 1.0
    ema_decay: float = 0.999
    warmup_steps: int = 200
    max_grad_norm: float = 100.0

    def __post_init__(self) -> None:
        require(
            1 <= self.levels <= 5,
            f"levels is {self.levels}; expected 1-5 (a 64x64 image is squeezed 2x per level).",
        )
        require(self.blocks_per_level >= 1, f"blocks_per_level is {self.blocks_per_level}; expected a positive integer.")
        require(self.hidden_channels >= 1, f"hidden_channels is {self.hidden_channels}; expected a positive integer.")
        require(self.scale_map in SCALE_MAPS, f"scale_map is {self.scale_map!r}; expected one of {SCALE_MAPS}.")
        require(0 < self.logit_alpha < 0.5, f"logit_alpha is {self.logit_alpha}; expected a value in (0, 0.5).")
        require(self.num_classes >= 2, f"num_classes is {self.num_classes}; expected at least 2 (track, shower).")
        require(self.temperature > 0, f"temperature is {self.temperature}; expected a positive number.")
        require(0 <= self.ema_decay < 1, f"ema_decay is {self.ema_decay}; expected a value in [0, 1).")
        require(self.warmup_steps >= 0, f"warmup_steps is {self.warmup_steps}; expected >= 0.")
        require(self.max_grad_norm >= 0, f"max_grad_norm is {self.max_grad_norm}; expected >= 0 (0 disables clipping).")
