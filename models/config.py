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
