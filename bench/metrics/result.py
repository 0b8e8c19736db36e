"""The value type every metric returns."""

from __future__ import annotations

import dataclasses
import math
from typing import Any


@dataclasses.dataclass(frozen=True)
class MetricResult:
    """One metric value with its uncertainty and provenance.

    ``ci_low``/``ci_high`` bound the interval that ``estimator`` describes (for example
    "bootstrap, 200 resamples, 68% percentile interval"); ``n_real`` and ``n_generated`` are
    the sample sizes that entered the computation; ``version`` changes whenever the metric's
    definition changes. ``details`` holds extra JSON-serialisable numbers (per-batch values,
    thresholds) that the leaderboard does not tabulate.
    """

    name: str
    value: float
    ci_low: float
    ci_high: float
    n_real: int
    n_generated: int
    version: str
    estimator: str
    lower_is_better: bool = True
    unit: str = ""
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        record = dataclasses.asdict(self)
        for key in ("value", "ci_low", "ci_high"):
            record[key] = _json_float(record[key])
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> "MetricResult":
        values = dict(record)
        for key in ("value", "ci_low", "ci_high"):
            values[key] = float("nan") if values.get(key) is None else float(values[key])
        return cls(**values)


def _json_float(value: float) -> float | None:
    """Return ``value`` as a float, or None for NaN/inf, which JSON cannot hold."""
    value = float(value)
    return value if math.isfinite(value) else None
