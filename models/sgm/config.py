"""Hyper-parameters of the score-based diffusion baseline, one frozen dataclass per component.

The defaults are the reference settings of Imani, Aeron and Wongjirad, "Score-based diffusion
models for generating LArTPC images" (arXiv:2307.13687). They are a DDPM++ network with 128 base channels,
multipliers 1,2,2,2, 4 residual blocks per level, attention at 16x16 and dropout 0.1; a VP-SDE with
linear beta from 0.1 to 20; EMA 0.9999; 5,000 warm-up steps; gradient clip 1; 1,000-step
Euler-Maruyama sampling. Images enter the network scaled from 0-255 to [-1, 1].
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from lartpcbench.models.base import TrainConfig
from lartpcbench.models.config import ConfigError, config_from_dict, load_toml, require

CONFIG_DIR = Path(__file__).resolve().parent / "configs"

SDE_KINDS = ("vp", "subvp", "ve")
TIME_EMBEDDINGS = ("positional", "fourier")
PARAMETERIZATIONS = ("eps", "edm")
SAMPLER_NAMES = ("euler_maruyama", "predictor_corrector", "ode_rk45", "ddim", "dpm_solver_2m", "heun_edm", "edm_stochastic",
                 "dpm_solver_2m_sde")


@dataclasses.dataclass(frozen=True)
class NetworkConfig:
    """A DDPM++-style U-Net. ``num_classes`` 0 is unconditional, 2 conditions on track/shower.

    ``patch_size`` p > 1 folds each p x p pixel patch into channels before the first convolution
    (space-to-depth) and unfolds it after the last, so the U-Net runs at (64 / p) x (64 / p) and
    costs about p^2 times less; ``attention_resolutions`` refer to the folded feature maps.
    """

    base_channels: int = 128
    channel_multipliers: tuple[int, ...] = (1, 2, 2, 2)
    num_res_blocks: int = 4
    attention_resolutions: tuple[int, ...] = (16,)
    dropout: float = 0.1
    time_embedding: str = "positional"
    fourier_scale: float = 16.0
    num_classes: int = 0
    patch_size: int = 1

    def __post_init__(self) -> None:
        require(self.patch_size in (1, 2, 4), f"network.patch_size is {self.patch_size}; expected 1, 2 or 4.")
        require(self.base_channels >= 4 and self.base_channels % 4 == 0,
                f"network.base_channels is {self.base_channels}; expected a positive multiple of 4.")
        require(len(self.channel_multipliers) >= 1 and all(m >= 1 for m in self.channel_multipliers),
                f"network.channel_multipliers is {self.channel_multipliers}; expected positive integers.")
        top = 64 // self.patch_size
        require(len(self.channel_multipliers) <= top.bit_length() - 2,
                f"network.channel_multipliers has {len(self.channel_multipliers)} levels; a {top}x{top} input "
                f"allows at most {top.bit_length() - 2}.")
        require(self.num_res_blocks >= 1, f"network.num_res_blocks is {self.num_res_blocks}; expected >= 1.")
        resolutions = {top >> level for level in range(len(self.channel_multipliers))}
        unknown = sorted(set(self.attention_resolutions) - resolutions)
        require(not unknown, f"network.attention_resolutions {unknown} are not U-Net levels; choose from {sorted(resolutions)}.")
        require(0.0 <= self.dropout < 1.0, f"network.dropout is {self.dropout}; expected a value in [0, 1).")
        require(self.time_embedding in TIME_EMBEDDINGS,
                f"network.time_embedding is {self.time_embedding!r}; expected one of {TIME_EMBEDDINGS}.")
        require(self.fourier_scale > 0, f"network.fourier_scale is {self.fourier_scale}; expected > 0.")
        require(self.num_classes in (0, 2),
                f"network.num_classes is {self.num_classes}; expected 0 (unconditional) or 2 (track/shower).")


@dataclasses.dataclass(frozen=True)
class SDEConfig:
    """The forward SDE and its time range; ``beta_*`` apply to VP and sub-VP, ``sigma_*`` to VE.

    ``time_sampling`` "uniform" draws training times t ~ U(train_eps, 1) as score_sde does;
    "lognormal" draws the noise level ln sigma ~ N(-1.2, 1.2^2) as EDM does (Karras et al.,
    arXiv:2206.00364) and maps it to t, clipped to [train_eps, 1], which spends fewer steps on
    noise levels where the image is already destroyed.
    """

    kind: str = "vp"
    beta_min: float = 0.1
    beta_max: float = 20.0
    sigma_min: float = 0.01
    sigma_max: float = 50.0
    sampling_eps: float = 1e-3
    train_eps: float = 1e-5
    likelihood_weighting: bool = False
    time_sampling: str = "uniform"

    def __post_init__(self) -> None:
        require(self.time_sampling in ("uniform", "lognormal"),
                f"sde.time_sampling is {self.time_sampling!r}; expected 'uniform' or 'lognormal'.")
        require(self.kind in SDE_KINDS, f"sde.kind is {self.kind!r}; expected one of {SDE_KINDS}.")
        require(0 < self.beta_min <= self.beta_max,
                f"sde.beta_min={self.beta_min}, beta_max={self.beta_max}; expected 0 < beta_min <= beta_max.")
        require(0 < self.sigma_min < self.sigma_max,
                f"sde.sigma_min={self.sigma_min}, sigma_max={self.sigma_max}; expected 0 < sigma_min < sigma_max.")
        require(0 < self.sampling_eps < 0.5, f"sde.sampling_eps is {self.sampling_eps}; expected a small time in (0, 0.5).")
        require(0 < self.train_eps < 0.5, f"sde.train_eps is {self.train_eps}; expected a small time in (0, 0.5).")


@dataclasses.dataclass(frozen=True)
class SamplerConfig:
    """The sampler that ``sample`` uses; ``steps`` is ignored by the adaptive ``ode_rk45``."""

    name: str = "euler_maruyama"
    steps: int = 1000
    snr: float = 0.16
    corrector_steps: int = 1
    rtol: float = 1e-5
    atol: float = 1e-5
    rho: float = 7.0
    churn: float = 40.0
    churn_min: float = 0.05
    churn_max: float = 50.0
    noise_inflation: float = 1.003

    def __post_init__(self) -> None:
        require(self.name in SAMPLER_NAMES, f"sampler.name is {self.name!r}; expected one of {SAMPLER_NAMES}.")
        require(self.steps >= 1, f"sampler.steps is {self.steps}; expected a positive integer.")
        require(self.snr > 0, f"sampler.snr is {self.snr}; expected > 0.")
        require(self.corrector_steps >= 1, f"sampler.corrector_steps is {self.corrector_steps}; expected >= 1.")
        require(self.rtol > 0 and self.atol > 0, f"sampler.rtol={self.rtol}, atol={self.atol}; expected > 0.")
        require(self.rho > 0, f"sampler.rho is {self.rho}; expected > 0.")
        require(self.churn >= 0, f"sampler.churn is {self.churn}; expected >= 0 (0 turns the EDM sampler deterministic).")
        require(0 <= self.churn_min <= self.churn_max,
                f"sampler.churn_min={self.churn_min}, churn_max={self.churn_max}; expected 0 <= churn_min <= churn_max.")
        require(self.noise_inflation >= 1, f"sampler.noise_inflation is {self.noise_inflation}; expected >= 1.")


@dataclasses.dataclass(frozen=True)
class SGMConfig:
    """Everything that defines one score-based diffusion model, apart from the training budget.

    ``label_dropout`` is the probability of replacing a class label by the null class while
    training a conditional network, so that it also samples unconditionally.
    ``parameterization`` "eps" makes the network predict the noise, as in the reference work;
    "edm" wraps it in the preconditioning of Karras et al. (arXiv:2206.00364) with data standard
    deviation ``sigma_data`` and weights the loss so that every noise level counts alike, which
    trains faster on a small budget. The EMA decay ramps up as min(ema_decay, (1 + n) / (10 + n))
    after n steps, so that early weights leave the average quickly.
    """

    network: NetworkConfig = NetworkConfig()
    sde: SDEConfig = SDEConfig()
    sampler: SamplerConfig = SamplerConfig()
    ema_decay: float = 0.9999
    warmup_steps: int = 5000
    grad_clip: float = 1.0
    random_flip: bool = True
    label_dropout: float = 0.1
    channels_last: bool = True
    parameterization: str = "eps"
    sigma_data: float = 0.5

    def __post_init__(self) -> None:
        for name, sub_class in (("network", NetworkConfig), ("sde", SDEConfig), ("sampler", SamplerConfig)):
            value = getattr(self, name)
            if isinstance(value, dict):
                object.__setattr__(self, name, config_from_dict(sub_class, value, where=f"[model.{name}]"))
            elif not isinstance(value, sub_class):
                raise TypeError(f"SGMConfig.{name} is a {type(value).__name__}; expected a table or {sub_class.__name__}.")
        require(0.0 <= self.ema_decay < 1.0, f"ema_decay is {self.ema_decay}; expected a value in [0, 1).")
        require(self.warmup_steps >= 0, f"warmup_steps is {self.warmup_steps}; expected >= 0.")
        require(self.grad_clip >= 0, f"grad_clip is {self.grad_clip}; expected >= 0 (0 disables clipping).")
        require(self.parameterization in PARAMETERIZATIONS,
                f"parameterization is {self.parameterization!r}; expected one of {PARAMETERIZATIONS}.")
        require(self.sigma_data > 0, f"sigma_data is {self.sigma_data}; expected > 0.")
        require(0.0 <= self.label_dropout < 1.0, f"label_dropout is {self.label_dropout}; expected a value in [0, 1).")


def sgm_config_from_dict(values: dict[str, Any] | None, *, where: str = "") -> SGMConfig:
    """Build an ``SGMConfig`` from a TOML ``[model]`` table with sub-tables network, sde, sampler."""
    return config_from_dict(SGMConfig, values, where=where)


def load_config_file(path_or_name: str | Path) -> tuple[SGMConfig, TrainConfig]:
    """Read a TOML file with [model] and [train] tables; a bare name such as "quick" means a bundled file."""
    path = Path(path_or_name)
    if path.suffix != ".toml" and not path.exists():
        path = CONFIG_DIR / f"{path_or_name}.toml"
        if not path.is_file():
            known = sorted(file.stem for file in CONFIG_DIR.glob("*.toml"))
            raise FileNotFoundError(f"sgm config {str(path_or_name)!r} not found; bundled configs: {known}, or pass a .toml path.")
    values = load_toml(path)
    unknown = sorted(set(values) - {"model", "train"})
    if unknown:
        raise ConfigError(f"{path} has unknown tables {unknown}; expected [model] and [train].")
    model = sgm_config_from_dict(values.get("model"), where=f"{path} [model]")
    train = config_from_dict(TrainConfig, values.get("train"), where=f"{path} [train]")
    return model, train
