"""Validation of result records: the JSON Schema in ``result.schema.json`` plus semantic checks.

The schema fixes the layout and types. The semantic checks cover what a schema cannot
express well. They reject non-finite numbers, repeated metric names and reversed
intervals. They also check that the preview decodes to its recorded shape, that each
histogram has one value per bin, and that the creation time is ISO-8601 with a time zone.
"""

from __future__ import annotations

import datetime
import functools
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from .record import EVAL_SPLIT, decode_preview

SCHEMA_FILE = "result.schema.json"


class ResultValidationError(ValueError):
    """A result record that breaks the schema or a semantic check.

    ``problems`` lists one message per problem; each names the field's path (for example
    ``metrics[2].value``), what is wrong and how to fix it.
    """

    def __init__(self, problems: Sequence[str], *, source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        where = f"result file {source}" if source else "result record"
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{where} is invalid ({len(self.problems)} problem(s)):\n{lines}")


@functools.lru_cache(maxsize=1)
def result_schema() -> dict[str, Any]:
    """Return the result JSON Schema (Draft 2020-12) shipped with the package."""
    text = resources.files("lartpcbench.leaderboard").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def validate_result(record: Any, *, source: str | None = None) -> None:
    """Check a result record against the schema and the semantic rules.

    ``source`` (a file path) is named in the error. Raises ``ResultValidationError``
    listing every problem found; returns None when the record is valid.
    """
    if not isinstance(record, Mapping):
        raise ResultValidationError(
            [f"the top level is {type(record).__name__}; expected a JSON object."], source=source
        )
    non_json = dict(_non_json_problems(record, ""))
    problems = list(non_json.values())
    validator = jsonschema.Draft202012Validator(result_schema())
    schema_errors = sorted(validator.iter_errors(record), key=lambda error: list(map(str, error.absolute_path)))
    # A value already reported as non-JSON also fails its type check; report it once.
    problems.extend(
        _describe_schema_error(error)
        for error in schema_errors
        if format_path(list(error.absolute_path)) not in non_json
    )
    # Semantic checks index into the record, so they run only on a record that has the schema's layout.
    if not schema_errors:
        problems.extend(_semantic_problems(record))
    if problems:
        raise ResultValidationError(problems, source=source)


def format_path(parts: Sequence[str | int]) -> str:
    """Return a JSON path such as ``metrics[2].value`` from its keys and indices."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif text:
            text += f".{part}"
        else:
            text = str(part)
    return text or "(top level)"


def _non_json_problems(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Yield (path, message) for each value that JSON cannot hold: NaN, infinity, non-JSON types."""
    where = path or "(top level)"
    if isinstance(value, float) and not math.isfinite(value):
        yield where, (
            f"{where} is {value}, which JSON cannot hold; write null where the field "
            "allows a missing value (MetricResult.to_dict does this for value and interval) or a finite number."
        )
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _non_json_problems(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _non_json_problems(item, f"{path}[{index}]")
    elif value is not None and not isinstance(value, (bool, int, float, str)):
        yield where, (
            f"{where} is a {type(value).__module__}.{type(value).__name__}, which JSON cannot hold; "
            "convert it to a Python int, float, str, list or dict (for NumPy values, .item() or .tolist())."
        )


def _describe_schema_error(error: ValidationError) -> str:
    # A oneOf over "null or object" reports only "is not valid under any of the given
    # schemas"; the closest sub-error names the real field.
    if error.validator in ("oneOf", "anyOf") and error.context:
        branch_types = [
            sub.validator_value
            for sub in error.context
            if sub.validator == "type" and sub.absolute_path == error.absolute_path
        ]
        if len(branch_types) == len(error.context):
            return f"{format_path(list(error.absolute_path))} is {_preview_value(error.instance)}; expected {_either(branch_types)}."
        deeper = [sub for sub in error.context if sub.validator != "type" or sub.absolute_path != error.absolute_path]
        error = best_match(deeper)

    path = format_path(list(error.absolute_path))
    instance = _preview_value(error.instance)
    validator = error.validator

    if "propertyNames" in error.relative_schema_path:
        return f"{path} has key {instance}; expected {_describe_pattern(error.validator_value)}. Rename the key."
    if validator == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        return f"{path} is missing required field(s) {missing}; add them (use null where the schema allows it)."
    if validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, Mapping) else []
        if allowed:
            return f"{path} has unknown field(s) {extra}; remove them or fix their spelling (known: {allowed})."
        return f"{path} has an invalid entry: {error.message}."
    if validator == "type":
        return f"{path} is {instance} ({_json_type(error.instance)}); expected {_either([error.validator_value])}."
    if validator in ("const", "enum"):
        expected = [error.validator_value] if validator == "const" else error.validator_value
        return f"{path} is {instance}; expected one of {json.dumps(expected)}."
    if validator == "pattern":
        return f"{path} is {instance}; expected {_describe_pattern(error.validator_value)}."
    if validator in ("minimum", "maximum"):
        bound = "at least" if validator == "minimum" else "at most"
        return f"{path} is {instance}; expected a value {bound} {error.validator_value}."
    if validator in ("minItems", "maxItems", "minLength", "maxLength", "minProperties"):
        bound = "at least" if validator.startswith("min") else "at most"
        unit = {"Items": "items", "Length": "characters", "Properties": "entries"}[validator[3:]]
        return f"{path} is {instance}; expected {bound} {error.validator_value} {unit}."
    return f"{path}: {error.message}."


PATTERN_DESCRIPTIONS = {
    "^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$": (
        "a name of letters, digits, '.', '_' and '-' that starts with a letter or digit (at most 100 characters)"
    ),
    "^[0-9a-f]{64}$": "a SHA-256 digest as 64 lowercase hex digits",
    "^[0-9a-f]{7,64}(-dirty)?$": "a lowercase hex git commit, optionally suffixed '-dirty'",
}


def _describe_pattern(pattern: str) -> str:
    return PATTERN_DESCRIPTIONS.get(pattern, f"a string matching {pattern!r}")


def _either(type_specs: Sequence[str | Sequence[str]]) -> str:
    names: list[str] = []
    for spec in type_specs:
        for name in [spec] if isinstance(spec, str) else spec:
            if name not in names:
                names.append(name)
    return " or ".join(names)


def _semantic_problems(record: Mapping[str, Any]) -> Iterator[str]:
    # The evaluation split's images must be pinned by checksum.
    checksums = record["dataset"]["checksums"]
    if f"{EVAL_SPLIT}/images" not in checksums:
        yield (
            f"dataset.checksums has no {EVAL_SPLIT + '/images'!r} entry (keys: {sorted(checksums)}); record the "
            "SHA-256 of the evaluation images as the split file stores it."
        )

    submission = record["submission"]
    if submission["kind"] == "reference" and submission["family"] != "reference":
        yield f"submission.family is {submission['family']!r} for a reference row; expected 'reference'."
    if submission["kind"] == "generator" and submission["model"] is None:
        yield "submission.model is null for kind 'generator'; set it to the generator's registry name."

    yield from _metric_problems(record["metrics"], record["provenance"]["metric_versions"])
    for name, observable in record["observables"].items():
        yield from _observable_problems(name, observable)

    try:
        decode_preview(record["preview"])
    except ValueError as error:
        yield f"preview: {error}"

    created = record["provenance"]["created_utc"]
    try:
        timestamp = datetime.datetime.fromisoformat(created)
    except ValueError:
        timestamp = None
    if timestamp is None or timestamp.tzinfo is None:
        yield (
            f"provenance.created_utc is {created!r}; expected an ISO-8601 time with a time zone, "
            "such as '2024-05-01T12:00:00Z'."
        )


def _metric_problems(metrics: Sequence[Mapping[str, Any]], versions: Mapping[str, str]) -> Iterator[str]:
    seen: set[str] = set()
    for index, metric in enumerate(metrics):
        name = metric["name"]
        if name in seen:
            yield f"metrics[{index}].name {name!r} appears more than once; keep one entry per metric."
        seen.add(name)
        low, high = metric["ci_low"], metric["ci_high"]
        if (low is None) != (high is None):
            yield f"metrics[{index}] ({name}) has only one interval bound; give both ci_low and ci_high or neither."
        elif low is not None and low > high:
            yield f"metrics[{index}] ({name}) has ci_low {low} > ci_high {high}; swap them."
        recorded = versions.get(name)
        if recorded is not None and recorded != metric["version"]:
            yield (
                f"provenance.metric_versions.{name} is {recorded!r} but metrics[{index}].version is "
                f"{metric['version']!r}; they must agree."
            )


def _observable_problems(name: str, observable: Mapping[str, Any]) -> Iterator[str]:
    edges = observable["bin_edges"]
    if any(right <= left for left, right in zip(edges, edges[1:])):
        yield f"observables.{name}.bin_edges is not strictly increasing; sort the edges and drop duplicates."
    for key in ("generated", "reference"):
        if len(observable[key]) != len(edges) - 1:
            yield (
                f"observables.{name}.{key} has {len(observable[key])} bins; expected {len(edges) - 1}, "
                "one per interval between bin_edges."
            )


def _preview_value(value: Any) -> str:
    text = json.dumps(value) if _is_json(value) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__
