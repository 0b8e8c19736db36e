"""Options shared by the commands that run generators: run, train and ablate."""

from __future__ import annotations

import argparse
from pathlib import Path

from .config import RunConfig, load_run_config
from .overrides import parse_overrides


def add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="quick", help="smoke, quick (default), paper, or a .toml file")
    parser.add_argument("--models", help="comma-separated generator names (default: the preset's)")
    parser.add_argument("--dataset", help="catalog dataset name (default: the preset's)")
    parser.add_argument("--split-file", type=Path, help="use this split file instead of a catalog dataset")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="override a preset value; repeatable")
    parser.add_argument("--run-dir", type=Path, help="run directory (default: runs/<preset>-<dataset>)")
    parser.add_argument("--results-root", type=Path, help="results store to write the result files into (default: <run-dir>/results)")
    parser.add_argument("--device", default="cpu", help="torch device for training and sampling, e.g. cpu or cuda")


def resolve_config(args: argparse.Namespace) -> RunConfig:
    overrides = parse_overrides(args.set)
    dataset = overrides.setdefault("dataset", {})
    if args.dataset:
        dataset["name"] = args.dataset
    if args.split_file:
        dataset["split_file"] = str(args.split_file)
    if args.models:
        overrides["model_names"] = [name.strip() for name in args.models.split(",") if name.strip()]
    return load_run_config(args.preset, overrides=overrides)


def default_run_dir(config: RunConfig, preset: str) -> Path:
    dataset = Path(config.dataset.split_file).stem if config.dataset.split_file else config.dataset.name
    return Path("runs") / f"{Path(preset).stem}-{dataset}"
