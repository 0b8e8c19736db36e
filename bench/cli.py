"""The ``lartpc-bench`` command line."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

from lartpcbench.datasets.catalog import ManifestMismatchError, UnknownDatasetError
from lartpcbench.datasets.fileio import save_array_atomic, write_text_atomic
from lartpcbench.datasets.images import ImageFormatError, postprocess
from lartpcbench.datasets.splits import SplitFileError
from lartpcbench.leaderboard import ResultValidationError, SampleFileError, load_sample_file, render_leaderboard
from lartpcbench.models import UnknownGeneratorError, available_generators, get_generator_class
from lartpcbench.models.checkpoint import CheckpointError
from lartpcbench.models.config import ConfigError, with_sampling_overrides

from . import ablate, runner, sampler_table
from .cli_data import add_data_parser
from .cli_segnet import add_segnet_parser
from .config import DatasetOptions, EvaluationOptions
from .overrides import parse_nested_assignments
from .data import load_run_data
from .cli_common import add_run_options, default_run_dir, resolve_config
from .record import Submission, score_and_record, score_images

logger = logging.getLogger("lartpcbench")

USER_ERRORS = (UnknownDatasetError, ManifestMismatchError, runner.RunDirectoryError, ResultValidationError, SampleFileError, ConfigError, ImageFormatError, SplitFileError, CheckpointError, UnknownGeneratorError, FileNotFoundError, ValueError)


def command_run(args: argparse.Namespace) -> int:
    config = resolve_config(args)
    run_dir = args.run_dir or default_run_dir(config, args.preset)
    print(json.dumps(config.to_dict(), indent=2))
    print(f"run directory: {run_dir}")
    summary = runner.run(config, run_dir, results_root=args.results_root, device=args.device, progress=not args.no_progress)
    print(f"leaderboard: {summary.leaderboard.get('markdown', run_dir / 'leaderboard')}")
    return 0


def command_train(args: argparse.Namespace) -> int:
    config = resolve_config(args)
    data = load_run_data(config.dataset, progress=not args.no_progress)
    for options in config.models:
        generator, training = runner.train_model(options, data, args.out / options.label, device=args.device, progress=not args.no_progress)
        print(f"{options.label}: trained {training['steps']} steps in {training['wall_time_s']:.1f} s -> {args.out / options.label / 'final'}")
    return 0


def command_sample(args: argparse.Namespace) -> int:
    generator = get_generator_class(args.model).load(args.checkpoint, device=args.device)
    if args.set:
        generator.config = with_sampling_overrides(generator.config, parse_nested_assignments(args.set), generator.sampling_keys)
        logger.info("sampling %s with %s", args.model, ", ".join(args.set))
    raw = generator.sample(args.num_samples, seed=args.seed, batch_size=args.batch_size)
    images = postprocess(raw, noise_threshold=args.noise_threshold)
    save_array_atomic(args.out, images)
    print(f"wrote {len(images)} images to {args.out}")
    return 0


def command_evaluate(args: argparse.Namespace) -> int:
    images = load_sample_file(args.samples, key=args.key)
    data = load_run_data(DatasetOptions(name=args.dataset, split_file=str(args.split_file or "")), progress=not args.no_progress)
    evaluation = EvaluationOptions(num_samples=len(images), reference_images=args.reference_images,
                                   metrics=args.metrics.split(",") if args.metrics not in ("fast", "default") else args.metrics, seed=args.seed)
    results = score_images(images, data, evaluation, cache_dir=None, progress=not args.no_progress)
    for result in results:
        print(f"{result.name:28s} {result.value:12.5g}  [{result.ci_low:.5g}, {result.ci_high:.5g}]  v{result.version}")
    if args.json:
        write_text_atomic(args.json, json.dumps([result.to_dict() for result in results], indent=2))
    return 0


def command_submit(args: argparse.Namespace) -> int:
    images = load_sample_file(args.samples, key=args.key, min_images=args.min_images)
    data = load_run_data(DatasetOptions(name=args.dataset, split_file=str(args.split_file or "")), progress=not args.no_progress)
    evaluation = EvaluationOptions(num_samples=len(images), reference_images=args.reference_images, metrics=args.metrics, seed=args.seed)
    # A sample file carries no sampling cost, so the record's sampling block stays null.
    submission = Submission(name=args.name, kind="samples", family=args.family)
    path = score_and_record(submission, images, data, evaluation, results_root=args.results_root, progress=not args.no_progress)
    print(f"wrote {path}")
    return 0


def command_leaderboard(args: argparse.Namespace) -> int:
    dataset = args.dataset
    if dataset is None:
        present = sorted(path.name for path in Path(args.results_root).glob("*") if path.is_dir())
        if len(present) != 1:
            raise ValueError(
                f"{args.results_root} contains results for {present or 'no'} datasets; pick one with --dataset."
            )
        dataset = present[0]
    written = render_leaderboard(args.results_root, dataset, args.out, primary_metric=args.primary_metric)
    for kind, path in written.items():
        print(f"{kind}: {path}")
    return 0


def command_models(args: argparse.Namespace) -> int:
    for name in available_generators():
        generator_class = get_generator_class(name)
        print(f"{name:12s} {generator_class.family:10s} {generator_class.__module__}.{generator_class.__qualname__}")
    return 0


def command_perf(args: argparse.Namespace) -> int:
    from .perf.report import write_report

    path = write_report(args.out, scale=args.scale, sections=args.sections.split(",") if args.sections else None)
    print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lartpc-bench", description="Benchmark generative models of 64x64 LArTPC images.")
    parser.add_argument("--verbose", "-v", action="store_true", help="log debug messages")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_data_parser(commands)

    run = commands.add_parser("run", help="the main job: data, train, sample, score, record, render")
    add_run_options(run)
    run.set_defaults(handler=command_run)

    train = commands.add_parser("train", help="train the selected generators on a dataset")
    add_run_options(train)
    train.add_argument("--out", type=Path, required=True, help="folder for <model>/checkpoint and <model>/final")
    train.set_defaults(handler=command_train)

    sample = commands.add_parser("sample", help="draw post-processed samples from a trained generator")
    sample.add_argument("--model", required=True, help="generator name (see `lartpc-bench models`)")
    sample.add_argument("--checkpoint", type=Path, required=True, help="folder written by the generator's save")
    sample.add_argument("--num-samples", type=int, default=1000)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--batch-size", type=int, default=250)
    sample.add_argument("--noise-threshold", type=int, default=4, help="zero pixels at or below this value (0-255 scale)")
    sample.add_argument("--out", type=Path, required=True, help="output .npy file, (N, 64, 64) uint8")
    sample.add_argument("--device", default="cpu")
    sample.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="change a sampling setting of the saved model, repeatable, e.g. sampler.name=dpm_solver_2m_sde "
                             "sampler.steps=25 (sgm) or temperature=0.8 (flow)")
    sample.set_defaults(handler=command_sample)

    for name, handler, text in (("evaluate", command_evaluate, "score a sample file and print the metrics"),
                                ("submit", command_submit, "score a sample file and add it to a results store")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("samples", type=Path, help="npy, npz or HDF5 file of (N, 64, 64) images on 0-255")
        sub.add_argument("--key", help="array name inside an npz or HDF5 file")
        sub.add_argument("--dataset", default="sim64-v1", help="catalog dataset to score against, built on first use (default: %(default)s)")
        sub.add_argument("--split-file", type=Path, help="split file to score against instead")
        sub.add_argument("--metrics", default="default", help="fast, default, or comma-separated metric names")
        sub.add_argument("--reference-images", type=int, default=2000, help="test images to compare with")
        sub.add_argument("--seed", type=int, default=0)
        sub.set_defaults(handler=handler)
        if name == "evaluate":
            sub.add_argument("--json", type=Path, help="also write the results to this JSON file")
        else:
            sub.add_argument("--name", required=True, help="row label on the leaderboard")
            sub.add_argument("--family", default="samples", help="model family shown on the leaderboard")
            sub.add_argument("--results-root", type=Path, default=Path("leaderboard/results"), help="results store (default: %(default)s)")
            sub.add_argument("--min-images", type=int, default=100, help="reject files with fewer images")

    board = commands.add_parser("leaderboard", help="render LEADERBOARD.md and index.html from result files")
    board.add_argument("--results-root", type=Path, default=Path("leaderboard/results"), help="results store (default: %(default)s)")
    board.add_argument("--dataset", help="dataset whose results to render (default: the only one under --results-root)")
    board.add_argument("--out", type=Path, default=Path("leaderboard/site"), help="output folder (default: %(default)s)")
    board.add_argument("--primary-metric", default="fd_physics", help="metric that orders the rows")
    board.set_defaults(handler=command_leaderboard)

    models = commands.add_parser("models", help="list the registered generators")
    models.set_defaults(handler=command_models)

    ablate.add_parser(commands)
    add_segnet_parser(commands)

    samplers = commands.add_parser("samplers", help="compare the diffusion model's samplers on a trained model; writes docs/samplers.md")
    sampler_table.add_arguments(samplers)
    samplers.set_defaults(handler=sampler_table.run)

    perf = commands.add_parser("perf", help="run the performance benchmark and write its report")
    perf.add_argument("--scale", choices=["smoke", "full"], default="full", help="smoke takes about a minute; full gives the quoted numbers")
    perf.add_argument("--sections", help="comma-separated section names (default: all)")
    perf.add_argument("--out", type=Path, default=Path("docs/PERF.md"))
    perf.set_defaults(handler=command_perf)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.handler(args)
    except USER_ERRORS as error:
        print(f"lartpc-bench: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
