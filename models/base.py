"""The generator interface every model family implements.

Lifecycle: ``Generator(model_config)`` stores the family's hyper-parameters, ``fit`` trains
within the budget of a ``TrainConfig``, ``sample`` returns float32 images on the 0-255 scale,
and ``save``/``load`` round-trip weights, EMA weights, optimizer state and config so training
resumes.
"""

from __future__ import annotations

import abc
import dataclasses
from pathlib import Path
from typing import Any, Callable, ClassVar

import numpy as np

from .config import require
from .distributed import local_device


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """The training budget and optimizer settings shared by every family.

    ``steps`` counts optimizer steps (for a GAN, generator steps). ``checkpoint_every``
    is in steps; 0 checkpoints only at the end. ``time_limit_s`` stops training early, at a
    step boundary, when the wall-clock budget is spent (0 disables it).
    """

    steps: int = 1000
    batch_size: int = 64
    learning_rate: float = 2e-4
    seed: int = 0
    checkpoint_every: int = 0
    log_every: int = 100
    time_limit_s: float = 0.0

    def __post_init__(self) -> None:
        require(self.steps >= 1, f"steps is {self.steps}; expected a positive number of optimizer steps.")
        require(self.batch_size >= 1, f"batch_size is {self.batch_size}; expected a positive integer.")
        require(self.learning_rate > 0, f"learning_rate is {self.learning_rate}; expected a positive number.")
        require(self.checkpoint_every >= 0, f"checkpoint_every is {self.checkpoint_every}; expected >= 0.")
        require(self.log_every >= 1, f"log_every is {self.log_every}; expected a positive integer.")
        require(self.time_limit_s >= 0, f"time_limit_s is {self.time_limit_s}; expected >= 0 seconds.")


@dataclasses.dataclass
class FitReport:
    """Training summary: steps run, images seen, wall time in seconds and final loss values."""

    steps: int
    images_seen: int
    wall_time_s: float
    losses: dict[str, float] = dataclasses.field(default_factory=dict)
    resumed_from_step: int = 0
    stopped_early: bool = False


# Callback for per-step progress: (step, total_steps, losses).
ProgressCallback = Callable[[int, int, dict[str, float]], None]


class Generator(abc.ABC):
    """A generative model of (N, 64, 64) LArTPC images.

    Subclasses set ``name`` (the registry key), ``family`` and ``config_class`` (a frozen
    dataclass of hyper-parameters). Constructors only store and validate the config.
    """

    name: ClassVar[str] = ""
    family: ClassVar[str] = ""
    config_class: ClassVar[type] = object
    supports_likelihood: ClassVar[bool] = False
    # Top-level config fields that only change sampling, so a trained model can be resampled with others
    sampling_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: Any = None, *, device: str = "cpu") -> None:
        if config is None:
            config = self.config_class()
        if not isinstance(config, self.config_class):
            raise TypeError(
                f"{type(self).__name__} expects a {self.config_class.__name__}, got {type(config).__name__}."
            )
        self.config = config
        self.device = local_device(device)

    @abc.abstractmethod
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
        """Train on (N, 64, 64) uint8 images within ``train_config``'s budget.

        When ``checkpoint_dir`` contains a checkpoint from an earlier call, training resumes from
        it (logging the step); checkpoints are written there every
        ``train_config.checkpoint_every`` steps and at the end.
        ``labels`` (N,) int8 (0 track, 1 shower) is used only by class-conditional configs.
        """

    @abc.abstractmethod
    def sample(
        self, num_samples: int, *, seed: int, batch_size: int = 256, labels: np.ndarray | None = None
    ) -> np.ndarray:
        """Return float32 images (num_samples, 64, 64) on the 0-255 scale.

        The same seed gives the same images on the same device, whatever ``batch_size`` is.
        """

    @abc.abstractmethod
    def save(self, directory: str | Path) -> None:
        """Write weights, EMA weights, optimizer state and config to ``directory``."""

    @classmethod
    @abc.abstractmethod
    def load(cls, directory: str | Path, *, device: str = "cpu") -> "Generator":
        """Rebuild a generator saved by ``save``; raises a clear error on a truncated checkpoint."""

    @abc.abstractmethod
    def num_parameters(self) -> int:
        """Return the number of trainable parameters."""

    def log_likelihood(self, images: np.ndarray, *, seed: int = 0, batch_size: int = 64) -> np.ndarray:
        """Return the negative log-likelihood of (N, 64, 64) uint8 images in bits per dimension."""
        raise NotImplementedError(f"generator {self.name!r} has no log-likelihood.")

    def function_evaluations_per_image(self) -> float:
        """Return the network evaluations that ``sample`` spends per image (1 for one-shot models)."""
        return 1.0
