"""Results store, submission checks and leaderboard rendering.

A result is one JSON file per submission under ``<results_root>/<dataset>/<run id>.json``,
validated by ``result.schema.json``. Rendering reads those files alone.
"""

from .record import (
    build_result,
    decode_preview,
    encode_preview,
    git_commit,
    observable_histogram,
    package_versions,
    sampling_record,
    training_record,
)
from .render import render_leaderboard, render_results
from .store import StoredResult, load_results, make_run_id, read_result, write_result
from .submissions import SampleFileError, load_sample_file
from .validate import ResultValidationError, result_schema, validate_result

__all__ = [
    "ResultValidationError",
    "SampleFileError",
    "StoredResult",
    "build_result",
    "decode_preview",
    "encode_preview",
    "git_commit",
    "load_results",
    "load_sample_file",
    "make_run_id",
    "observable_histogram",
    "package_versions",
    "read_result",
    "render_leaderboard",
    "render_results",
    "result_schema",
    "sampling_record",
    "training_record",
    "validate_result",
    "write_result",
]
