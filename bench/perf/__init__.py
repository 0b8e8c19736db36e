"""The performance benchmark: sections measured by components, collected into one report.

Each section module exposes ``measure(*, scale: str) -> PerfSection``; ``scale`` is "smoke"
(seconds, used by tests) or "full" (the numbers quoted in the report).
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass
class PerfSection:
    """One report section: a title, rows of measured values, and notes on method and machine."""

    title: str
    rows: list[dict[str, Any]]
    notes: list[str] = dataclasses.field(default_factory=list)
