"""Collect the performance sections and write the Markdown report (docs/PERF.md)."""

from __future__ import annotations

import datetime
import importlib
import logging
import os
import platform
from pathlib import Path

import torch
from tabulate import tabulate

from lartpcbench.datasets.fileio import write_text_atomic

from . import PerfSection

logger = logging.getLogger(__name__)

SECTION_MODULES = {
    "simulation": "lartpcbench.bench.perf.simulation",
    "sgm": "lartpcbench.bench.perf.sgm",
    "metrics": "lartpcbench.bench.perf.metrics",
    "pipeline": "lartpcbench.bench.perf.pipeline",
}


def machine_description() -> str:
    """Return a one-line description of the CPU, core count and library versions."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cpu}, {cores} cores available, torch {torch.__version__} ({torch.get_num_threads()} threads), Python {platform.python_version()}"


def run_sections(names: list[str] | None, *, scale: str) -> list[PerfSection]:
    """Measure the named sections (all when ``names`` is None) at ``scale``."""
    names = names or list(SECTION_MODULES)
    unknown = sorted(set(names) - set(SECTION_MODULES))
    if unknown:
        raise ValueError(f"unknown perf sections {unknown}; known sections: {sorted(SECTION_MODULES)}.")
    sections = []
    for name in names:
        logger.info("measuring perf section %s (%s)", name, scale)
        sections.append(importlib.import_module(SECTION_MODULES[name]).measure(scale=scale))
    return sections


def render_report(sections: list[PerfSection], *, scale: str) -> str:
    """Render sections as Markdown with the machine and the command that reproduces them."""
    today = datetime.date.today().isoformat()
    lines = [
        "# Performance benchmark",
        "",
        f"Measured {today} on: {machine_description()}.",
        f"Reproduce with `lartpc-bench perf --scale {scale}`. Timings are medians of repeated runs where a",
        "section says so; the machine is shared, so compare ratios rather than absolute seconds.",
        "",
    ]
    for section in sections:
        lines += [f"## {section.title}", ""]
        if section.rows:
            lines += [tabulate(section.rows, headers="keys", tablefmt="github", floatfmt=".4g"), ""]
        lines += [f"- {note}" for note in section.notes]
        lines.append("")
    return "\n".join(lines)


def write_report(path: str | Path, *, scale: str = "full", sections: list[str] | None = None) -> Path:
    """Measure ``sections`` and write the Markdown report to ``path`` atomically."""
    measured = run_sections(sections, scale=scale)
    write_text_atomic(path, render_report(measured, scale=scale))
    return Path(path)
