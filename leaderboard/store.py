"""The results store: one JSON file per submission under ``<results_root>/<dataset>/<run id>.json``."""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from lartpcbench.datasets.fileio import write_text_atomic

from .validate import ResultValidationError, validate_result

logger = logging.getLogger(__name__)

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,119}$")


@dataclasses.dataclass(frozen=True)
class StoredResult:
    """A validated result record and where it was read from; ``run_id`` is the file's stem."""

    run_id: str
    path: Path
    record: dict[str, Any]


def make_run_id(record: dict[str, Any]) -> str:
    """Return the default run id: the submission name as a slug plus the creation time.

    For example ``sgm-small-20240501T120000Z`` for name "SGM small" created at
    2024-05-01T12:00:00Z; the time is converted to UTC.
    """
    slug = re.sub(r"[^a-z0-9._-]+", "-", record["submission"]["name"].lower()).strip("-._")[:80] or "result"
    created = datetime.datetime.fromisoformat(record["provenance"]["created_utc"])
    stamp = created.astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{slug}-{stamp}"


def write_result(
    record: dict[str, Any],
    results_root: str | os.PathLike,
    *,
    run_id: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Validate ``record`` and write it atomically to ``<results_root>/<dataset>/<run id>.json``.

    ``run_id`` defaults to ``make_run_id(record)``. Raises ``ResultValidationError`` for an
    invalid record and ``FileExistsError`` when the file exists and ``overwrite`` is False;
    in both cases nothing is written. Returns the path written.
    """
    validate_result(record)
    run_id = make_run_id(record) if run_id is None else run_id
    if not RUN_ID_PATTERN.match(run_id):
        raise ValueError(
            f"run id {run_id!r} is not a safe file name; use letters, digits, '.', '_' and '-' "
            "(starting with a letter or digit, at most 120 characters)."
        )
    path = Path(results_root) / record["dataset"]["name"] / f"{run_id}.json"
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"result file {path} already exists; pass another run_id or overwrite=True to replace it."
        )
    text = json.dumps(record, indent=2, allow_nan=False, ensure_ascii=False) + "\n"
    write_text_atomic(path, text)
    logger.info("wrote result %s", path)
    return path


def read_result(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate one result file; raises ``ResultValidationError`` naming the file."""
    file_path = Path(path)
    if not file_path.is_file():
        raise FileNotFoundError(f"result file {file_path} not found.")
    try:
        record = json.loads(file_path.read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ResultValidationError(
            [f"not valid UTF-8 JSON ({error}); fix the syntax or regenerate the file."], source=str(file_path)
        ) from error
    except ValueError as error:
        raise ResultValidationError([str(error)], source=str(file_path)) from error
    validate_result(record, source=str(file_path))
    return record


def load_results(results_root: str | os.PathLike, dataset: str) -> list[StoredResult]:
    """Read and validate every result for ``dataset``, sorted by run id.

    Raises ``FileNotFoundError`` when the dataset's folder does not exist,
    ``ResultValidationError`` naming the first invalid file, and ``ValueError`` when a file
    records another dataset or when the files disagree on the dataset version or checksums
    (their scores are not comparable).
    """
    folder = Path(results_root) / dataset
    if not folder.is_dir():
        raise FileNotFoundError(
            f"results folder {folder} not found; write results with write_result() or `lartpc-bench run` first."
        )
    results = []
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith("."):
            continue
        record = read_result(path)
        if record["dataset"]["name"] != dataset:
            raise ValueError(
                f"result file {path} records dataset {record['dataset']['name']!r} but lies in the folder for "
                f"{dataset!r}; move it to {Path(results_root) / record['dataset']['name']}."
            )
        results.append(StoredResult(run_id=path.stem, path=path, record=record))
    _check_same_dataset(results)
    logger.info("loaded %d results for %s from %s", len(results), dataset, folder)
    return results


def _check_same_dataset(results: list[StoredResult]) -> None:
    if not results:
        return
    first = results[0]
    for other in results[1:]:
        for key, label in (("version", "versions"), ("checksums", "checksums")):
            if other.record["dataset"][key] != first.record["dataset"][key]:
                raise ValueError(
                    f"result files {first.path.name} and {other.path.name} record different dataset {label}, "
                    "so their scores are not comparable; move the results of the older dataset version "
                    "to another folder or re-evaluate them."
                )


def _reject_constant(name: str) -> float:
    raise ValueError(f"contains {name}, which is not valid JSON; write null for a missing value.")
