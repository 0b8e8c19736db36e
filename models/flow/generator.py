"""The ``flow`` baseline: a multiscale Glow from normflows with exact bits per dimension."""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import time
from pathlib import Path

import normflows as nf
import numpy as np
import torch

from lartpcbench.datasets.images import IMAGE_SIZE, validate_images
from lartpcbench.models.base import FitReport, Generator, TrainConfig
from lartpcbench.models.checkpoint import has_checkpoint, load_checkpoint, save_checkpoint
from lartpcbench.models.config import config_from_dict, config_to_dict
from lartpcbench.models.loop import run_training_steps
from lartpcbench.models.seeding import check_labels, check_seed, image_generators
from lartpcbench.models.registry import register_generator

from .config import FlowConfig
from .networks import bits_per_dim, build_multiscale_flow, dequantize, initialize_actnorm, latent_shapes, to_pixel_scale

logger = logging.getLogger(__name__)

NUM_DIMS = IMAGE_SIZE * IMAGE_SIZE


@register_generator("flow")
class FlowGenerator(Generator):
    """Multiscale Glow trained by maximum likelihood on uniformly dequantised images.

    ``sample`` and ``log_likelihood`` use the EMA weights. ``log_likelihood`` returns, per
    image, the bits/dim of one seeded dequantisation draw: an unbiased estimate of the
    uniform-dequantisation bound, which lies above the discrete model's true bits/dim. For a
    class-conditional flow it marginalises the label with the training class frequencies.

    To sample a saved model at another temperature, load it and replace its config,
    ``model.config = dataclasses.replace(model.config, temperature=0.7)``, or run
    ``lartpc-bench sample --model flow --set temperature=0.7``.
    """

    family = "flow"
    config_class = FlowConfig
    supports_likelihood = True
    sampling_keys = ("temperature",)

    def __init__(self, config: FlowConfig | None = None, *, device: str = "cpu") -> None:
        super().__init__(config, device=device)
        self._flow: nf.MultiscaleFlow | None = None
        self._ema: nf.MultiscaleFlow | None = None
        self._optimizer: torch.optim.Optimizer | None = None
        self._rng: torch.Generator | None = None
        self._class_probs = torch.full((self.config.num_classes,), 1.0 / self.config.num_classes)
        self._step = 0
        self._base_learning_rate = 1e-3

    # ------------------------------------------------------------------ networks

    def _build(self, seed: int, learning_rate: float) -> None:
        config = self.config
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            flow = build_multiscale_flow(
                image_size=IMAGE_SIZE,
                levels=config.levels,
                blocks_per_level=config.blocks_per_level,
                hidden_channels=config.hidden_channels,
                scale_map=config.scale_map,
                logit_alpha=config.logit_alpha,
                num_classes=config.num_classes if config.class_conditional else 0,
            )
        self._flow = flow.to(self.device)
        self._ema = copy.deepcopy(self._flow).requires_grad_(False).eval()
        self._optimizer = torch.optim.Adam(self._flow.parameters(), lr=learning_rate)
        self._base_learning_rate = learning_rate
        self._rng = torch.Generator(device="cpu").manual_seed(seed)
        self._step = 0

    def torch_modules(self) -> dict[str, torch.nn.Module]:
        """Return the trained network (not the EMA copy), building it if ``fit`` has not run."""
        if self._flow is None:
            self._build(0, 1e-3)
        return {"flow": self._flow}

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.torch_modules()["flow"].parameters() if p.requires_grad)

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
            self._restore(checkpoint_dir)
            logger.info("resuming flow training from step %d in %s", self._step, checkpoint_dir)
        elif self._flow is None:
            self._build(train_config.seed, train_config.learning_rate)
            self._initialize_from_data(images, label_tensor, train_config.batch_size)
        self._base_learning_rate = train_config.learning_rate
        if label_tensor is not None:
            counts = torch.bincount(label_tensor.long(), minlength=self.config.num_classes).double()
            self._class_probs = (counts / counts.sum()).float()

        start_step, start_time = self._step, time.monotonic()
        losses, stopped_early = run_training_steps(
            "flow",
            lambda: self._train_step(images, label_tensor, train_config.batch_size),
            lambda: self._step,
            train_config,
            save_checkpoint=None if checkpoint_dir is None else lambda: self.save(checkpoint_dir),
            progress=progress,
        )
        if val_images is not None:
            val_bpd = self.log_likelihood(val_images, seed=train_config.seed, batch_size=train_config.batch_size)
            losses["val_bits_per_dim"] = float(np.mean(val_bpd))
            logger.info("flow validation bits/dim %.4f at step %d", losses["val_bits_per_dim"], self._step)
        if checkpoint_dir is not None:
            self.save(checkpoint_dir)
        return FitReport(
            steps=self._step - start_step,
            images_seen=(self._step - start_step) * train_config.batch_size,
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
                "this flow is class-conditional (class_conditional = true) but fit got no labels; "
                "pass labels (N,) with 0 (track) or 1 (shower), or set class_conditional = false."
            )
        return torch.from_numpy(check_labels(labels, count, self.config.num_classes, name="labels"))

    def _draw_batch(self, images: torch.Tensor, labels: torch.Tensor | None, batch_size: int):
        index = torch.randint(len(images), (batch_size,), generator=self._rng)
        noise = torch.rand((batch_size, IMAGE_SIZE, IMAGE_SIZE), generator=self._rng)
        x = dequantize(images[index], noise).to(self.device)
        y = None if labels is None else labels[index].long().to(self.device)
        return x, y

    def _initialize_from_data(self, images: torch.Tensor, labels: torch.Tensor | None, batch_size: int) -> None:
        x, y = self._draw_batch(images, labels, max(batch_size, 2))
        initialize_actnorm(self._flow, x, y)
        self._ema.load_state_dict(self._flow.state_dict())

    def _train_step(self, images: torch.Tensor, labels: torch.Tensor | None, batch_size: int) -> dict[str, float]:
        config = self.config
        self._flow.train()
        x, y = self._draw_batch(images, labels, batch_size)

        # Maximum likelihood in bits/dim: -log p(x) / (D ln 2) + 8
        loss = bits_per_dim(self._flow.log_prob(x, y), NUM_DIMS).float().mean()
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"flow loss is {float(loss)} at step {self._step}; training diverged. "
                "Lower the learning rate, raise warmup_steps or set max_grad_norm."
            )

        # Linear learning-rate warm-up over warmup_steps
        warmup = min(1.0, (self._step + 1) / config.warmup_steps) if config.warmup_steps else 1.0
        for group in self._optimizer.param_groups:
            group["lr"] = self._base_learning_rate * warmup
        self._optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(
            self._flow.parameters(), config.max_grad_norm if config.max_grad_norm else math.inf
        )
        self._optimizer.step()
        self._step += 1
        self._update_ema()
        return {"bits_per_dim": float(loss.detach()), "grad_norm": float(grad_norm)}

    @torch.no_grad()
    def _update_ema(self) -> None:
        # EMA with warm-up: decay_t = min(decay, (1 + t) / (10 + t)); buffers are copied
        decay = min(self.config.ema_decay, (1 + self._step) / (10 + self._step))
        for ema_param, param in zip(self._ema.parameters(), self._flow.parameters()):
            ema_param.lerp_(param, 1.0 - decay)
        for ema_buffer, buffer in zip(self._ema.buffers(), self._flow.buffers()):
            ema_buffer.copy_(buffer)

    # ------------------------------------------------------------------ sampling and likelihood

    @torch.no_grad()
    def sample(
        self, num_samples: int, *, seed: int, batch_size: int = 256, labels: np.ndarray | None = None
    ) -> np.ndarray:
        self._require_trained()
        check_seed(seed)
        if num_samples < 1 or batch_size < 1:
            raise ValueError(f"num_samples is {num_samples} and batch_size is {batch_size}; expected positive integers.")
        label_array = self._sampling_labels(labels, num_samples)
        shapes = latent_shapes(IMAGE_SIZE, self.config.levels)
        outputs = []
        for begin in range(0, num_samples, batch_size):
            generators = image_generators(seed, range(begin, min(begin + batch_size, num_samples)))
            y = None
            if self.config.class_conditional:
                if label_array is None:
                    y = torch.cat([torch.multinomial(self._class_probs, 1, generator=g) for g in generators])
                else:
                    y = torch.from_numpy(label_array[begin : begin + len(generators)]).long()
                y = y.to(self.device)

            # Per-image noise for every level, drawn coarsest level first
            eps = [torch.stack([torch.randn(shape, generator=g) for g in generators]) for shape in shapes]
            z = [
                base.latent_from_noise(noise.to(self.device), y, self.config.temperature)
                for base, noise in zip(self._ema.q0, eps)
            ]
            x, _ = self._ema.forward_and_log_det(z)
            outputs.append(to_pixel_scale(x))
        return np.concatenate(outputs).astype(np.float32)

    @torch.no_grad()
    def log_likelihood(self, images: np.ndarray, *, seed: int = 0, batch_size: int = 64) -> np.ndarray:
        """Return float64 (N,) bits/dim of (N, 64, 64) uint8 images, one seeded dequantisation draw each."""
        self._require_trained()
        check_seed(seed)
        pixels = torch.from_numpy(validate_images(images, name="images"))
        results = []
        for begin in range(0, len(pixels), batch_size):
            batch = pixels[begin : begin + batch_size]
            generators = image_generators(seed, range(begin, begin + len(batch)))
            noise = torch.stack([torch.rand((IMAGE_SIZE, IMAGE_SIZE), generator=g) for g in generators])
            x = dequantize(batch, noise).to(self.device)
            results.append(bits_per_dim(self._marginal_log_prob(x), NUM_DIMS).cpu())
        return torch.cat(results).numpy()

    def _marginal_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        if not self.config.class_conditional:
            return self._ema.log_prob(x, None)

        # log p(x) = logsumexp_y [log p(y) + log p(x | y)]
        per_class = []
        for label in range(self.config.num_classes):
            y = torch.full((len(x),), label, dtype=torch.long, device=self.device)
            per_class.append(torch.log(self._class_probs[label]).to(self.device) + self._ema.log_prob(x, y))
        return torch.logsumexp(torch.stack(per_class), dim=0)

    def _sampling_labels(self, labels: np.ndarray | None, num_samples: int) -> np.ndarray | None:
        if labels is None:
            return None
        if not self.config.class_conditional:
            raise ValueError(
                "sample got labels but this flow is unconditional (class_conditional = false); "
                "drop the labels or train a class-conditional model."
            )
        return check_labels(labels, num_samples, self.config.num_classes, name="labels").astype(np.int64)

    def _require_trained(self) -> None:
        if self._flow is None:
            raise RuntimeError("the flow has no weights yet; call fit() or FlowGenerator.load(directory) first.")

    # ------------------------------------------------------------------ checkpoints

    def save(self, directory: str | Path) -> None:
        self._require_trained()
        state = {
            "flow": self._flow.state_dict(),
            "ema": self._ema.state_dict(),
            "optimizer": self._optimizer.state_dict(),
            "rng_state": self._rng.get_state(),
            "class_probs": self._class_probs,
            "step": self._step,
        }
        metadata = {"generator": self.name, "family": self.family, "config": config_to_dict(self.config), "step": self._step}
        save_checkpoint(directory, state, metadata)

    @classmethod
    def load(cls, directory: str | Path, *, device: str = "cpu") -> "FlowGenerator":
        _, metadata = load_checkpoint(directory)
        if metadata.get("family") != cls.family:
            raise ValueError(
                f"{directory} contains a {metadata.get('family')!r} checkpoint, not a flow; load it with its own generator class."
            )
        model = cls(config_from_dict(FlowConfig, metadata["config"], where=f"{directory}/checkpoint.json"), device=device)
        model._restore(directory)
        return model

    def _restore(self, directory: str | Path) -> None:
        state, metadata = load_checkpoint(directory)
        saved_config = config_from_dict(FlowConfig, metadata["config"], where=f"{directory}/checkpoint.json")
        # The sampling temperature does not change training, so a checkpoint serves any temperature
        if dataclasses.replace(saved_config, temperature=self.config.temperature) != self.config:
            raise ValueError(
                f"the checkpoint in {directory} was trained with {saved_config}, but this model has {self.config}; "
                "use the same config to resume, or pass an empty checkpoint_dir to start over."
            )
        self._build(0, self._base_learning_rate)
        self._flow.load_state_dict(state["flow"])
        self._ema.load_state_dict(state["ema"])
        self._optimizer.load_state_dict(state["optimizer"])
        self._rng.set_state(state["rng_state"])
        self._class_probs = state["class_probs"].float()
        self._step = int(state["step"])
