"""Run options: presets (TOML) resolved into typed, frozen dataclasses.

A preset has three tables. ``[dataset]`` names a catalog dataset or a split file;
``[evaluation]`` sets the sample count, metric set, post-processing threshold and seed;
``[models]`` lists the generators and, per generator, the family config file to use
(``models/<family>/configs/<name>.toml``) with optional ``model`` and ``train`` overrides.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import inspect
from pathlib import Path
from typing import Any

from lartpcbench.models import TrainConfig, get_generator_class
from lartpcbench.models.config import ConfigError, config_from_dict, config_to_dict, load_toml, require

PRESET_NAMES = ("smoke", "quick", "paper")
METRIC_SETS = ("fast", "default")


@dataclasses.dataclass(frozen=True)
class DatasetOptions:
    """Data source: a catalog name, or a split file that overrides it."""

    name: str = "sim64-v1"
    split_file: str = ""
    max_train_images: int = 0

    def __post_init__(self) -> None:
        require(bool(self.name) or bool(self.split_file), "dataset needs a catalog name or a split_file path.")
        require(self.max_train_images >= 0, f"max_train_images is {self.max_train_images}; expected >= 0 (0 = all).")


@dataclasses.dataclass(frozen=True)
class EvaluationOptions:
    """Sampling and scoring options.

    ``num_samples`` images are generated per model and scored against at most
    ``reference_images`` test images; ``metrics`` is a metric-set name ("fast", "default") or
    a list of metric names.
    """

    num_samples: int = 1000
    reference_images: int = 2000
    sample_batch_size: int = 250
    metrics: Any = "default"
    noise_threshold: int = 4
    seed: int = 0
    preview_images: int = 36

    def __post_init__(self) -> None:
        require(self.num_samples >= 2, f"num_samples is {self.num_samples}; expected at least 2.")
        require(self.reference_images >= 2, f"reference_images is {self.reference_images}; expected at least 2.")
        require(self.sample_batch_size >= 1, f"sample_batch_size is {self.sample_batch_size}; expected >= 1.")
        require(0 <= self.noise_threshold < 255, f"noise_threshold is {self.noise_threshold}; expected 0-254.")
        require(self.preview_images >= 1, f"preview_images is {self.preview_images}; expected >= 1.")
        if isinstance(self.metrics, str):
            require(self.metrics in METRIC_SETS, f"metrics is {self.metrics!r}; expected one of {METRIC_SETS} or a list of names.")
        else:
            object.__setattr__(self, "metrics", tuple(self.metrics))


@dataclasses.dataclass(frozen=True)
class ModelOptions:
    """One generator of a run: its registry name, resolved family config and training budget."""

    name: str
    label: str
    config_name: str
    model_config: Any
    train_config: TrainConfig


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything a run needs, resolved before work starts and saved into the run directory."""

    preset: str
    dataset: DatasetOptions
    evaluation: EvaluationOptions
    models: tuple[ModelOptions, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "dataset": config_to_dict(self.dataset),
            "evaluation": config_to_dict(self.evaluation),
            "models": [
                {
                    "name": model.name,
                    "label": model.label,
                    "config_name": model.config_name,
                    "model": config_to_dict(model.model_config),
                    "train": config_to_dict(model.train_config),
                }
                for model in self.models
            ],
        }


def preset_path(preset: str) -> Path:
    """Return the TOML file of a built-in preset name, or ``preset`` itself when it is a file."""
    if preset.endswith(".toml"):
        return Path(preset)
    if preset not in PRESET_NAMES:
        raise ConfigError(f"unknown preset {preset!r}; expected one of {list(PRESET_NAMES)} or a path to a .toml file.")
    return Path(str(importlib.resources.files("lartpcbench.bench") / "presets" / f"{preset}.toml"))


def family_config_path(generator_name: str, config_name: str) -> Path:
    """Return ``configs/<config_name>.toml`` beside the module that defines the generator."""
    generator_class = get_generator_class(generator_name)
    return Path(inspect.getfile(generator_class)).parent / "configs" / f"{config_name}.toml"


def resolve_model(name: str, table: dict[str, Any], default_config: str) -> ModelOptions:
    """Resolve one generator's options: family config file, then the preset's overrides."""
    generator_class = get_generator_class(name)
    table = dict(table)
    config_name = table.pop("config", default_config)
    label = table.pop("label", name)
    model_overrides = table.pop("model", {})
    train_overrides = table.pop("train", {})
    if table:
        raise ConfigError(f"unknown keys {sorted(table)} in [models.{name}]; known keys: config, label, model, train.")

    path = family_config_path(name, config_name)
    base = load_toml(path) if path.is_file() else {}
    if not path.is_file() and config_name != "default":
        raise ConfigError(
            f"generator {name!r} has no config {config_name!r} (looked for {path}); "
            "set [models.NAME] config = \"default\" to use its built-in defaults."
        )
    model_values = {**base.get("model", {}), **model_overrides}
    train_values = {**base.get("train", {}), **train_overrides}
    return ModelOptions(
        name=name,
        label=label,
        config_name=config_name,
        model_config=config_from_dict(generator_class.config_class, model_values, where=f"{path} [model]"),
        train_config=config_from_dict(TrainConfig, train_values, where=f"{path} [train]"),
    )


def load_run_config(preset: str, *, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Load a preset and apply command-line overrides (``dataset``, ``evaluation``, ``models``)."""
    path = preset_path(preset)
    values = load_toml(path)
    overrides = overrides or {}
    unknown = sorted(set(values) - {"dataset", "evaluation", "models"})
    if unknown:
        raise ConfigError(f"unknown tables {unknown} in preset {path}; expected dataset, evaluation, models.")

    dataset = config_from_dict(DatasetOptions, {**values.get("dataset", {}), **overrides.get("dataset", {})}, where=f"{path} [dataset]")
    evaluation = config_from_dict(
        EvaluationOptions, {**values.get("evaluation", {}), **overrides.get("evaluation", {})}, where=f"{path} [evaluation]"
    )
    models_table = dict(values.get("models", {}))
    default_config = models_table.pop("config", Path(path).stem)
    names = overrides.get("model_names") or models_table.pop("names", [])
    models_table.pop("names", None)
    if not names:
        raise ConfigError(f"preset {path} selects no generators; set [models] names = [...] or pass --models.")
    model_overrides = overrides.get("models", {})
    models = tuple(
        resolve_model(name, _merge_tables(models_table.get(name, {}), model_overrides.get(name, {})), default_config)
        for name in names
    )
    return RunConfig(preset=str(preset), dataset=dataset, evaluation=evaluation, models=models)


def _merge_tables(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged
