"""Score post-processed images and turn the scores into a leaderboard result record."""

from __future__ import annotations

import dataclasses
import datetime
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
from lartpcbench.leaderboard.record import encode_preview, git_commit, package_versions
from lartpcbench.leaderboard.store import write_result

from .config import EvaluationOptions
from .data import RunData

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class Submission:
    """What is being scored: a row label, its kind and the model facts that go into the record."""

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
        reference_key=reference_key,
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
    """Assemble the result record that the leaderboard schema describes."""
    reference = data.reference_images(evaluation.reference_images)
    return {
        "schema_version": 1,
        "dataset": {"name": data.name, "version": data.version, "eval_split": "test", "checksums": data.checksums},
        "submission": {
            "kind": submission.kind,
            "name": submission.name,
            "model": submission.model,
            "family": submission.family,
            "config": submission.config,
            "train_config": submission.train_config,
        },
        "num_parameters": submission.num_parameters,
        "training": submission.training,
        "sampling": submission.sampling,
        "metrics": [metric.to_dict() for metric in metrics],
        "observables": observable_histograms(generated, reference),
        "preview": encode_preview(generated[: evaluation.preview_images]),
        "provenance": {
            "evaluator_version": _own_version(),
            "metric_versions": {metric.name: metric.version for metric in metrics},
            "extractor_hashes": extractor_hashes(),
            "seeds": {"evaluation": evaluation.seed, "train": (submission.train_config or {}).get("seed")},
            "packages": package_versions(),
            "git_commit": git_commit(Path(__file__).resolve().parent.parent),
            "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "run_dir": None if run_dir is None else str(run_dir),
        },
    }


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
