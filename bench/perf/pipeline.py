"""End-to-end timing of the main job: ``lartpc-bench run`` with the smoke preset.

At scale "full" the run builds its dataset in a fresh data directory, trains all three
families, samples, scores and renders, exactly as a new user's first smoke run does. At
scale "smoke" it runs the GAN alone for two steps with one metric, to check the section works.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from lartpcbench.bench import runner
from lartpcbench.bench.config import load_run_config

from . import PerfSection

SMOKE_TARGET_S = 300.0


def _stage_rows(run_dir: Path) -> list[dict]:
    rows = []
    for model_dir in sorted((run_dir / "models").iterdir()):
        fit = json.loads((model_dir / "fit.json").read_text())
        sampling = json.loads((model_dir / "sampling.json").read_text())
        rows.append({"stage": f"{model_dir.name}: train {fit['steps']} steps", "seconds": fit["wall_time_s"]})
        rows.append({"stage": f"{model_dir.name}: sample {sampling['num_samples']} images", "seconds": sampling["wall_time_s"]})
    return rows


def measure(*, scale: str) -> PerfSection:
    """Time one smoke-preset run from an empty data directory and report its stages."""
    overrides: dict = {}
    if scale == "smoke":
        overrides = {
            "model_names": ["gan"],
            "models": {"gan": {"train": {"steps": 2}}},
            "evaluation": {"num_samples": 32, "metrics": ["fd_physics"]},
        }
    config = load_run_config("smoke", overrides=overrides)
    with tempfile.TemporaryDirectory(prefix="lartpcbench-perf-") as folder:
        previous = os.environ.get("LARTPCBENCH_DATA")
        os.environ["LARTPCBENCH_DATA"] = str(Path(folder) / "data")
        try:
            start = time.perf_counter()
            runner.run(config, Path(folder) / "run", progress=False)
            total = time.perf_counter() - start
        finally:
            if previous is None:
                os.environ.pop("LARTPCBENCH_DATA", None)
            else:
                os.environ["LARTPCBENCH_DATA"] = previous
        rows = _stage_rows(Path(folder) / "run")
    rows.append({"stage": "total, data build and scoring included", "seconds": total})
    models = ", ".join(model.name for model in config.models)
    return PerfSection(
        title="Main job: `lartpc-bench run --preset smoke`",
        rows=rows,
        notes=[
            f"One run of the smoke preset ({models}) from an empty data directory; target {SMOKE_TARGET_S:.0f} s on two CPU cores.",
            "Training stages stop at the step count or the time limit set in each family's smoke config.",
        ],
    )
