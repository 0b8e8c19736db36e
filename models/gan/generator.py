"""The ``gan`` baseline: a DCGAN-style GAN with R1, spectral norm and an EMA generator."""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from lartpcbench.datasets.images import validate_images
from lartpcbench.models.base import FitReport, Generator, TrainConfig
from lartpcbench.models.checkpoint import has_checkpoint, load_checkpoint, save_checkpoint
from lartpcbench.models.config import config_from_dict, config_to_dict
from lartpcbench.models.registry import register_generator

from .config import GANConfig
from .networks import ImageDiscriminator, ImageGenerator
from ..loop import run_training_steps
from ..seeding import check_labels, check_seed, image_generators

logger = logging.getLogger(__name__)

LOG_256 = float(np.log(256.0))


@register_generator("gan")
class GANGenerator(Generator):
    """DCGAN-style GAN: non-saturating loss, lazy R1 penalty, optional spectral norm in D.

    ``num_parameters`` counts the generator and the discriminator (the EMA copy is not
    counted). ``sample`` uses the EMA generator. The learning rate of each ``fit`` call is
    applied to the optimizers, also after resuming from a checkpoint.
    """

    family = "gan"
    config_class = GANConfig

    def __init__(self, config: GANConfig | None = None, *, device: str = "cpu") -> None:
        super().__init__(config, device=device)
        self._generator: ImageGenerator | None = None
        self._discriminator: ImageDiscriminator | None = None
        self._ema: ImageGenerator | None = None
        self._optimizers: dict[str, torch.optim.Optimizer] = {}
        self._rng: torch.Generator | None = None
        self._class_probs = torch.full((self.config.num_classes,), 1.0 / self.config.num_classes)
        self._step = 0

    # ------------------------------------------------------------------ networks

    def _build(self, seed: int, learning_rate: float) -> None:
        config = self.config
        num_classes = config.num_classes if config.class_conditional else 0
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            generator = ImageGenerator(
                config.latent_dim, config.base_channels, num_classes=num_classes, output_bias=config.output_bias
            )
            discriminator = ImageDiscriminator(
                config.base_channels, num_classes=num_classes, use_spectral_norm=config.spectral_norm
            )
        self._generator = generator.to(self.device)
        self._discriminator = discriminator.to(self.device)
        self._ema = copy.deepcopy(self._generator).requires_grad_(False).eval()
        betas = (config.adam_beta1, config.adam_beta2)
        self._optimizers = {
            "generator": torch.optim.Adam(self._generator.parameters(), lr=learning_rate, betas=betas),
            "discriminator": torch.optim.Adam(
                self._discriminator.parameters(), lr=learning_rate * config.discriminator_lr_ratio, betas=betas
            ),
        }
        self._rng = torch.Generator(device="cpu").manual_seed(seed)
        self._step = 0

    def torch_modules(self) -> dict[str, torch.nn.Module]:
        """Return the trained networks (not the EMA copy), building them if ``fit`` has not run."""
        if self._generator is None:
            self._build(0, 1e-4)
        return {"generator": self._generator, "discriminator": self._discriminator}

    def num_parameters(self) -> int:
        return sum(p.numel() for module in self.torch_modules().values() for p in module.parameters() if p.requires_grad)

    # ------------------------------------------------------------------ intensity scale

    def _to_model_scale(self, images: torch.Tensor) -> torch.Tensor:
        """Map 0-255 pixels (N, 64, 64) to (N, 1, 64, 64) in [-1, 1] on the configured scale."""
        u = images.float().unsqueeze(1)
        if self.config.intensity_scale == "log":
            return 2.0 * torch.log1p(u) / LOG_256 - 1.0
        return u / 127.5 - 1.0

    def _to_pixel_scale(self, x: torch.Tensor) -> torch.Tensor:
        """Invert ``_to_model_scale``: (N, 1, 64, 64) in [-1, 1] to (N, 64, 64) on 0-255."""
        x = x.squeeze(1).double()
        if self.config.intensity_scale == "log":
            u = torch.expm1((x + 1.0) * (LOG_256 / 2.0))
        else:
            u = (x + 1.0) * 127.5
        return u.clamp(0.0, 255.0).float()

    # ------------------------------------------------------------------ training

    def fit(
        self,
        train_images: np.ndarray,
        train_config: TrainConfig,
        *,
        val_images: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        checkpoint_dir: str | Path | None = None,
        progress: bool = True,
    ) -> FitReport:
        images = torch.from_numpy(validate_images(train_images, name="train_images"))
        label_tensor = self._training_labels(labels, len(images))
        if has_checkpoint(checkpoint_dir):
            self._restore(checkpoint_dir, train_config.learning_rate)
            logger.info("resuming GAN training from step %d in %s", self._step, checkpoint_dir)
        elif self._generator is None:
            self._build(train_config.seed, train_config.learning_rate)
        else:
            self._set_learning_rate(train_config.learning_rate)
        if label_tensor is not None:
            counts = torch.bincount(label_tensor.long(), minlength=self.config.num_classes).double()
            self._class_probs = (counts / counts.sum()).float()

        start_step, start_time = self._step, time.monotonic()
        losses, stopped_early = run_training_steps(
            "gan",
            lambda: self._train_step(images, label_tensor, train_config.batch_size),
            lambda: self._step,
            train_config,
            save_checkpoint=None if checkpoint_dir is None else lambda: self.save(checkpoint_dir),
            progress=progress,
        )
        if checkpoint_dir is not None:
            self.save(checkpoint_dir)
        return FitReport(
            steps=self._step - start_step,
            images_seen=(self._step - start_step) * train_config.batch_size * (1 + self.config.discriminator_steps),
            wall_time_s=time.monotonic() - start_time,
            losses=losses,
            resumed_from_step=start_step,
            stopped_early=stopped_early,
        )

    def _training_labels(self, labels: np.ndarray | None, count: int) -> torch.Tensor | None:
        if not self.config.class_conditional:
            return None
        if labels is None:
            raise ValueError(
                "this GAN is class-conditional (class_conditional = true) but fit got no labels; "
                "pass labels (N,) with 0 (track) or 1 (shower), or set class_conditional = false."
            )
        return torch.from_numpy(check_labels(labels, count, self.config.num_classes, name="labels"))

    def _train_step(self, images: torch.Tensor, labels: torch.Tensor | None, batch_size: int) -> dict[str, float]:
        """Run ``discriminator_steps`` discriminator updates and one generator update."""
        config, rng = self.config, self._rng
        generator, discriminator = self._generator, self._discriminator
        generator.train()
        for _ in range(config.discriminator_steps):
            index = torch.randint(len(images), (batch_size,), generator=rng)
            real = self._to_model_scale(images[index]).to(self.device)
            y = None if labels is None else labels[index].long().to(self.device)
            z = torch.randn(batch_size, config.latent_dim, generator=rng).to(self.device)
            with torch.no_grad():
                fake = generator(z, y)

            # Non-saturating logistic loss: softplus(D(fake)) + softplus(-D(real))
            apply_r1 = config.r1_gamma > 0 and self._step % config.r1_every == 0
            real.requires_grad_(apply_r1)
            real_logits = discriminator(real, y)
            loss_d = F.softplus(discriminator(fake, y)).mean() + F.softplus(-real_logits).mean()

            # Lazy R1 penalty: r1_every * gamma / 2 * E|grad_x D(x)|^2 on real images
            r1 = torch.zeros(())
            if apply_r1:
                (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
                r1 = grad.pow(2).sum(dim=(1, 2, 3)).mean()
                loss_d = loss_d + config.r1_every * config.r1_gamma / 2 * r1
            self._optimizers["discriminator"].zero_grad(set_to_none=True)
            loss_d.backward()
            self._optimizers["discriminator"].step()

        # Generator step: softplus(-D(G(z)))
        discriminator.requires_grad_(False)
        z = torch.randn(batch_size, config.latent_dim, generator=rng).to(self.device)
        loss_g = F.softplus(-discriminator(generator(z, y), y)).mean()
        self._optimizers["generator"].zero_grad(set_to_none=True)
        loss_g.backward()
        self._optimizers["generator"].step()
        discriminator.requires_grad_(True)
        self._step += 1
        self._update_ema()
        return {"loss_d": float(loss_d.detach()), "loss_g": float(loss_g.detach()), "r1": float(r1.detach())}

    @torch.no_grad()
    def _update_ema(self) -> None:
        # EMA with warm-up: decay_t = min(decay, (1 + t) / (10 + t)), so early weights fade fast
        decay = min(self.config.ema_decay, (1 + self._step) / (10 + self._step))
        for ema_param, param in zip(self._ema.parameters(), self._generator.parameters()):
            ema_param.lerp_(param, 1.0 - decay)

    def _set_learning_rate(self, learning_rate: float) -> None:
        ratios = {"generator": 1.0, "discriminator": self.config.discriminator_lr_ratio}
        for key, optimizer in self._optimizers.items():
            for group in optimizer.param_groups:
                group["lr"] = learning_rate * ratios[key]

    # ------------------------------------------------------------------ sampling

    @torch.no_grad()
    def sample(
        self, num_samples: int, *, seed: int, batch_size: int = 256, labels: np.ndarray | None = None
    ) -> np.ndarray:
        self._require_trained()
        check_seed(seed)
        if num_samples < 1 or batch_size < 1:
            raise ValueError(f"num_samples is {num_samples} and batch_size is {batch_size}; expected positive integers.")
        label_array = self._sampling_labels(labels, num_samples)
        outputs = []
        for begin in range(0, num_samples, batch_size):
            indices = range(begin, min(begin + batch_size, num_samples))
            generators = image_generators(seed, indices)
            z = torch.stack([torch.randn(self.config.latent_dim, generator=g) for g in generators])
            y = None
            if self.config.class_conditional:
                if label_array is None:
                    y = torch.cat([torch.multinomial(self._class_probs, 1, generator=g) for g in generators])
                else:
                    y = torch.from_numpy(label_array[begin : begin + len(indices)]).long()
                y = y.to(self.device)
            outputs.append(self._to_pixel_scale(self._ema(z.to(self.device), y)).cpu())
        return torch.cat(outputs).numpy().astype(np.float32)

    def _sampling_labels(self, labels: np.ndarray | None, num_samples: int) -> np.ndarray | None:
        if labels is None:
            return None
        if not self.config.class_conditional:
            raise ValueError(
                "sample got labels but this GAN is unconditional (class_conditional = false); "
                "drop the labels or train a class-conditional model."
            )
        return check_labels(labels, num_samples, self.config.num_classes, name="labels").astype(np.int64)

    def _require_trained(self) -> None:
        if self._generator is None:
            raise RuntimeError("the GAN has no weights yet; call fit() or GANGenerator.load(directory) first.")

    # ------------------------------------------------------------------ checkpoints

    def save(self, directory: str | Path) -> None:
        self._require_trained()
        state = {
            "generator": self._generator.state_dict(),
            "discriminator": self._discriminator.state_dict(),
            "ema": self._ema.state_dict(),
            "optimizers": {key: optimizer.state_dict() for key, optimizer in self._optimizers.items()},
            "rng_state": self._rng.get_state(),
            "class_probs": self._class_probs,
            "step": self._step,
        }
        metadata = {"generator": self.name, "family": self.family, "config": config_to_dict(self.config), "step": self._step}
        save_checkpoint(directory, state, metadata)

    @classmethod
    def load(cls, directory: str | Path, *, device: str = "cpu") -> "GANGenerator":
        _, metadata = load_checkpoint(directory)
        if metadata.get("family") != cls.family:
            raise ValueError(
                f"{directory} contains a {metadata.get('family')!r} checkpoint, not a GAN; load it with its own generator class."
            )
        model = cls(config_from_dict(GANConfig, metadata["config"], where=f"{directory}/checkpoint.json"), device=device)
        model._restore(directory, None)
        return model

    def _restore(self, directory: str | Path, learning_rate: float | None) -> None:
        state, metadata = load_checkpoint(directory)
        saved_config = config_from_dict(GANConfig, metadata["config"], where=f"{directory}/checkpoint.json")
        if saved_config != self.config:
            raise ValueError(
                f"the checkpoint in {directory} was trained with {saved_config}, but this model has {self.config}; "
                "use the same config to resume, or pass an empty checkpoint_dir to start over."
            )
        self._build(0, learning_rate or 1e-4)
        self._generator.load_state_dict(state["generator"])
        self._discriminator.load_state_dict(state["discriminator"])
        self._ema.load_state_dict(state["ema"])
        for key, optimizer in self._optimizers.items():
            optimizer.load_state_dict(state["optimizers"][key])
        if learning_rate is not None:
            self._set_learning_rate(learning_rate)
        self._rng.set_state(state["rng_state"])
        self._class_probs = state["class_probs"].float()
        self._step = int(state["step"])
