"""The sampler table: sample quality against cost for every sgm sampler on one trained model.

For each sampler and step count the table records the score evaluations per image, the
Frechet distance in standardised physics features (metric ``fd_physics``) between the
post-processed samples and real reference images, with its interval, and the sampling
throughput. ``write_sampler_doc`` renders it to docs/samplers.md.

Run it with ``python -m lartpcbench.bench.sampler_table CHECKPOINT_DIR --split-file FILE``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import logging
import time
from pathlib import Path

import numpy as np
import torch
from tabulate import tabulate

from lartpcbench.datasets.fileio import write_text_atomic
from lartpcbench.datasets.images import postprocess, validate_images
from lartpcbench.models.sgm.generator import SGMGenerator

logger = logging.getLogger(__name__)

# Step counts per sampler; ode_rk45 is adaptive and takes one entry whose value is ignored.
DEFAULT_GRID: dict[str, tuple[int, ...]] = {
    "euler_maruyama": (100, 1000),
    "predictor_corrector": (100,),
    "ode_rk45": (0,),
    "ddim": (10, 25, 50),
    "dpm_solver_2m": (10, 25, 50),
    "heun_edm": (10, 25),
}


SAMPLER_NOTES = {
    "euler_maruyama": "Euler-Maruyama on the reverse-time SDE, uniform time steps; the reference work's sampler at 1,000 steps.",
    "predictor_corrector": "Euler-Maruyama predictor with one Langevin corrector step per time step (signal-to-noise ratio 0.16).",
    "ode_rk45": "probability-flow ODE with scipy's adaptive RK45 (rtol and atol from the model config).",
    "ddim": "deterministic DDIM (eta = 0) on uniformly spaced times.",
    "dpm_solver_2m": "DPM-Solver++(2M), second-order multistep, on the EDM noise grid (rho = 7).",
    "heun_edm": "Heun's second-order method on the EDM noise grid (rho = 7); 2 steps - 1 evaluations.",
}


@dataclasses.dataclass(frozen=True)
class SamplerRow:
    """One table row: a sampler at one step count, its cost and the Frechet distance with interval."""

    sampler: str
    steps: int
    evaluations_per_image: float
    frechet_distance: float
    frechet_low: float
    frechet_high: float
    images_per_s: float


def measure_sampler(generator: SGMGenerator, name: str, steps: int, reference: np.ndarray, *,
                    num_samples: int, seed: int, batch_size: int) -> SamplerRow:
    """Sample ``num_samples`` images with sampler ``name`` at ``steps`` and score them against ``reference``."""
    from lartpcbench.bench.metrics import evaluate

    original = generator.config
    sampler = dataclasses.replace(original.sampler, name=name, steps=max(steps, 1))
    generator.config = dataclasses.replace(original, sampler=sampler)
    try:
        start = time.perf_counter()
        samples = generator.sample(num_samples, seed=seed, batch_size=batch_size)
        seconds = time.perf_counter() - start
        evaluations = generator.function_evaluations_per_image()
    finally:
        generator.config = original
    (result,) = evaluate(postprocess(samples), reference, metrics=["fd_physics"], seed=seed)
    logger.info("sampler %s, %d steps: %.1f evaluations/image, FD %.3f", name, steps, evaluations, result.value)
    return SamplerRow(name, steps, evaluations, result.value, result.ci_low, result.ci_high, num_samples / seconds)


def sampler_table(generator: SGMGenerator, reference_images: np.ndarray, *, num_samples: int = 250, seed: int = 0,
                  grid: dict[str, tuple[int, ...]] | None = None, batch_size: int = 250) -> list[SamplerRow]:
    """Run every sampler of ``grid`` (default ``DEFAULT_GRID``) on ``generator``; return one row per run.

    All runs share ``seed``, so every sampler starts from the same initial noise.
    ``reference_images`` are (N, 64, 64) uint8 real images.
    """
    reference = validate_images(reference_images, name="reference_images")
    rows = []
    for name, step_counts in (grid or DEFAULT_GRID).items():
        for steps in step_counts:
            rows.append(measure_sampler(generator, name, steps, reference, num_samples=num_samples, seed=seed, batch_size=batch_size))
    return rows


def _measure_in_worker(checkpoint: str, name: str, steps: int, reference: np.ndarray, num_samples: int, seed: int,
                       threads: int) -> SamplerRow:
    """Load the generator in a worker process and measure one sampler; see ``sampler_table_parallel``."""
    torch.set_num_threads(threads)
    generator = SGMGenerator.load(checkpoint)
    return measure_sampler(generator, name, steps, reference, num_samples=num_samples, seed=seed, batch_size=num_samples)


def sampler_table_parallel(checkpoint: str | Path, reference_images: np.ndarray, *, jobs: int, threads: int = 1,
                           num_samples: int = 250, seed: int = 0, grid: dict[str, tuple[int, ...]] | None = None) -> list[SamplerRow]:
    """Run ``sampler_table`` for a saved generator in ``jobs`` processes of ``threads`` torch threads each.

    Rows come back in grid order and equal those of ``sampler_table`` up to float rounding,
    apart from images/s, which then measures one process among ``jobs``.
    """
    from concurrent.futures import ProcessPoolExecutor

    reference = validate_images(reference_images, name="reference_images")
    runs = [(name, steps) for name, step_counts in (grid or DEFAULT_GRID).items() for steps in step_counts]
    # Longest runs first, so that the pool does not end on one long run
    order = sorted(range(len(runs)), key=lambda index: -runs[index][1])
    rows: dict[int, SamplerRow] = {}
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {index: pool.submit(_measure_in_worker, str(checkpoint), *runs[index], reference, num_samples, seed, threads)
                   for index in order}
        for index, future in futures.items():
            rows[index] = future.result()
    return [rows[index] for index in range(len(runs))]


def fast_sampler_check(rows: list[SamplerRow], *, max_evaluations: float = 50, tolerance: float = 0.10) -> SamplerRow | None:
    """Return the best row with <= ``max_evaluations`` whose FD is within ``tolerance`` of 1,000-step Euler-Maruyama."""
    reference = [row for row in rows if row.sampler == "euler_maruyama" and row.steps == 1000]
    if not reference:
        return None
    limit = reference[0].frechet_distance * (1 + tolerance)
    fast = [row for row in rows if row.evaluations_per_image <= max_evaluations and row.frechet_distance <= limit]
    return min(fast, key=lambda row: row.frechet_distance) if fast else None


def render_markdown(rows: list[SamplerRow], *, description: str) -> str:
    """Render the table as a Markdown page with ``description`` (model, data, machine, command) on top."""
    table = [[row.sampler, row.steps if row.sampler != "ode_rk45" else "adaptive", f"{row.evaluations_per_image:.0f}",
              f"{row.frechet_distance:.3f}", f"[{row.frechet_low:.3f}, {row.frechet_high:.3f}]", f"{row.images_per_s:.2f}"]
             for row in rows]
    headers = ["sampler", "steps", "score evaluations / image", "FD physics", "interval", "images/s"]
    best = fast_sampler_check(rows)
    if best is None:
        verdict = "No sampler with at most 50 evaluations came within 10 % of the 1,000-step Euler-Maruyama FD in this run."
    else:
        verdict = (f"Fastest match: {best.sampler} with {best.evaluations_per_image:.0f} evaluations per image reaches FD "
                   f"{best.frechet_distance:.3f}, within 10 % of 1,000-step Euler-Maruyama.")
    legend = [f"- `{name}`: {note}" for name, note in SAMPLER_NOTES.items() if any(row.sampler == name for row in rows)]
    return "\n".join(["# Samplers of the score-based diffusion baseline", "", description, "",
                      tabulate(table, headers=headers, tablefmt="github"), "", verdict, "", "## Samplers", "", *legend, ""])


def write_sampler_doc(rows: list[SamplerRow], path: str | Path, *, description: str) -> None:
    write_text_atomic(path, render_markdown(rows, description=description))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure every sgm sampler on one trained model and write docs/samplers.md.")
    parser.add_argument("checkpoint", type=Path, help="folder written by SGMGenerator.save or fit(checkpoint_dir=...)")
    parser.add_argument("--split-file", type=Path, required=True, help="HDF5 split file with the reference images")
    parser.add_argument("--split", default="test", help="split of the reference images (default: test)")
    parser.add_argument("--num-samples", type=int, default=250, help="images per sampler run (default: 250)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial noise and the metric (default: 0)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads per process; 0 keeps torch's default")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes that run samplers side by side (default: 1)")
    parser.add_argument("--out", type=Path, default=Path("docs/samplers.md"), help="Markdown output path")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)

    from lartpcbench.datasets.splits import read_split

    reference = read_split(args.split_file, args.split).images
    generator = SGMGenerator.load(args.checkpoint)
    if args.jobs > 1:
        rows = sampler_table_parallel(args.checkpoint, reference, jobs=args.jobs, threads=args.threads or 1,
                                      num_samples=args.num_samples, seed=args.seed)
    else:
        rows = sampler_table(generator, reference, num_samples=args.num_samples, seed=args.seed)
    network = generator.config.network
    description = (
        f"Measured {datetime.date.today().isoformat()} with `python -m lartpcbench.bench.sampler_table` in "
        f"{args.jobs} process(es) of {torch.get_num_threads()} torch thread(s). Model: {generator.num_parameters():,} parameters "
        f"(base {network.base_channels} channels, multipliers {list(network.channel_multipliers)}, patch size "
        f"{network.patch_size}, {generator.config.parameterization} parameterization, {generator.config.sde.kind} SDE), "
        f"trained {generator.step} steps. FD physics is `fd_physics` of {args.num_samples} post-processed samples "
        f"against {len(reference)} images of split `{args.split}` of `{args.split_file.name}`; the interval is the "
        "metric's own. Every run starts from the same per-image noise (seed "
        f"{args.seed}), so differences between rows come from the samplers alone."
    )
    write_sampler_doc(rows, args.out, description=description)
    print(render_markdown(rows, description=description))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
