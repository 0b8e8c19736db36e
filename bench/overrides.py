"""Command-line overrides of preset values: ``--set SECTION.KEY=VALUE``."""

from __future__ import annotations

import tomllib
from typing import Any

from lartpcbench.models.config import ConfigError


def parse_value(text: str) -> Any:
    """Parse a TOML value (number, boolean, string, list); bare words are taken as strings."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def parse_overrides(assignments: list[str]) -> dict[str, Any]:
    """Turn ``["evaluation.num_samples=100", "models.sgm.train.steps=5"]`` into nested tables.

    Top-level sections are ``dataset``, ``evaluation`` and ``models``; ``models.NAME.model.KEY``
    and ``models.NAME.train.KEY`` override one generator's config fields.
    """
    for assignment in assignments:
        key, separator, _ = assignment.partition("=")
        parts = key.strip().split(".")
        if not separator or len(parts) < 2 or not all(parts):
            raise ConfigError(
                f"override {assignment!r} is invalid; expected SECTION.KEY=VALUE, e.g. evaluation.num_samples=500 "
                "or models.sgm.train.steps=100."
            )
        if parts[0] not in ("dataset", "evaluation", "models"):
            raise ConfigError(f"override {assignment!r} names section {parts[0]!r}; expected dataset, evaluation or models.")
    return parse_nested_assignments(assignments)


def parse_nested_assignments(assignments: list[str]) -> dict[str, Any]:
    """Turn ``["sampler.steps=25", "temperature=0.8"]`` into ``{"sampler": {"steps": 25}, "temperature": 0.8}``."""
    nested: dict[str, Any] = {}
    for assignment in assignments:
        key, separator, text = assignment.partition("=")
        parts = key.strip().split(".")
        if not separator or not all(parts):
            raise ConfigError(f"setting {assignment!r} is invalid; expected KEY=VALUE, e.g. sampler.steps=25.")
        table = nested
        for part in parts[:-1]:
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                raise ConfigError(f"setting {assignment!r} conflicts with an earlier setting of {part!r}.")
        table[parts[-1]] = parse_value(text.strip())
    return nested
