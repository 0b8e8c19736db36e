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


def render_header(*, scale: str) -> list[str]:
    """Return the report's title lines: date, machine and the command that reproduces the report."""
    today = datetime.date.today().isoformat()
    return [
        "# Performance benchmark",
        "",
        f"Measured {today} on: {machine_description()}.",
        f"Reproduce with `lartpc-bench perf --scale {scale}`. Timings are medians of repeated runs where a",
        "section says so; the machine is shared, so compare ratios rather than absolute seconds.",
        "",
    ]


def render_section(section: PerfSection, *, remeasured: str | None = None) -> list[str]:
    """Render one section. ``remeasured`` adds a first note saying that it was measured apart from the header's run."""
    lines = [f"## {section.title}", ""]
    if section.rows:
        lines += [tabulate(section.rows, headers="keys", tablefmt="github", floatfmt=".4g"), ""]
    notes = list(section.notes)
    if remeasured:
        notes.insert(0, remeasured)
    lines += [f"- {note}" for note in notes]
    lines.append("")
    return lines


def render_report(sections: list[PerfSection], *, scale: str) -> str:
    """Render sections as Markdown with the machine and the command that reproduces them."""
    lines = render_header(scale=scale)
    for section in sections:
        lines += render_section(section)
    return "\n".join(lines)


def split_report(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Split a report into its header and (title, block) pairs, one per "## " section."""
    header, *blocks = ("\n" + text).split("\n## ")
    sections = []
    for block in blocks:
        title = block.split("\n", 1)[0].strip()
        sections.append((title, "## " + block.rstrip("\n") + "\n"))
    return header.lstrip("\n"), sections


def merge_report(existing: str, measured: list[PerfSection], names: list[str], *, scale: str) -> str:
    """Replace each section of ``existing`` whose title a ``measured`` section has, keeping the others and the header.

    Sections not yet in the report are appended. Each replaced section notes when and how it was
    remeasured, since the header's date and machine describe the run that wrote the whole report.
    """
    header, blocks = split_report(existing)
    today = datetime.date.today().isoformat()
    fresh = {}
    for name, section in zip(names, measured):
        note = (f"Remeasured {today} apart from the rest of this report, with `lartpc-bench perf --scale {scale} "
                f"--sections {name}` on: {machine_description()}.")
        fresh[section.title] = "\n".join(render_section(section, remeasured=note)).rstrip("\n") + "\n"
    merged = [fresh.pop(title, block) for title, block in blocks]
    merged += list(fresh.values())
    return header.rstrip("\n") + "\n\n" + "\n".join(merged)


def write_report(path: str | Path, *, scale: str = "full", sections: list[str] | None = None) -> Path:
    """Measure ``sections`` and write the Markdown report to ``path`` atomically.

    With a subset of ``sections`` and an existing report at ``path``, only those sections are
    replaced and the rest of the report is kept.
    """
    measured = run_sections(sections, scale=scale)
    target = Path(path)
    if sections and target.is_file():
        text = merge_report(target.read_text(encoding="utf-8"), measured, sections, scale=scale)
    else:
        text = render_report(measured, scale=scale)
    write_text_atomic(target, text)
    return target
