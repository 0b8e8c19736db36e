"""``lartpc-bench ablate``: train one generator under several values of one option and rank them.

Each value becomes its own leaderboard row, labelled ``NAME[FIELD=VALUE]``, trained, sampled
and scored by the main job in one run directory beside the real-vs-real reference row.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from lartpcbench.models.config import ConfigError

from . import runner
from .cli_common import add_run_options, default_run_dir, resolve_config
from .config import RunConfig, resolve_model
from .overrides import parse_value


def parse_variation(text: str) -> tuple[str, str, str, list[Any]]:
    """Split ``models.NAME.SECTION.FIELD=V1,V2`` into (NAME, SECTION, FIELD, values)."""
    key, separator, values_text = text.partition("=")
    parts = key.split(".")
    if not separator or len(parts) != 4 or parts[0] != "models" or parts[2] not in ("model", "train"):
        raise ConfigError(
            f"--vary {text!r} is invalid; expected models.NAME.model.FIELD=V1,V2 or models.NAME.train.FIELD=V1,V2."
        )
    values = [parse_value(item.strip()) for item in values_text.split(",") if item.strip()]
    if len(values) < 2:
        raise ConfigError(f"--vary {text!r} lists {len(values)} value(s); an ablation needs at least two.")
    return parts[1], parts[2], parts[3], values


def build_ablation(base: RunConfig, variation: str) -> RunConfig:
    """Return ``base`` with its models replaced by one variant per value of the varied field."""
    name, section, field, values = parse_variation(variation)
    variants = []
    for value in values:
        label = f"{name}[{field}={value}]"
        variants.append(resolve_model(name, {"config": _config_name(base, name), "label": label, section: {field: value}}, "quick"))
    return dataclasses.replace(base, models=tuple(variants))


def _config_name(base: RunConfig, name: str) -> str:
    for model in base.models:
        if model.name == name:
            return model.config_name
    return Path(base.preset).stem


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("ablate", help="train one generator under several values of one option")
    add_run_options(parser)
    parser.add_argument("--vary", required=True, metavar="models.NAME.SECTION.FIELD=V1,V2,...", help="the option and its values")
    parser.set_defaults(handler=command_ablate)


def command_ablate(args: argparse.Namespace) -> int:
    name, _, field, _ = parse_variation(args.vary)
    args.models = args.models or name
    config = build_ablation(resolve_config(args), args.vary)
    run_dir = args.run_dir or default_run_dir(config, args.preset).with_name(f"ablate-{name}-{field}")
    print(json.dumps(config.to_dict(), indent=2))
    summary = runner.run(config, run_dir, results_root=args.results_root, device=args.device, progress=not args.no_progress)
    print(f"leaderboard: {summary.leaderboard.get('markdown', run_dir / 'leaderboard')}")
    return 0
