"""Training steps of the score model: batch drawing, the optimizer step, warm-up and EMA.

All random draws of a step (image indices, flips, times, noise, label dropout) come from one
``torch.Generator`` for the whole global batch. Each process then takes its own rows, so a run on
several processes sees the same batches as a run on one, and a resumed run continues
with the draws it would have made.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from .config import SDEConfig
from .sde import SDE

# EDM's training distribution of the noise level: ln sigma ~ N(-1.2, 1.2^2)
LOGNORMAL_MEAN = -1.2
LOGNORMAL_STD = 1.2


@dataclasses.dataclass
class Batch:
    """One training batch: images x0 (B, 1, 64, 64) in [-1, 1], times t (B,), noise z, class indices."""

    x0: torch.Tensor
    t: torch.Tensor
    z: torch.Tensor
    class_labels: torch.Tensor | None

    def rows(self, part: slice) -> "Batch":
        labels = None if self.class_labels is None else self.class_labels[part]
        return Batch(self.x0[part], self.t[part], self.z[part], labels)


def images_to_model_space(images: torch.Tensor) -> torch.Tensor:
    """Map uint8 images (B, 64, 64) on 0-255 to float (B, 1, 64, 64) in [-1, 1]."""
    return images.float().unsqueeze(1) / 127.5 - 1.0


def model_space_to_images(x: torch.Tensor) -> torch.Tensor:
    """Map model-space (B, 1, 64, 64) back to float32 (B, 64, 64) on the 0-255 scale, clipped."""
    return ((x.float().squeeze(1) + 1.0) * 127.5).clamp(0.0, 255.0)


def draw_batch(
    generator: torch.Generator,
    images: torch.Tensor,
    class_indices: torch.Tensor | None,
    *,
    batch_size: int,
    sde: SDE,
    sde_config: SDEConfig,
    random_flip: bool,
    label_dropout: float,
    null_class: int,
) -> Batch:
    """Draw a global batch from uint8 ``images`` (N, 64, 64) and optional ``class_indices`` (N,)."""
    indices = torch.randint(0, images.shape[0], (batch_size,), generator=generator)
    flips = torch.rand(batch_size, generator=generator) < 0.5
    t = torch.rand(batch_size, generator=generator) * (1.0 - sde_config.train_eps) + sde_config.train_eps
    log_sigma = torch.randn(batch_size, generator=generator) * LOGNORMAL_STD + LOGNORMAL_MEAN
    z = torch.randn((batch_size, 1, images.shape[1], images.shape[2]), generator=generator)
    dropped = torch.rand(batch_size, generator=generator) < label_dropout

    if sde_config.time_sampling == "lognormal":
        t = sde.t_from_sigma(torch.exp(log_sigma)).clamp(sde_config.train_eps, 1.0)

    x0 = images_to_model_space(images[indices])
    if random_flip:
        x0 = torch.where(flips[:, None, None, None], x0.flip(-1), x0)
    labels = None
    if class_indices is not None:
        labels = torch.where(dropped, torch.full_like(class_indices[indices], null_class), class_indices[indices])
    return Batch(x0, t, z, labels)


def warmup_learning_rate(step: int, base_rate: float, warmup_steps: int) -> float:
    """Return the learning rate of optimizer step ``step`` (0-based): linear warm-up, then constant."""
    if warmup_steps == 0:
        return base_rate
    return base_rate * min(1.0, (step + 1) / warmup_steps)


def optimizer_step(model: nn.Module, optimizer: torch.optim.Optimizer, loss: torch.Tensor, *, learning_rate: float, grad_clip: float) -> float:
    """Back-propagate ``loss``, clip the global gradient norm to ``grad_clip`` (0: off), and step.

    Returns the gradient norm before clipping.
    """
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    for group in optimizer.param_groups:
        group["lr"] = learning_rate
    if grad_clip > 0:
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    else:
        norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters() if p.grad is not None]))
    optimizer.step()
    return float(norm)


@torch.no_grad()
def update_ema(ema: nn.Module, network: nn.Module, decay: float, step: int) -> None:
    """Set every EMA parameter to d * ema + (1 - d) * current with d = min(decay, (1 + step) / (10 + step)); copy buffers."""
    decay = min(decay, (1 + step) / (10 + step))
    for ema_parameter, parameter in zip(ema.parameters(), network.parameters()):
        ema_parameter.lerp_(parameter.detach(), 1.0 - decay)
    for ema_buffer, buffer in zip(ema.buffers(), network.buffers()):
        ema_buffer.copy_(buffer)
