"""Typed, frozen dataclass configs loaded from TOML tables, with unknown keys rejected."""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from pathlib import Path
from typing import Any, TypeVar

ConfigT = TypeVar("ConfigT")


class ConfigError(ValueError):
    """A configuration value or key that is invalid."""


def config_from_dict(config_class: type[ConfigT], values: dict[str, Any] | None, *, where: str = "") -> ConfigT:
    """Build a frozen dataclass config from a mapping, rejecting unknown keys.

    Lists become tuples for tuple-typed fields, so configs stay hashable and comparable.
    ``where`` names the source (a file or TOML table) in error messages.
    """
    values = dict(values or {})
    fields = {field.name: field for field in dataclasses.fields(config_class)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        location = f" in {where}" if where else ""
        raise ConfigError(
            f"unknown keys {unknown} for {config_class.__name__}{location}; known keys: {sorted(fields)}."
        )
    hints = typing.get_type_hints(config_class)
    for key, value in values.items():
        if isinstance(value, list) and "tuple" in str(hints.get(key, "")):
            values[key] = tuple(value)
    try:
        return config_class(**values)
    except TypeError as error:
        raise ConfigError(f"invalid {config_class.__name__}{' in ' + where if where else ''}: {error}") from error


def config_to_dict(config: Any) -> dict[str, Any]:
    """Return a dataclass config as a JSON- and TOML-friendly dict (tuples become lists)."""

    def convert(value: Any) -> Any:
        if isinstance(value, tuple):
            return [convert(item) for item in value]
        if isinstance(value, dict):
            return {key: convert(item) for key, item in value.items()}
        return value

    return {key: convert(value) for key, value in dataclasses.asdict(config).items()}


def with_sampling_overrides(config: ConfigT, overrides: dict[str, Any], sampling_keys: tuple[str, ...]) -> ConfigT:
    """Return ``config`` with nested ``overrides`` applied, allowing only the top-level ``sampling_keys``.

    ``overrides`` maps a key to a value or, for a sub-config, to a table of its keys, e.g.
    ``{"sampler": {"name": "ddim", "steps": 50}}``. Keys outside ``sampling_keys`` would change a
    trained model's network or training and raise ``ConfigError``.
    """
    name = type(config).__name__
    for key in overrides:
        if key not in sampling_keys:
            settable = ", ".join(sampling_keys) if sampling_keys else "none"
            raise ConfigError(f"{key!r} is not a sampling setting of {name}; a trained model can change only: {settable}.")
    values = config_to_dict(config)

    def merge(target: dict[str, Any], changes: dict[str, Any], where: str) -> None:
        for key, value in changes.items():
            if isinstance(value, dict):
                if not isinstance(target.get(key), dict):
                    raise ConfigError(f"{where}{key} is not a table of {name}; set it as {where}{key}=VALUE.")
                merge(target[key], value, f"{where}{key}.")
            else:
                if isinstance(target.get(key), dict):
                    raise ConfigError(f"{where}{key} is a table of {name}; set one of its keys, e.g. {where}{key}.KEY=VALUE.")
                target[key] = value

    merge(values, overrides, "")
    return config_from_dict(type(config), values, where="sampling overrides")


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, raising a clear error when it is missing or malformed."""
    file_path = Path(path)
    if not file_path.is_file():
        raise FileNotFoundError(f"config file {file_path} not found.")
    try:
        return tomllib.loads(file_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{file_path} is not valid TOML: {error}") from error


def require(condition: bool, message: str) -> None:
    """Raise ``ConfigError(message)`` unless ``condition`` holds; used in ``__post_init__`` checks."""
    if not condition:
        raise ConfigError(message)
