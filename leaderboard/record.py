"""Building result records: the JSON document that one leaderboard submission produces.

A record contains everything the leaderboard renders (metrics, observables' histograms and a
preview of post-processed samples), so rendering needs the result files alone. The layout
is fixed by ``result.schema.json``; ``validate.validate_result`` checks it.
"""

from __future__ import annotations

import base64
import datetime
import importlib.metadata
import logging
import math
import os
import platform
import subprocess
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lartpcbench.bench.metrics.result import MetricResult
from lartpcbench.datasets.images import IMAGE_SIZE, validate_images

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
EVAL_SPLIT = "test"
PREVIEW_ENCODING = "zlib+base64"
# A preview is a handful of images for the sample grid, not a sample file: the cap keeps a
# result file below about 1 MB.
PREVIEW_MAX_IMAGES = 256
PREVIEW_DEFAULT_IMAGES = 36

DEFAULT_PACKAGES = (
    "lartpc-bench",
    "numpy",
    "scipy",
    "torch",
    "scikit-learn",
    "POT",
    "normflows",
    "h5py",
    "pandas",
    "matplotlib",
    "jsonschema",
)


def encode_preview(images: np.ndarray) -> dict[str, Any]:
    """Encode (n, 64, 64) uint8 images as a preview record (zlib-compressed, base64 text).

    Raises ``ImageFormatError`` for images that break the image contract and ``ValueError``
    when there are more than ``PREVIEW_MAX_IMAGES`` images.
    """
    array = validate_images(images, name="preview images")
    if array.shape[0] > PREVIEW_MAX_IMAGES:
        raise ValueError(
            f"preview has {array.shape[0]} images; expected at most {PREVIEW_MAX_IMAGES}. "
            f"Pass a subset such as images[:{PREVIEW_DEFAULT_IMAGES}]."
        )
    data = base64.b64encode(zlib.compress(array.tobytes(order="C"), 9)).decode("ascii")
    return {"shape": list(array.shape), "dtype": "uint8", "encoding": PREVIEW_ENCODING, "data": data}


def decode_preview(record: Mapping[str, Any]) -> np.ndarray:
    """Decode a preview record (or a whole result record) into (n, 64, 64) uint8 images.

    Raises ``ValueError`` naming the problem when the data is not valid base64, does not
    decompress, or does not match the recorded shape.
    """
    preview = record["preview"] if "preview" in record else record
    if preview.get("encoding") != PREVIEW_ENCODING or preview.get("dtype") != "uint8":
        raise ValueError(
            f"preview has encoding {preview.get('encoding')!r} and dtype {preview.get('dtype')!r}; "
            f"expected {PREVIEW_ENCODING!r} and 'uint8'. Re-encode it with encode_preview()."
        )
    shape = tuple(int(size) for size in preview["shape"])
    if len(shape) != 3 or shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"preview shape is {list(shape)}; expected [n, {IMAGE_SIZE}, {IMAGE_SIZE}].")
    try:
        raw = zlib.decompress(base64.b64decode(preview["data"], validate=True))
    except (ValueError, zlib.error) as error:
        raise ValueError(
            f"preview data does not decode as zlib-compressed base64 ({error}); re-encode it with encode_preview()."
        ) from error
    expected = math.prod(shape)
    if len(raw) != expected:
        raise ValueError(
            f"preview data decodes to {len(raw)} bytes; shape {list(shape)} needs {expected}. "
            "Re-encode it with encode_preview()."
        )
    return np.frombuffer(raw, dtype=np.uint8).reshape(shape).copy()


def observable_histogram(
    generated: np.ndarray,
    reference: np.ndarray,
    *,
    label: str,
    unit: str = "",
    bins: int | Sequence[float] = 40,
    value_range: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """Histogram one per-image observable for generated and reference images.

    ``generated`` and ``reference`` are 1D arrays of per-image values (for example track
    length in pixels). Both share one set of bin edges, taken from ``bins`` when it is a
    sequence of edges and otherwise spread over ``value_range`` (default: the pooled
    minimum and maximum). Both histograms are densities (each integrates to 1 over the
    edges), so samples of different sizes overlay directly. Non-finite values are dropped
    with a warning in the log.
    """
    arrays = {}
    for name, values in (("generated", generated), ("reference", reference)):
        array = np.asarray(values, dtype=np.float64).ravel()
        finite = np.isfinite(array)
        if not finite.all():
            logger.warning("observable %r: dropped %d non-finite %s values", label, int((~finite).sum()), name)
        if not finite.any():
            raise ValueError(f"observable {label!r} has no finite {name} values; expected at least one.")
        arrays[name] = array[finite]

    # Shared edges: explicit, or equal-width bins over the pooled range.
    if isinstance(bins, int):
        if bins < 1:
            raise ValueError(f"bins is {bins}; expected a positive number of bins or a sequence of edges.")
        pooled = np.concatenate(list(arrays.values()))
        low, high = value_range if value_range is not None else (float(pooled.min()), float(pooled.max()))
        if high <= low:
            high = low + 1.0
        edges = np.linspace(low, high, bins + 1)
    else:
        edges = np.asarray(bins, dtype=np.float64)
        if edges.ndim != 1 or edges.size < 2 or not np.all(np.diff(edges) > 0):
            raise ValueError("bins as edges must be a strictly increasing sequence of at least two numbers.")

    # Density per bin: count / (total in range * bin width); values outside the edges are not counted.
    result: dict[str, Any] = {"label": label, "unit": unit, "bin_edges": [float(edge) for edge in edges]}
    widths = np.diff(edges)
    for name, array in arrays.items():
        counts = np.histogram(array, bins=edges)[0].astype(np.float64)
        total = counts.sum()
        density = counts / (total * widths) if total > 0 else np.zeros_like(widths)
        result[name] = [float(value) for value in density]
    return result


def package_versions(names: Sequence[str] = DEFAULT_PACKAGES) -> dict[str, str]:
    """Return the installed version of each named distribution, plus the Python version.

    Packages that are not installed are left out of the result.
    """
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            logger.debug("package %s is not installed; left out of provenance", name)
    return versions


def git_commit(repo_dir: str | os.PathLike) -> str | None:
    """Return the commit checked out in ``repo_dir``, suffixed ``-dirty`` when files are modified.

    Returns None when ``repo_dir`` is not inside a git work tree or git is not installed.
    """
    def run_git(*args: str) -> str | None:
        try:
            completed = subprocess.run(
                ["git", "-C", str(repo_dir), *args], capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            logger.debug("git %s failed in %s: %s", " ".join(args), repo_dir, error)
            return None
        return completed.stdout.strip() if completed.returncode == 0 else None

    commit = run_git("rev-parse", "HEAD")
    if not commit:
        return None
    status = run_git("status", "--porcelain", "--untracked-files=no")
    return f"{commit}-dirty" if status else commit


def utc_now_iso() -> str:
    """Return the current UTC time as ISO-8601 with a ``Z`` suffix, to the second."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    return now.isoformat().replace("+00:00", "Z")


def build_result(
    *,
    dataset_name: str,
    dataset_version: str,
    checksums: Mapping[str, str],
    kind: str,
    name: str,
    family: str,
    metrics: Sequence[MetricResult | Mapping[str, Any]],
    preview_images: np.ndarray,
    evaluator_version: str,
    model: str | None = None,
    config: Mapping[str, Any] | None = None,
    train_config: Mapping[str, Any] | None = None,
    num_parameters: int | None = None,
    training: Mapping[str, Any] | None = None,
    sampling: Mapping[str, Any] | None = None,
    observables: Mapping[str, Mapping[str, Any]] | None = None,
    extractor_hashes: Mapping[str, str] | None = None,
    seeds: Mapping[str, int | None] | None = None,
    packages: Mapping[str, str] | None = None,
    repo_dir: str | os.PathLike | None = None,
    run_dir: str | os.PathLike | None = None,
    created_utc: str | None = None,
    preview_count: int = PREVIEW_DEFAULT_IMAGES,
) -> dict[str, Any]:
    """Assemble and validate a result record.

    ``preview_images`` are post-processed (n, 64, 64) uint8 images, of which the first
    ``preview_count`` are stored. ``metrics`` are ``MetricResult`` objects or their dicts.
    ``packages`` defaults to ``package_versions()``, ``created_utc`` to now, and the git
    commit is read from ``repo_dir`` when given (null otherwise). Raises
    ``ResultValidationError`` when the assembled record breaks the schema.
    """
    # Imported here because validate imports this module.
    from .validate import validate_result

    if preview_count < 1:
        raise ValueError(f"preview_count is {preview_count}; expected at least 1.")
    metric_records = [metric.to_dict() if isinstance(metric, MetricResult) else dict(metric) for metric in metrics]
    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "dataset": {
            "name": dataset_name,
            "version": dataset_version,
            "eval_split": EVAL_SPLIT,
            "checksums": dict(checksums),
        },
        "submission": {
            "kind": kind,
            "name": name,
            "model": model,
            "family": family,
            "config": dict(config or {}),
            "train_config": None if train_config is None else dict(train_config),
        },
        "num_parameters": None if num_parameters is None else int(num_parameters),
        "training": None if training is None else dict(training),
        "sampling": None if sampling is None else dict(sampling),
        "metrics": metric_records,
        "observables": {key: dict(value) for key, value in (observables or {}).items()},
        "preview": encode_preview(np.asarray(preview_images)[:preview_count]),
        "provenance": {
            "evaluator_version": evaluator_version,
            "metric_versions": {metric["name"]: metric["version"] for metric in metric_records},
            "extractor_hashes": dict(extractor_hashes or {}),
            "seeds": dict(seeds or {}),
            "packages": dict(package_versions() if packages is None else packages),
            "git_commit": None if repo_dir is None else git_commit(repo_dir),
            "created_utc": created_utc or utc_now_iso(),
            "run_dir": None if run_dir is None else str(run_dir),
        },
    }
    record = _plain_json(record)
    validate_result(record)
    return record


def _plain_json(value: Any) -> Any:
    """Return ``value`` with NumPy scalars and arrays replaced by the equal Python values."""
    if isinstance(value, Mapping):
        return {key: _plain_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_json(item) for item in value]
    if isinstance(value, np.ndarray):
        return _plain_json(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def sampling_record(num_samples: int, wall_time_s: float, function_evaluations_per_image: float | None) -> dict[str, Any]:
    """Return the ``sampling`` section for ``num_samples`` images drawn in ``wall_time_s`` seconds."""
    rate = num_samples / wall_time_s if wall_time_s > 0 else None
    return {
        "num_samples": int(num_samples),
        "wall_time_s": float(wall_time_s),
        "images_per_second": rate,
        "function_evaluations_per_image": function_evaluations_per_image,
    }


def training_record(steps: int, images_seen: int, wall_time_s: float, device: str) -> dict[str, Any]:
    """Return the ``training`` section: optimiser steps, images seen, wall time in seconds, device."""
    return {"steps": int(steps), "images_seen": int(images_seen), "wall_time_s": float(wall_time_s), "device": device}

