"""Image generation: one event per image, seeded from (seed, stream, index), in worker processes.

Each image draws its random numbers from ``SeedSequence(seed, spawn_key=(stream, index,
attempt))``, so the images do not depend on the number of workers or the chunking, and
different streams (the catalog uses one per split) never share random numbers.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import os

import numpy as np
from tqdm.auto import tqdm

from ..splits import SplitData
from . import event, image, truth
from .config import SimConfig

logger = logging.getLogger(__name__)

CHUNK_SIZE = 50


class SimulationError(RuntimeError):
    """An image for which no event gave a crop passing the crop rule."""


def simulate_image(seed: int, stream: int, index: int, config: SimConfig) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """Return (image, semantic, label, truth row) of image ``index`` of ``stream``.

    Events whose crops all fail the lit-pixel rule are replaced by the next attempt, up to
    ``config.max_attempts``.
    """
    for attempt in range(config.max_attempts):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, index, attempt)))
        primaries = event.sample_primaries(rng, config)
        deposits = event.transport_event(rng, primaries, config)
        world, by_class = image.project(deposits, config)
        crop = image.choose_crop(rng, world, by_class, config)
        if crop is not None:
            row = truth.truth_row(primaries, deposits, crop.origin, crop.visible_mev, attempt, config)
            return crop.image, crop.semantic, crop.label, row
    raise SimulationError(
        f"image {index} of stream {stream} (seed {seed}) gave no crop with at least "
        f"{config.min_lit_fraction:.1%} lit pixels in {config.max_attempts} events; raise max_attempts "
        "or lower min_lit_fraction."
    )


def _simulate_chunk(arguments: tuple[int, int, int, int, SimConfig]) -> tuple[np.ndarray, ...]:
    seed, stream, start, stop, config = arguments
    results = [simulate_image(seed, stream, index, config) for index in range(start, stop)]
    images = np.stack([result[0] for result in results])
    semantic = np.stack([result[1] for result in results])
    labels = np.array([result[2] for result in results], dtype=np.int8)
    rows = np.stack([result[3] for result in results])
    return images, semantic, labels, rows


def available_cpu_count() -> int:
    """Return the number of CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def simulate_images(
    num_images: int,
    *,
    seed: int,
    config: SimConfig | None = None,
    workers: int | None = None,
    stream: int = 0,
    progress: bool = False,
) -> SplitData:
    """Simulate ``num_images`` crops and return them as a ``SplitData`` with semantic labels and truth.

    ``workers`` processes share the work (default: all CPU cores available to this process;
    1 runs in this process). The output is the same for any number of workers.
    """
    config = config or SimConfig()
    if num_images < 1:
        raise ValueError(f"num_images is {num_images}; expected at least 1.")
    if workers is not None and workers < 1:
        raise ValueError(f"workers is {workers}; expected at least 1 (or None for all CPU cores).")
    workers = workers or available_cpu_count()
    chunks = [
        (seed, stream, start, min(start + CHUNK_SIZE, num_images), config)
        for start in range(0, num_images, CHUNK_SIZE)
    ]
    bar = tqdm(total=num_images, desc=f"simulating stream {stream}", unit="image", disable=not progress)
    parts = []
    if workers == 1 or len(chunks) == 1:
        for chunk in chunks:
            parts.append(_simulate_chunk(chunk))
            bar.update(chunk[3] - chunk[2])
    else:
        # Fork (where the platform has it) starts workers fast and works from notebooks and
        # stdin scripts. The workers run numpy code only, so they need no threads of the parent.
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        # Workers ignore SIGINT, so Ctrl-C reaches the parent alone, which then terminates them.
        pool = context.Pool(processes=min(workers, len(chunks)), initializer=_ignore_interrupt)
        try:
            for chunk, part in zip(chunks, pool.imap(_simulate_chunk, chunks)):
                parts.append(part)
                bar.update(chunk[3] - chunk[2])
            pool.close()
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()
    bar.close()
    images, semantic, labels, rows = (np.concatenate(arrays) for arrays in zip(*parts))
    return SplitData(images=images, labels=labels, semantic=semantic, truth=rows)


def _ignore_interrupt() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
