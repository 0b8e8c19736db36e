"""The leaderboard table: row order, number formatting, the Markdown table and the CSV frame."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
from tabulate import tabulate

from .store import StoredResult

MISSING = "-"
NOT_A_NUMBER = "n/a"
FLOOR_LABEL = "real-vs-real floor"


@dataclasses.dataclass(frozen=True)
class MetricColumn:
    """One metric column: its name, direction and unit, taken from the first result that has it."""

    name: str
    lower_is_better: bool
    unit: str
    version: str
    estimator: str

    @property
    def arrow(self) -> str:
        return "↓" if self.lower_is_better else "↑"


def metric_map(result: StoredResult) -> dict[str, dict[str, Any]]:
    """Return a result's metrics by name."""
    return {metric["name"]: metric for metric in result.record["metrics"]}


def metric_columns(results: Sequence[StoredResult], primary_metric: str) -> list[MetricColumn]:
    """Return the metric columns: the primary metric first, then the others by name.

    Raises ``ValueError`` listing the available metrics when no result has ``primary_metric``.
    """
    first_seen: dict[str, dict[str, Any]] = {}
    for result in results:
        for metric in result.record["metrics"]:
            first_seen.setdefault(metric["name"], metric)
    if primary_metric not in first_seen:
        raise ValueError(
            f"primary metric {primary_metric!r} is in none of the {len(results)} results; "
            f"choose one of {sorted(first_seen)}."
        )
    names = [primary_metric] + sorted(name for name in first_seen if name != primary_metric)
    return [
        MetricColumn(
            name=name,
            lower_is_better=bool(first_seen[name]["lower_is_better"]),
            unit=first_seen[name]["unit"],
            version=first_seen[name]["version"],
            estimator=first_seen[name]["estimator"],
        )
        for name in names
    ]


def sort_results(results: Sequence[StoredResult], primary: MetricColumn) -> list[StoredResult]:
    """Order results best first by the primary metric; missing or null values go last.

    Ties break by submission name, then run id, so the order is deterministic.
    """

    def key(result: StoredResult) -> tuple[Any, ...]:
        metric = metric_map(result).get(primary.name)
        value = None if metric is None else metric["value"]
        if value is None:
            return (1, 0.0, result.record["submission"]["name"], result.run_id)
        signed = value if primary.lower_is_better else -value
        return (0, signed, result.record["submission"]["name"], result.run_id)

    return sorted(results, key=key)


def is_reference(result: StoredResult) -> bool:
    return result.record["submission"]["kind"] == "reference"


def ranks(results: Sequence[StoredResult]) -> list[str]:
    """Return rank labels in table order: 1, 2, ... for submissions and the floor label for reference rows."""
    labels, rank = [], 0
    for result in results:
        if is_reference(result):
            labels.append("floor")
        else:
            rank += 1
            labels.append(str(rank))
    return labels


def format_number(value: float | None) -> str:
    """Format a number with about four significant digits; scientific notation outside 1e-3 to 1e5."""
    if value is None or not math.isfinite(value):
        return NOT_A_NUMBER
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.3e}"
    return f"{value:.4g}"


def format_measurement(value: float | None, low: float | None, high: float | None) -> str:
    """Format ``value ± half-width [low, high]``, with the half-width to two significant digits.

    The value and the bounds use the half-width's decimal places. Without an interval the
    value alone is shown, and a null value reads "n/a".
    """
    if value is None:
        return NOT_A_NUMBER
    if low is None or high is None:
        return format_number(value)
    half = (high - low) / 2
    if half <= 0:
        return f"{format_number(value)} [{format_number(low)}, {format_number(high)}]"
    decimals = 1 - math.floor(math.log10(half))
    if decimals > 4 or max(abs(value), abs(low), abs(high)) >= 1e7:
        return f"{value:.3g} ± {half:.2g} [{low:.3g}, {high:.3g}]"
    decimals = max(decimals, 0)
    return f"{value:.{decimals}f} ± {half:.{decimals}f} [{low:.{decimals}f}, {high:.{decimals}f}]"


def format_count(count: int | None) -> str:
    """Format a parameter count as 512, 12.3k, 4.56M or 1.20B."""
    if count is None:
        return MISSING
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if count >= threshold:
            return f"{count / threshold:.3g}{suffix}"
    return str(count)


def speed(result: StoredResult) -> float | None:
    """Return the sampling throughput in images per second, or None when not recorded."""
    sampling = result.record["sampling"]
    return None if sampling is None else sampling["images_per_second"]


def function_evaluations(result: StoredResult) -> float | None:
    """Return the network evaluations per generated image, or None when not recorded."""
    sampling = result.record["sampling"]
    return None if sampling is None else sampling["function_evaluations_per_image"]


def display_name(result: StoredResult) -> str:
    name = result.record["submission"]["name"]
    if is_reference(result):
        return f"{name} ({FLOOR_LABEL})"
    cap = time_cap_note(result)
    return f"{name} ({cap})" if cap else name


def time_cap_note(result: StoredResult) -> str | None:
    """Return "time cap at S of T steps" for a model whose training stopped at its time limit, else None."""
    training = result.record.get("training") or {}
    if not training.get("stopped_early"):
        return None
    target = (result.record["submission"].get("train_config") or {}).get("steps")
    return f"time cap at {training['steps']:,} of {target:,} steps" if target else f"time cap at {training['steps']:,} steps"


def metric_header(column: MetricColumn) -> str:
    unit = f" [{column.unit}]" if column.unit else ""
    return f"{column.name}{unit} {column.arrow}"


def metric_cell(result: StoredResult, column: MetricColumn) -> str:
    metric = metric_map(result).get(column.name)
    if metric is None:
        return MISSING
    return format_measurement(metric["value"], metric["ci_low"], metric["ci_high"])


def markdown_table(results: Sequence[StoredResult], columns: Sequence[MetricColumn]) -> str:
    """Return the GitHub-flavoured Markdown table for results already in display order."""
    headers = ["#", "Submission", "Family", "Params", "Images/s", "NFE/image"] + [metric_header(c) for c in columns]
    rows = []
    for rank, result in zip(ranks(results), results):
        rows.append(
            [
                rank,
                _escape_markdown(display_name(result)),
                _escape_markdown(result.record["submission"]["family"]),
                format_count(result.record["num_parameters"]),
                format_number(speed(result)) if speed(result) is not None else MISSING,
                format_number(function_evaluations(result)) if function_evaluations(result) is not None else MISSING,
            ]
            + [metric_cell(result, column) for column in columns]
        )
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


# Per-observable comparisons get their own tables, so the headline table stays readable.
OBSERVABLE_GROUPS = (
    ("w1_", "Physics observables: 1D Wasserstein distance"),
    ("ks_", "Physics observables: Kolmogorov-Smirnov statistic"),
    ("sep_", "Physics observables: separation power"),
)


def group_columns(columns: Sequence[MetricColumn]) -> tuple[list[MetricColumn], list[tuple[str, list[MetricColumn]]]]:
    """Split columns into the headline table and per-observable tables (by name prefix).

    ``w1_pixels`` is a headline metric (a raw-pixel distance), not a physics observable.
    """
    headline: list[MetricColumn] = []
    grouped: dict[str, list[MetricColumn]] = {prefix: [] for prefix, _ in OBSERVABLE_GROUPS}
    for position, column in enumerate(columns):
        prefix = next((p for p, _ in OBSERVABLE_GROUPS if column.name.startswith(p)), None)
        if position == 0 or prefix is None or column.name == "w1_pixels":
            headline.append(column)
        else:
            grouped[prefix].append(column)
    return headline, [(title, grouped[prefix]) for prefix, title in OBSERVABLE_GROUPS if grouped[prefix]]


def markdown_document(results: Sequence[StoredResult], columns: Sequence[MetricColumn]) -> str:
    """Return LEADERBOARD.md: a heading, the table, how to read it and the metric definitions."""
    dataset = results[0].record["dataset"]
    primary = columns[0]
    direction = "lower is better" if primary.lower_is_better else "higher is better"
    headline, groups = group_columns(columns)
    lines = [
        f"# Leaderboard: {_escape_markdown(dataset['name'])} (version {_escape_markdown(dataset['version'])})",
        "",
        f"Scored against the `{dataset['eval_split']}` split. Sorted by `{primary.name}` ({direction}).",
        "",
        markdown_table(results, headline),
        "",
        "Each metric cell reads `value ± half-width [interval low, interval high]`; ↓ marks metrics where "
        "lower is better and ↑ those where higher is better. The row marked "
        f"\"{FLOOR_LABEL}\" scores real held-out images like a model: a faithful model matches it within noise. "
        "A model far better than the floor on one metric exploits that metric (raw-pixel distances such as "
        "w1_pixels favour near-blank images, for example), so read the rows across all metrics. "
        "nn_train_ratio is best near 1: below 1, samples sit closer to training images than real held-out images do. "
        "A \"time cap\" after a name marks a model whose training stopped at its time limit before its step budget, "
        "so its row depends on the speed of the machine that trained it.",
        "",
    ]
    for title, group in groups:
        lines += [f"## {title}", "", markdown_table(results, [primary, *group]), ""]
    lines += [
        "## Metrics",
        "",
        tabulate(
            [[c.name, c.arrow, c.unit or MISSING, c.version, _escape_markdown(c.estimator)] for c in columns],
            headers=["Metric", "Better", "Unit", "Version", "Interval estimator"],
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
    ]
    return "\n".join(lines)


def results_frame(results: Sequence[StoredResult], columns: Sequence[MetricColumn]) -> pd.DataFrame:
    """Return one row per result with raw numbers: metadata, cost and each metric's value and interval."""
    rows = []
    for rank, result in zip(ranks(results), results):
        record = result.record
        training = record["training"] or {}
        row: dict[str, Any] = {
            "rank": rank,
            "run_id": result.run_id,
            "name": record["submission"]["name"],
            "kind": record["submission"]["kind"],
            "model": record["submission"]["model"],
            "family": record["submission"]["family"],
            "num_parameters": record["num_parameters"],
            "training_steps": training.get("steps"),
            "training_wall_time_s": training.get("wall_time_s"),
            "images_per_second": speed(result),
            "function_evaluations_per_image": function_evaluations(result),
        }
        metrics = metric_map(result)
        for column in columns:
            metric = metrics.get(column.name, {})
            for suffix, key in (("", "value"), ("_ci_low", "ci_low"), ("_ci_high", "ci_high")):
                row[f"{column.name}{suffix}"] = metric.get(key)
        row["dataset_version"] = record["dataset"]["version"]
        row["created_utc"] = record["provenance"]["created_utc"]
        rows.append(row)
    frame = pd.DataFrame(rows)
    # Nullable integers, so a missing count stays empty instead of turning the column into floats.
    for name in ("num_parameters", "training_steps"):
        frame[name] = frame[name].astype("Int64")
    return frame


def _escape_markdown(text: str) -> str:
    """Escape characters that would break a Markdown table cell or start markup."""
    text = " ".join(str(text).split())
    for character in ("\\", "|", "*", "`", "<", ">", "[", "]"):
        text = text.replace(character, "\\" + character)
    return text
