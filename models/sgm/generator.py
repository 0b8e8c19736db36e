"""The score-based diffusion baseline as a registered ``Generator`` named "sgm"."""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from lartpcbench.datasets.images import validate_images
from lartpcbench.models.base import FitReport, Generator, TrainConfig
from lartpcbench.models.checkpoint import CheckpointError, has_checkpoint, load_checkpoint, save_checkpoint
from lartpcbench.models.config import config_to_dict
from lartpcbench.models.distributed import (
    DistributedContext, barrier, broadcast_flag, gather_arrays, init_distributed, shard_slice, wrap_data_parallel,
)
from lartpcbench.models.registry import register_generator

from .config import SGMConfig, sgm_config_from_dict
from .likelihood import bits_per_dim, draw_probes, ode_log_likelihood
from .losses import denoising_score_matching_loss
from .network import ScoreUNet
from .samplers import evaluations_per_image, get_sampler, is_stochastic
from .score import PerImageNoise, ScoreFunction, per_image_seeds
from .sde import SDE, broadcast_per_sample, make_sde
from .training import draw_batch, images_to_model_space, model_space_to_images, optimizer_step, update_ema, warmup_learning_rate

logger = logging.getLogger(__name__)


def build_sde(config: SGMConfig) -> SDE:
    sde = config.sde
    return make_sde(sde.kind, beta_min=sde.beta_min, beta_max=sde.beta_max, sigma_min=sde.sigma_min, sigma_max=sde.sigma_max)


def noise_model_for(network: torch.nn.Module, sde: SDE, class_labels: torch.Tensor | None, channels_last: bool,
                    sigma_data: float | None = None):
    """Return eps(x, t) from the network as a plain callable.

    Without ``sigma_data`` the network predicts eps directly. With it, the network F is
    preconditioned as in EDM: x~ = x / alpha, D = c_skip x~ + c_out F(c_in x~, t), eps = (x~ - D) / sigma.
    """

    def noise_model(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if sigma_data is None:
            inputs = x
        else:
            alpha, sigma = broadcast_per_sample(sde.alpha(t), x), broadcast_per_sample(sde.sigma(t), x)
            x_tilde = x / alpha
            scale = torch.sqrt(sigma**2 + sigma_data**2)
            inputs = x_tilde / scale
        if channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        output = network(inputs, sde.noise_label(t), class_labels).contiguous()
        if sigma_data is None:
            return output

        # EDM preconditioning: eps = (1 - c_skip) x~ / sigma - c_out F / sigma = sigma x~ / scale^2 - sigma_data F / scale
        return sigma * x_tilde / scale**2 - sigma_data * output / scale

    return noise_model


@register_generator("sgm")
class SGMGenerator(Generator):
    """VP/sub-VP/VE score-based diffusion with a DDPM++ U-Net; see ``SGMConfig`` for the settings."""

    family = "diffusion"
    config_class = SGMConfig
    supports_likelihood = True
    sampling_keys = ("sampler",)

    def __init__(self, config: SGMConfig | None = None, *, device: str = "cpu") -> None:
        super().__init__(config, device=device)
        self.sde = build_sde(self.config)
        self.network: ScoreUNet | None = None
        self.ema: ScoreUNet | None = None
        self.optimizer: torch.optim.Adam | None = None
        self.step = 0
        self._draw_generator = torch.Generator()
        self._torch_rng_state: torch.Tensor | None = None
        self._measured_evaluations: float | None = None

    # ---- construction -------------------------------------------------------------------

    def _build(self, seed: int) -> None:
        """Create the network (initialised from ``seed``), its EMA copy and the optimizer."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            network = ScoreUNet(self.config.network)
        memory_format = torch.channels_last if self.config.channels_last else torch.preserve_format
        self.network = network.to(self.device, memory_format=memory_format)
        self.ema = copy.deepcopy(self.network).eval().requires_grad_(False)
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=1e-8)
        self._draw_generator = torch.Generator().manual_seed(seed)
        self.step = 0

    def _sigma_data(self) -> float | None:
        return self.config.sigma_data if self.config.parameterization == "edm" else None

    def _require_network(self) -> ScoreUNet:
        if self.ema is None:
            raise RuntimeError("the sgm generator has no weights yet; call fit() or SGMGenerator.load() first.")
        return self.ema

    def num_parameters(self) -> int:
        if self.network is None:
            with torch.random.fork_rng(devices=[]):
                return sum(p.numel() for p in ScoreUNet(self.config.network).parameters())
        return sum(p.numel() for p in self.network.parameters() if p.requires_grad)

    # ---- training -----------------------------------------------------------------------

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
        class_indices = self._class_indices(labels, images.shape[0], name="labels") if self.config.network.num_classes else None
        context = init_distributed(self.device)
        if train_config.batch_size % context.world_size:
            raise ValueError(
                f"batch_size {train_config.batch_size} does not split over {context.world_size} processes; "
                "choose a batch size divisible by the number of processes."
            )
        if self.network is None:
            self._build(train_config.seed)
        resumed_from = self._maybe_resume(checkpoint_dir)
        if val_images is not None:
            logger.info("sgm ignores val_images during training; use log_likelihood() for validation.")

        model = wrap_data_parallel(self.network, context, self.device)
        with torch.random.fork_rng(devices=[]):
            if self._torch_rng_state is not None:
                torch.set_rng_state(self._torch_rng_state)
            else:
                torch.manual_seed(train_config.seed + 7919 * (context.rank + 1))
            report = self._train_loop(model, images, class_indices, train_config, context, checkpoint_dir, progress)
            self._torch_rng_state = torch.get_rng_state()
        report.resumed_from_step = resumed_from
        if checkpoint_dir is not None:
            self._save_if_main(checkpoint_dir, train_config, context)
        return report

    def _train_loop(self, model, images, class_indices, train_config: TrainConfig, context: DistributedContext,
                    checkpoint_dir, progress: bool) -> FitReport:
        start, start_step = time.monotonic(), self.step
        rows = shard_slice(train_config.batch_size, context)
        losses: list[float] = []
        stopped_early = False
        model.train()
        bar = tqdm(total=train_config.steps, initial=self.step, desc="sgm fit", disable=not progress or not context.is_main)
        while self.step < train_config.steps:
            loss = self._train_step(model, images, class_indices, train_config, rows)
            losses.append(loss)
            self.step += 1
            bar.update(1)
            if self.step % train_config.log_every == 0:
                recent = float(np.mean(losses[-train_config.log_every:]))
                bar.set_postfix(loss=f"{recent:.4f}")
                logger.info("sgm step %d/%d: loss %.5f", self.step, train_config.steps, recent)
            if checkpoint_dir is not None and train_config.checkpoint_every and self.step % train_config.checkpoint_every == 0:
                self._torch_rng_state = torch.get_rng_state()
                self._save_if_main(checkpoint_dir, train_config, context)
            out_of_time = train_config.time_limit_s > 0 and time.monotonic() - start > train_config.time_limit_s
            if broadcast_flag(out_of_time, context, self.device if self.device.startswith("cuda") else "cpu") and self.step < train_config.steps:
                logger.warning("sgm training stopped at step %d: time limit of %.0f s reached.", self.step, train_config.time_limit_s)
                stopped_early = True
                break
        bar.close()
        steps_run = self.step - start_step
        final = {"loss": float(np.mean(losses[-train_config.log_every:]))} if losses else {}
        return FitReport(steps_run, steps_run * train_config.batch_size, time.monotonic() - start, final, stopped_early=stopped_early)

    def _train_step(self, model, images, class_indices, train_config: TrainConfig, rows: slice) -> float:
        config = self.config
        batch = draw_batch(
            self._draw_generator, images, class_indices, batch_size=train_config.batch_size, sde=self.sde, sde_config=config.sde,
            random_flip=config.random_flip, label_dropout=config.label_dropout, null_class=config.network.num_classes,
        ).rows(rows)
        labels = None if batch.class_labels is None else batch.class_labels.to(self.device)
        noise_model = noise_model_for(model, self.sde, labels, config.channels_last, self._sigma_data())
        loss = denoising_score_matching_loss(
            noise_model, self.sde, batch.x0.to(self.device), batch.t.to(self.device), batch.z.to(self.device),
            likelihood_weighting=config.sde.likelihood_weighting, sigma_data=self._sigma_data(),
        )
        if not torch.isfinite(loss):
            raise FloatingPointError(f"sgm loss is {loss.item()} at step {self.step}; lower the learning rate or check the data.")
        rate = warmup_learning_rate(self.step, train_config.learning_rate, config.warmup_steps)
        optimizer_step(model, self.optimizer, loss, learning_rate=rate, grad_clip=config.grad_clip)
        update_ema(self.ema, self.network, config.ema_decay, self.step)
        return float(loss.detach())

    # ---- checkpoints --------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        return {
            "network": self.network.state_dict(),
            "ema": self.ema.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "step": self.step,
            "draw_rng": self._draw_generator.get_state(),
            "torch_rng": self._torch_rng_state if self._torch_rng_state is not None else torch.get_rng_state(),
        }

    def _metadata(self, train_config: TrainConfig | None) -> dict[str, Any]:
        return {
            "generator": self.name,
            "family": self.family,
            "model_config": config_to_dict(self.config),
            "train_config": None if train_config is None else config_to_dict(train_config),
            "step": self.step,
        }

    def _save_if_main(self, directory, train_config: TrainConfig, context: DistributedContext) -> None:
        if context.is_main:
            save_checkpoint(directory, self._state(), self._metadata(train_config))
            logger.info("sgm checkpoint at step %d written to %s", self.step, directory)
        barrier(context)

    def _load_state(self, state: dict[str, Any]) -> None:
        self.network.load_state_dict(state["network"])
        self.ema.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        self._draw_generator.set_state(state["draw_rng"])
        self._torch_rng_state = state["torch_rng"]

    def _maybe_resume(self, checkpoint_dir) -> int:
        if not has_checkpoint(checkpoint_dir):
            return 0
        state, metadata = load_checkpoint(checkpoint_dir, map_location=self.device)
        # The sampler does not affect training, so a resumed run may change it
        recorded = {key: value for key, value in (metadata.get("model_config") or {}).items() if key != "sampler"}
        current = {key: value for key, value in config_to_dict(self.config).items() if key != "sampler"}
        if recorded != current:
            raise CheckpointError(
                f"the checkpoint in {checkpoint_dir} was trained with another model config; "
                "use a fresh checkpoint_dir or the config recorded in its checkpoint.json."
            )
        self._load_state(state)
        logger.info("sgm resumes from step %d in %s", self.step, checkpoint_dir)
        return self.step

    def save(self, directory: str | Path) -> None:
        self._require_network()
        save_checkpoint(directory, self._state(), self._metadata(None))

    @classmethod
    def load(cls, directory: str | Path, *, device: str = "cpu") -> "SGMGenerator":
        state, metadata = load_checkpoint(directory, map_location=device)
        if metadata.get("generator") != "sgm":
            raise CheckpointError(f"{directory} contains a {metadata.get('generator')!r} checkpoint, expected 'sgm'; load it with that generator's class.")
        generator = cls(sgm_config_from_dict(metadata["model_config"], where=f"{directory}/checkpoint.json"), device=device)
        generator._build(0)
        generator._load_state(state)
        return generator

    # ---- sampling and likelihood ----------------------------------------------------------

    def _class_indices(self, labels: np.ndarray | None, count: int, *, name: str) -> torch.Tensor | None:
        """Map labels (0 track, 1 shower, -1 unknown) to class indices, -1 to the null class."""
        num_classes = self.config.network.num_classes
        if labels is None:
            return None if num_classes == 0 else torch.full((count,), num_classes, dtype=torch.long)
        if num_classes == 0:
            raise ValueError(f"{name} were given but this sgm config is unconditional; set network.num_classes = 2.")
        array = np.asarray(labels)
        if array.shape != (count,) or not np.isin(array, (-1, 0, 1)).all():
            raise ValueError(f"{name} must have shape ({count},) with values 0 (track), 1 (shower) or -1 (unknown).")
        indices = torch.from_numpy(array.astype(np.int64))
        return torch.where(indices < 0, torch.full_like(indices, num_classes), indices)

    def sample(self, num_samples: int, *, seed: int, batch_size: int = 256, labels: np.ndarray | None = None) -> np.ndarray:
        self._require_network()
        if num_samples < 1 or batch_size < 1:
            raise ValueError(f"num_samples={num_samples}, batch_size={batch_size}; expected positive integers.")
        class_indices = self._class_indices(labels, num_samples, name="labels")
        context = init_distributed(self.device)
        seeds = per_image_seeds(seed, num_samples)
        part = shard_slice(num_samples, context)
        outputs = [np.zeros((0, 64, 64), dtype=np.float32)]
        for start in range(part.start, part.stop, batch_size):
            stop = min(start + batch_size, part.stop)
            batch_labels = None if class_indices is None else class_indices[start:stop].to(self.device)
            outputs.append(self._sample_batch(seeds[start:stop], batch_labels))
        return gather_arrays(np.concatenate(outputs), context)

    def _sample_batch(self, seeds: np.ndarray, class_labels: torch.Tensor | None) -> np.ndarray:
        sampler_config = self.config.sampler
        noise = PerImageNoise(seeds)
        x = (self.sde.prior_std * noise.randn((1, 64, 64))).to(self.device)
        score_fn = ScoreFunction(noise_model_for(self.ema, self.sde, class_labels, self.config.channels_last, self._sigma_data()), self.sde)
        options: dict[str, float] = {}
        if sampler_config.name == "predictor_corrector":
            options = {"snr": sampler_config.snr, "corrector_steps": sampler_config.corrector_steps}
        elif sampler_config.name == "ode_rk45":
            options = {"rtol": sampler_config.rtol, "atol": sampler_config.atol}
        elif sampler_config.name in ("dpm_solver_2m", "heun_edm", "dpm_solver_2m_sde"):
            options = {"rho": sampler_config.rho}
        elif sampler_config.name == "edm_stochastic":
            options = {"rho": sampler_config.rho, "churn": sampler_config.churn, "churn_min": sampler_config.churn_min,
                       "churn_max": sampler_config.churn_max, "noise_inflation": sampler_config.noise_inflation}
        sampler = get_sampler(sampler_config.name)
        x = sampler(score_fn, self.sde, x, steps=sampler_config.steps, noise=noise if is_stochastic(sampler_config.name) else None,
                    eps=self.config.sde.sampling_eps, **options)
        self._measured_evaluations = float(score_fn.evaluations)
        return model_space_to_images(x).cpu().numpy().astype(np.float32)

    def function_evaluations_per_image(self) -> float:
        sampler_config = self.config.sampler
        count = evaluations_per_image(sampler_config.name, sampler_config.steps, corrector_steps=sampler_config.corrector_steps)
        if count is not None:
            return count
        if self._measured_evaluations is None:
            self.sample(2, seed=0)
        return self._measured_evaluations

    def log_likelihood(self, images: np.ndarray, *, seed: int = 0, batch_size: int = 64) -> np.ndarray:
        """Return bits per dimension of uint8 images under the EMA model's probability-flow ODE.

        Pixels are dequantised with uniform noise u, y = (k + u) / 256, and mapped to x = 2 y - 1.
        Each image draws its noise and its Rademacher probe from its own seed, and its ODE is
        solved alone because RK45's step control would otherwise couple the images of a batch.
        So results do not depend on ``batch_size``, which is accepted for the shared interface.
        """
        network = self._require_network()
        array = validate_images(images, name="images")
        seeds = per_image_seeds(seed, array.shape[0])
        null_class = None
        if self.config.network.num_classes:
            null_class = torch.full((1,), self.config.network.num_classes, dtype=torch.long, device=self.device)
        noise_model = noise_model_for(network, self.sde, null_class, self.config.channels_last, self._sigma_data())
        results = []
        for image, image_seed in zip(array, seeds):
            generator = torch.Generator().manual_seed(int(image_seed))
            pixels = torch.from_numpy(image).double()[None, None]
            uniform = torch.rand((1, 1, 64, 64), generator=generator, dtype=torch.float64)
            x = (2.0 * (pixels + uniform) / 256.0 - 1.0).float().to(self.device)
            probes = draw_probes((1, 1, 64, 64), "rademacher", generator).to(self.device)
            log_prob, _ = ode_log_likelihood(ScoreFunction(noise_model, self.sde), self.sde, x, probes=probes,
                                             eps=self.config.sde.train_eps, rtol=self.config.sampler.rtol,
                                             atol=self.config.sampler.atol)
            results.append(bits_per_dim(log_prob, 64 * 64, scale_offset_bits=7.0).numpy())
        return np.concatenate(results)

    def torch_modules(self) -> dict[str, torch.nn.Module]:
        """Return the trained network and its EMA copy (which has no trainable parameters) by name."""
        self._require_network()
        return {"network": self.network, "ema": self.ema}
