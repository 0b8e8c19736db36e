"""Performance of the image simulator: images per second and the time of the sim64-v1 build.

``measure(scale="smoke")`` times a few dozen images in this process, which takes seconds.
``"full"`` times 2,000 images on one core and on all cores, and extrapolates to the 70,000
images of sim64-v1.
"""

from __future__ import annotations

import os
import platform
import time

from lartpcbench.datasets.catalog import get_dataset_spec
from lartpcbench.datasets.sim import simulate_images
from lartpcbench.datasets.sim.simulate import available_cpu_count

from . import PerfSection

SCALES = {"smoke": 40, "full": 2000}
FULL_DATASET = "sim64-v1"


def measure(*, scale: str) -> PerfSection:
    """Time the simulator at ``scale`` ("smoke" or "full") and return the report section."""
    if scale not in SCALES:
        raise ValueError(f"scale is {scale!r}; expected one of {sorted(SCALES)}.")
    spec = get_dataset_spec(FULL_DATASET)
    total_images = sum(spec.split_sizes.values())
    count = SCALES[scale]
    rows = []
    worker_counts = [1] if scale == "smoke" else sorted({1, available_cpu_count()})
    for workers in worker_counts:
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        simulate_images(count, seed=spec.seed, config=spec.sim_config, workers=workers, stream=99)
        wall = time.perf_counter() - wall_start
        rows.append(
            {
                "workers": workers,
                "images": count,
                "wall_s": round(wall, 3),
                "images_per_s": round(count / wall, 1),
                "parent_cpu_ms_per_image": round(1000 * (time.process_time() - cpu_start) / count, 2),
                f"{FULL_DATASET}_build_s_extrapolated": round(total_images * wall / count, 1),
            }
        )
    notes = [
        f"{count} images of the {FULL_DATASET} configuration (random stream 99, not part of any split); "
        f"the build time is extrapolated linearly to {total_images} images, not measured.",
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
        f"{available_cpu_count()} available to this process; other load on the machine slows the numbers.",
    ]
    return PerfSection(title="Simulator throughput", rows=rows, notes=notes)
