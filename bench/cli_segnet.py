"""``lartpc-bench segnet``: train and score the LArTPC segmentation network behind ``fd_segnet``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lartpcbench.bench.metrics.segnet import DEFAULT_WEIGHTS
from lartpcbench.bench.metrics.segnet_training import (
    build_training_split,
    evaluate_segmentation_network,
    train_segmentation_network,
)


def add_segnet_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("segnet", help="train or score the segmentation network used as a feature extractor")
    actions = parser.add_subparsers(dest="segnet_command", required=True, metavar="ACTION")

    train = actions.add_parser("train", help="train the network on a split file with per-pixel labels")
    train.add_argument("--split-file", type=Path, help="split file with semantic labels (default: simulate one)")
    train.add_argument("--out", type=Path, default=Path(DEFAULT_WEIGHTS), help="weights folder to write")
    train.add_argument("--steps", type=int, default=2000, help="optimizer steps")
    train.add_argument("--seed", type=int, default=0)
    train.set_defaults(handler=run_train)

    score = actions.add_parser("evaluate", help="print per-class pixel accuracy on one split")
    score.add_argument("split_file", type=Path)
    score.add_argument("--split", default="test", choices=["train", "val", "test"])
    score.add_argument("--weights", type=Path, default=Path(DEFAULT_WEIGHTS), help="weights folder (default: shipped)")
    score.set_defaults(handler=run_evaluate)


def run_train(args: argparse.Namespace) -> int:
    split_file = args.split_file
    if split_file is None:
        split_file = build_training_split(args.out.parent / "segnet-train.h5", progress=not args.no_progress)
    metadata = train_segmentation_network(split_file, args.out, steps=args.steps, seed=args.seed, progress=not args.no_progress)
    print(json.dumps(metadata.get("test_scores", {}), indent=2))
    print(f"wrote {args.out}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    print(json.dumps(evaluate_segmentation_network(args.split_file, split=args.split, weights=args.weights), indent=2))
    return 0
