"""Score post-processed images and turn the scores into a leaderboard result record."""

from __future__ import annotations

import dataclasses
import logging
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from lartpcbench.bench.metrics import (
    DEFAULT_METRICS,
    FAST_METRICS,
    MetricResult,
    evaluate,
    extractor_hashes,
    observable_histograms,
)
from lartpcbench.leaderboard.record import build_result
from lartpcbench.leaderboard.store import write_result

from .config import EvaluationOptions
from .data import RunData

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class Submission:
    """A scored row: its label, kind and the model facts that go into the result record."""

    name: str
    kind: str  # "generator", "samples" or "reference"
    family: str
    model: str | None = None
    config: dict[str, Any] = dataclasses.field(default_factory=dict)
    train_config: dict[str, Any] | None = None
    num_parameters: int | None = None
    training: dict[str, Any] | None = None
    sampling: dict[str, Any] | None = None


def metric_names(evaluation: EvaluationOptions) -> list[str]:
    """Return the metric names a run's evaluation options select."""
    if evaluation.metrics == "fast":
        return list(FAST_METRICS)
    if evaluation.metrics == "default":
        return list(DEFAULT_METRICS)
    return list(evaluation.metrics)


def score_images(
    generated: np.ndarray, data: RunData, evaluation: EvaluationOptions, *, cache_dir: Path | None, progress: bool
) -> list[MetricResult]:
    """Score (N, 64, 64) uint8 images against the run's test images and training set."""
    reference = data.reference_images(evaluation.reference_images)
    reference_key = f"{data.name}-{data.version}/test/{data.checksums.get('test/images', 'unknown')[:16]}/{len(reference)}"
    return evaluate(
        generated,
        reference,
        train=data.train.images,
        metrics=metric_names(evaluation),
        seed=evaluation.seed,
        cache_dir=cache_dir,
        reference_key=reference_key if cache_dir is not None else None,
        progress=progress,
    )


def build_record(
    submission: Submission,
    generated: np.ndarray,
    metrics: list[MetricResult],
    data: RunData,
    evaluation: EvaluationOptions,
    *,
    run_dir: Path | None,
) -> dict[str, Any]:
    """Assemble the validated result record that the leaderboard schema describes."""
    reference = data.reference_images(evaluation.reference_images)
    return build_result(
        dataset_name=data.name,
        dataset_version=data.version,
        checksums=data.checksums,
        kind=submission.kind,
        name=submission.name,
        family=submission.family,
        model=submission.model,
        config=submission.config,
        train_config=submission.train_config,
        num_parameters=submission.num_parameters,
        training=submission.training,
        sampling=submission.sampling,
        metrics=metrics,
        observables=observable_histograms(generated, reference),
        preview_images=generated,
        preview_count=evaluation.preview_images,
        evaluator_version=_own_version(),
        extractor_hashes=extractor_hashes(),
        seeds={"evaluation": evaluation.seed, "train": (submission.train_config or {}).get("seed")},
        repo_dir=Path(__file__).resolve().parent.parent,
        run_dir=run_dir,
    )


def score_and_record(
    submission: Submission,
    generated: np.ndarray,
    data: RunData,
    evaluation: EvaluationOptions,
    *,
    results_root: Path,
    run_dir: Path | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> Path:
    """Score ``generated`` images, write the result file under ``results_root`` and return its path."""
    logger.info("scoring %s (%d images)", submission.name, len(generated))
    metrics = score_images(generated, data, evaluation, cache_dir=cache_dir, progress=progress)
    record = build_record(submission, generated, metrics, data, evaluation, run_dir=run_dir)
    return write_result(record, results_root)


def _own_version() -> str:
    try:
        return metadata.version("lartpc-bench")
    except metadata.PackageNotFoundError:
        return "unknown"
