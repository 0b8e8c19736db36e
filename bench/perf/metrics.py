"""Performance of the metric suite: wall time of ``evaluate`` per metric and in total.

"smoke" scores 300 vs 300 procedurally drawn images with ``FAST_METRICS`` (seconds, for
tests). "full" scores 10,000 vs 10,000 simulated images (plus 10,000 training images for
memorisation) with ``DEFAULT_METRICS``, and 1,000 vs 1,000 with ``FAST_METRICS``. Full
runs take images from the built sim64-v1 split file when it exists, else from
sim64-smoke-v1 (built if missing) repeated under the eight symmetries of the square and
random shifts.
"""

from __future__ import annotations

import logging
import os
import platform
import time
import warnings

import numpy as np
import torch

from . import PerfSection

logger = logging.getLogger(__name__)

THREADS = 2
SCALES = ("smoke", "full")


def measure(*, scale: str) -> PerfSection:
    """Time ``evaluate`` at ``scale`` ("smoke" or "full") on ``THREADS`` torch threads."""
    if scale not in SCALES:
        raise ValueError(f"scale is {scale!r}; expected one of {list(SCALES)}.")
    from lartpcbench.bench.metrics import DEFAULT_METRICS, FAST_METRICS

    if scale == "smoke":
        runs = [("fast", FAST_METRICS, 300, 0)]
        pool = drawn_images(900, seed=0)
    else:
        runs = [("fast", FAST_METRICS, 1000, 0), ("default", DEFAULT_METRICS, 10_000, 10_000)]
        pool = simulated_images(30_000, seed=0)

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    rows = []
    try:
        for label, metrics, count, train_count in runs:
            rows.extend(_time_run(label, metrics, pool, count, train_count))
    finally:
        torch.set_num_threads(previous_threads)
    notes = [
        f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} CPU cores visible, "
        f"torch {torch.__version__} on {THREADS} threads; 1-minute load average at the end: {os.getloadavg()[0]:.1f}",
        "a metric's wall time includes the feature extraction (observables, segmentation network) it is the first to need",
    ]
    return PerfSection(title="metric suite", rows=rows, notes=notes)


def _time_run(label: str, metrics, pool: np.ndarray, count: int, train_count: int) -> list[dict]:
    from lartpcbench.bench.metrics import evaluate

    generated, reference = pool[:count], pool[count : 2 * count]
    train = pool[2 * count : 2 * count + train_count] if train_count else None
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = evaluate(generated, reference, train=train, metrics=list(metrics), seed=0)
    total = time.perf_counter() - started
    rows, seen = [], set()
    for result in results:
        metric = _metric_of(result.name, metrics)
        if metric in seen:
            continue
        seen.add(metric)
        rows.append(
            {"suite": label, "n_generated": count, "n_reference": count, "n_train": train_count,
             "metric": metric, "wall_s": result.details["wall_time_s"]}
        )
    rows.append({"suite": label, "n_generated": count, "n_reference": count, "n_train": train_count,
                 "metric": "total", "wall_s": round(total, 3)})
    logger.info("%s metrics on %d vs %d images: %.1f s", label, count, count, total)
    return rows


def _metric_of(result_name: str, metrics) -> str:
    from lartpcbench.bench.metrics import get_metric

    for metric in metrics:
        if result_name in get_metric(metric).result_names:
            return metric
    return result_name


def drawn_images(count: int, *, seed: int) -> np.ndarray:
    """Draw (count, 64, 64) uint8 images of 1-3 straight tracks with a brighter end and noise."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 64, 64), dtype=np.uint8)
    for image in images:
        for _ in range(rng.integers(1, 4)):
            start = rng.uniform(4, 60, 2)
            angle = rng.uniform(0, np.pi)
            length = rng.uniform(8, 50)
            steps = np.linspace(0, length, int(length * 2))
            rows = np.clip(np.round(start[0] + steps * np.sin(angle)), 0, 63).astype(int)
            cols = np.clip(np.round(start[1] + steps * np.cos(angle)), 0, 63).astype(int)
            values = 40 + 60 * (steps / length) ** 6 + rng.normal(0, 5, len(steps))
            image[rows, cols] = np.clip(values, 5, 255).astype(np.uint8)
        noise = rng.random((64, 64)) < 0.002
        image[noise] = rng.integers(5, 30, noise.sum())
    return images


def simulated_images(count: int, *, seed: int) -> np.ndarray:
    """Return ``count`` simulated images: sim64-v1 splits when built, else augmented sim64-smoke-v1."""
    from lartpcbench.datasets.catalog import dataset_path, ensure_dataset
    from lartpcbench.datasets.splits import read_split

    full = dataset_path("sim64-v1")
    if full.is_file():
        pool = np.concatenate([read_split(full, split).images for split in ("test", "val", "train")])
        if len(pool) >= count:
            return pool[:count]
    path = ensure_dataset("sim64-smoke-v1", progress=False)
    base = np.concatenate([read_split(path, split).images for split in ("train", "val", "test")])
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(base), count)
    images = base[picks].copy()
    for index, symmetry in enumerate(rng.integers(0, 8, count)):
        image = images[index]
        if symmetry & 1:
            image = image[::-1]
        if symmetry & 2:
            image = image[:, ::-1]
        if symmetry & 4:
            image = image.T
        images[index] = np.roll(image, tuple(rng.integers(-4, 5, 2)), axis=(0, 1))
    return images
