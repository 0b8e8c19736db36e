"""The main job: load the data, train every selected generator, sample, score, record, render.

Every run writes to its own directory::

    <run_dir>/config.json              resolved options, saved before work starts
    <run_dir>/models/<label>/checkpoint/  training checkpoints (a killed run resumes here)
    <run_dir>/models/<label>/final/       the trained generator (save/load format)
    <run_dir>/models/<label>/fit.json     training report
    <run_dir>/models/<label>/samples.npy  post-processed samples, (N, 64, 64) uint8
    <run_dir>/results/<dataset>/*.json    one result file per row
    <run_dir>/leaderboard/                LEADERBOARD.md, index.html and figures

Each step skips work whose output already exists, so rerunning the same command resumes.
Under ``torchrun`` every rank trains and samples (families that support it shard the work);
rank 0 alone writes files, scores and renders.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from lartpcbench.datasets.fileio import save_array_atomic, write_text_atomic
from lartpcbench.datasets.images import postprocess
from lartpcbench.leaderboard.render import render_leaderboard
from lartpcbench.models import FitReport, Generator, get_generator_class
from lartpcbench.models.checkpoint import has_checkpoint
from lartpcbench.models.config import config_to_dict
from lartpcbench.models.distributed import barrier, init_distributed, local_device

from .config import EvaluationOptions, ModelOptions, RunConfig
from .data import RunData, load_run_data
from .record import Submission, score_and_record

logger = logging.getLogger(__name__)


class RunDirectoryError(RuntimeError):
    """A run directory that contains a run with different options."""


@dataclasses.dataclass
class RunSummary:
    """Paths a finished run wrote."""

    run_dir: Path
    result_files: list[Path]
    leaderboard: dict[str, Path]


def prepare_run_dir(config: RunConfig, run_dir: Path) -> None:
    """Create the run directory and save the resolved options; reject a directory of another run."""
    run_dir.mkdir(parents=True, exist_ok=True)
    config_file = run_dir / "config.json"
    resolved = json.dumps(config.to_dict(), indent=2, sort_keys=True)
    if config_file.is_file():
        if json.loads(config_file.read_text()) != json.loads(resolved):
            raise RunDirectoryError(
                f"{run_dir} contains a run with different options (see {config_file}); "
                "choose a new --run-dir, or delete that directory to start over."
            )
        logger.info("resuming the run in %s", run_dir)
        return
    write_text_atomic(config_file, resolved)


def train_model(options: ModelOptions, data: RunData, model_dir: Path, *, device: str, progress: bool) -> tuple[Generator, dict[str, Any]]:
    """Train a generator, or load it when this run already finished training it."""
    generator_class = get_generator_class(options.name)
    final_dir, report_file = model_dir / "final", model_dir / "fit.json"
    if has_checkpoint(final_dir) and report_file.is_file():
        logger.info("%s: loading the trained model from %s", options.label, final_dir)
        generator = generator_class.load(final_dir, device=device)
        if generator.config != options.model_config:
            raise RunDirectoryError(
                f"the model in {final_dir} was saved with another config than this run's {options.label!r} options; "
                "delete that model folder to retrain it, or run in a new --run-dir."
            )
        return generator, json.loads(report_file.read_text())

    generator = generator_class(options.model_config, device=device)
    logger.info("%s: training (%d parameters, %d steps)", options.label, generator.num_parameters(), options.train_config.steps)
    report: FitReport = generator.fit(
        data.train.images,
        options.train_config,
        val_images=data.val.images,
        labels=data.train.labels,
        checkpoint_dir=model_dir / "checkpoint",
        progress=progress,
    )
    context = init_distributed(device)
    training = {
        "steps": report.steps,
        "images_seen": report.images_seen,
        "wall_time_s": report.wall_time_s,
        "device": device,
        "resumed_from_step": report.resumed_from_step,
        "stopped_early": report.stopped_early,
        "final_losses": report.losses,
    }
    # Under torchrun every rank trains its shard of each batch; rank 0 alone writes files.
    if context.is_main:
        generator.save(final_dir)
        write_text_atomic(report_file, json.dumps(training, indent=2))
    barrier(context)
    return generator, training


def sample_model(
    generator: Generator, evaluation: EvaluationOptions, model_dir: Path, *, label: str
) -> tuple[np.ndarray, dict[str, Any]]:
    """Draw and post-process ``num_samples`` images, or reuse the samples this run already drew."""
    samples_file, timing_file = model_dir / "samples.npy", model_dir / "sampling.json"
    if samples_file.is_file() and timing_file.is_file():
        logger.info("%s: reusing samples from %s", label, samples_file)
        return np.load(samples_file, allow_pickle=False), json.loads(timing_file.read_text())

    logger.info("%s: sampling %d images", label, evaluation.num_samples)
    start = time.perf_counter()
    raw = generator.sample(evaluation.num_samples, seed=evaluation.seed, batch_size=evaluation.sample_batch_size)
    wall_time = time.perf_counter() - start
    images = postprocess(raw, noise_threshold=evaluation.noise_threshold)
    sampling = {
        "num_samples": int(len(images)),
        "wall_time_s": wall_time,
        "images_per_second": len(images) / max(wall_time, 1e-9),
        "function_evaluations_per_image": float(generator.function_evaluations_per_image()),
    }
    if init_distributed().is_main:
        save_array_atomic(samples_file, images)
        write_text_atomic(timing_file, json.dumps(sampling, indent=2))
    return images, sampling


def run(
    config: RunConfig,
    run_dir: str | Path,
    *,
    data_dir: Path | None = None,
    results_root: Path | None = None,
    cache_dir: Path | None = None,
    device: str = "cpu",
    progress: bool = True,
) -> RunSummary:
    """Run the main job for ``config`` in ``run_dir`` and return what it wrote."""
    run_dir = Path(run_dir)
    device = local_device(device)
    context = init_distributed(device)
    if context.is_main:
        prepare_run_dir(config, run_dir)
    barrier(context)
    results_root = Path(results_root) if results_root else run_dir / "results"
    cache_dir = Path(cache_dir) if cache_dir else run_dir / "cache"
    data = load_run_data(config.dataset, data_dir=data_dir, progress=progress)
    evaluation = config.evaluation

    result_files = []
    for options in config.models:
        model_dir = run_dir / "models" / options.label
        generator, training = train_model(options, data, model_dir, device=device, progress=progress)
        images, sampling = sample_model(generator, evaluation, model_dir, label=options.label)
        if not context.is_main:
            continue
        submission = Submission(
            name=options.label,
            kind="generator",
            family=generator.family,
            model=options.name,
            config={"config_name": options.config_name, **config_to_dict(options.model_config)},
            train_config=config_to_dict(options.train_config),
            num_parameters=generator.num_parameters(),
            training=training,
            sampling=sampling,
        )
        result_files.append(
            recorded_once(
                model_dir / "result_path.txt",
                lambda: score_and_record(
                    submission, images, data, evaluation, results_root=results_root, run_dir=run_dir, cache_dir=cache_dir, progress=progress
                ),
            )
        )
    if not context.is_main:
        return RunSummary(run_dir=run_dir, result_files=[], leaderboard={})
    result_files.append(
        recorded_once(
            run_dir / "reference_result_path.txt",
            lambda: score_reference(data, evaluation, results_root=results_root, run_dir=run_dir, cache_dir=cache_dir, progress=progress),
        )
    )

    leaderboard = render_leaderboard(results_root, data.name, run_dir / "leaderboard")
    logger.info("leaderboard written to %s", run_dir / "leaderboard")
    return RunSummary(run_dir=run_dir, result_files=result_files, leaderboard=leaderboard)


def recorded_once(marker: Path, score: Callable[[], Path]) -> Path:
    """Return the result file named in ``marker``, or call ``score`` and record its path there.

    A resumed run thus adds no second result file for a row it already scored.
    """
    if marker.is_file():
        path = Path(marker.read_text(encoding="utf-8").strip())
        if path.is_file():
            logger.info("reusing result %s", path)
            return path
    path = score()
    write_text_atomic(marker, str(path))
    return path


def score_reference(
    data: RunData, evaluation: EvaluationOptions, *, results_root: Path, run_dir: Path | None, cache_dir: Path | None, progress: bool
) -> Path:
    """Score real ``val`` images like a model: the floor that no model can beat by more than noise."""
    real = data.val.images[: evaluation.num_samples]
    submission = Submission(name="reference (real val)", kind="reference", family="reference")
    return score_and_record(submission, real, data, evaluation, results_root=results_root, run_dir=run_dir, cache_dir=cache_dir, progress=progress)
