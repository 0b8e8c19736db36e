"""The sampler table: sample quality against cost for every sgm sampler on one trained model.

For each sampler and step count the table records the score evaluations per image, the
Frechet distance in standardised physics features (metric ``fd_physics``) between the
post-processed samples and real reference images, with its interval, the lit-pixel fraction of
the samples relative to the reference and the sampling throughput. ``write_sampler_doc`` renders it to docs/samplers.md.

Run it with ``lartpc-bench samplers CHECKPOINT_DIR --split-file FILE`` (or ``python -m
lartpcbench.bench.sampler_table`` with the same options).
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

from lartpcbench.datasets.fileio import save_array_atomic, write_text_atomic
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
    "edm_stochastic": (10, 25),
    "dpm_solver_2m_sde": (10, 25, 50),
}


SAMPLER_NOTES = {
    "euler_maruyama": "Euler-Maruyama on the reverse-time SDE, uniform time steps; the reference work's sampler at 1,000 steps.",
    "predictor_corrector": "Euler-Maruyama predictor with one Langevin corrector step per time step (signal-to-noise ratio 0.16).",
    "ode_rk45": "probability-flow ODE with scipy's adaptive RK45 (rtol and atol from the model config); it ends at "
                "t = eps without the final denoising step that the fixed-step samplers take.",
    "ddim": "deterministic DDIM (eta = 0) on uniformly spaced times.",
    "dpm_solver_2m": "DPM-Solver++(2M), second-order multistep, on the EDM noise grid (rho = 7).",
    "heun_edm": "Heun's second-order method on the EDM noise grid (rho = 7); 2 steps - 1 evaluations.",
    "edm_stochastic": "stochastic Heun sampler of Karras et al. (Algorithm 2) on the EDM grid: noise raises each level by up "
                      "to sqrt(2) - 1 (churn 40, for sigma in [0.05, 50], noise inflation 1.003) before the Heun step; "
                      "2 steps - 1 evaluations.",
    "dpm_solver_2m_sde": "SDE-DPM-Solver++(2M), the stochastic second-order multistep solver of the reverse SDE, on the EDM "
                         "grid (rho = 7).",
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
    lit_ratio: float = float("nan")


def measure_sampler(generator: SGMGenerator, name: str, steps: int, reference: np.ndarray, *,
                    num_samples: int, seed: int, batch_size: int, samples_dir: Path | None = None) -> SamplerRow:
    """Sample ``num_samples`` images with sampler ``name`` at ``steps`` and score them against ``reference``.

    With ``samples_dir`` the raw float samples are also saved there as ``NAME-STEPS.npy``.
    """
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
    if samples_dir is not None:
        save_array_atomic(Path(samples_dir) / f"{name}-{steps}.npy", samples)
    images = postprocess(samples)
    (result,) = evaluate(images, reference, metrics=["fd_physics"], seed=seed)
    lit_ratio = float(np.count_nonzero(images)) / images.size / (float(np.count_nonzero(reference)) / reference.size)
    logger.info("sampler %s, %d steps: %.1f evaluations/image, FD %.3f, lit-pixel ratio %.2f", name, steps, evaluations,
                result.value, lit_ratio)
    return SamplerRow(name, steps, evaluations, result.value, result.ci_low, result.ci_high, num_samples / seconds, lit_ratio)


def sampler_table(generator: SGMGenerator, reference_images: np.ndarray, *, num_samples: int = 250, seed: int = 0,
                  grid: dict[str, tuple[int, ...]] | None = None, batch_size: int = 250,
                  samples_dir: Path | None = None) -> list[SamplerRow]:
    """Run every sampler of ``grid`` (default ``DEFAULT_GRID``) on ``generator``; return one row per run.

    All runs share ``seed``, so every sampler starts from the same initial noise.
    ``reference_images`` are (N, 64, 64) uint8 real images.
    """
    reference = validate_images(reference_images, name="reference_images")
    rows = []
    for name, step_counts in (grid or DEFAULT_GRID).items():
        for steps in step_counts:
            rows.append(measure_sampler(generator, name, steps, reference, num_samples=num_samples, seed=seed,
                                        batch_size=batch_size, samples_dir=samples_dir))
    return rows


def _measure_in_worker(checkpoint: str, name: str, steps: int, reference: np.ndarray, num_samples: int, seed: int,
                       threads: int, samples_dir: Path | None) -> SamplerRow:
    """Load the generator in a worker process and measure one sampler; see ``sampler_table_parallel``."""
    torch.set_num_threads(threads)
    generator = SGMGenerator.load(checkpoint)
    return measure_sampler(generator, name, steps, reference, num_samples=num_samples, seed=seed, batch_size=num_samples,
                           samples_dir=samples_dir)


def sampler_table_parallel(checkpoint: str | Path, reference_images: np.ndarray, *, jobs: int, threads: int = 1,
                           num_samples: int = 250, seed: int = 0, grid: dict[str, tuple[int, ...]] | None = None,
                           samples_dir: Path | None = None) -> list[SamplerRow]:
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
        futures = {index: pool.submit(_measure_in_worker, str(checkpoint), *runs[index], reference, num_samples, seed, threads,
                                       samples_dir)
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
              f"{row.frechet_distance:.3f}", f"[{row.frechet_low:.3f}, {row.frechet_high:.3f}]", f"{row.lit_ratio:.2f}",
              f"{row.images_per_s:.2f}"]
             for row in rows]
    headers = ["sampler", "steps", "score evaluations / image", "FD physics", "interval", "lit pixels / real", "images/s"]
    return "\n".join(["# Samplers of the score-based diffusion baseline", "", description, "",
                      tabulate(table, headers=headers, tablefmt="github"), "", verdict(rows), *_family_summary(rows),
                      "", "## Samplers", "",
                      *[f"- `{name}`: {note}" for name, note in SAMPLER_NOTES.items() if any(row.sampler == name for row in rows)],
                      "", "## Columns", "", *COLUMN_NOTES, ""])


def verdict(rows: list[SamplerRow], *, max_evaluations: float = 50, tolerance: float = 0.10) -> str:
    """Return one sentence on whether a sampler with <= ``max_evaluations`` matches 1,000-step Euler-Maruyama."""
    reference = [row for row in rows if row.sampler == "euler_maruyama" and row.steps == 1000]
    if not reference:
        return "This run has no 1,000-step Euler-Maruyama row to compare the fast samplers with."
    best = fast_sampler_check(rows, max_evaluations=max_evaluations, tolerance=tolerance)
    if best is None:
        return (f"No sampler with at most {max_evaluations:.0f} evaluations came within {tolerance:.0%} of the 1,000-step "
                f"Euler-Maruyama FD ({reference[0].frechet_distance:.3f}) in this run.")
    cheapest = min((row for row in rows if row.evaluations_per_image <= max_evaluations
                    and row.frechet_distance <= reference[0].frechet_distance * (1 + tolerance)),
                   key=lambda row: row.evaluations_per_image)
    text = (f"Best sampler with at most {max_evaluations:.0f} evaluations: {best.sampler} at {best.steps} steps "
            f"({best.evaluations_per_image:.0f} evaluations per image) reaches FD {best.frechet_distance:.3f}, "
            f"{best.frechet_distance / reference[0].frechet_distance:.2f} times the 1,000-step Euler-Maruyama FD "
            f"({reference[0].frechet_distance:.3f}, 1,000 evaluations).")
    if cheapest is not best:
        text += (f" The cheapest within {tolerance:.0%} is {cheapest.sampler} at {cheapest.steps} steps "
                 f"({cheapest.evaluations_per_image:.0f} evaluations, FD {cheapest.frechet_distance:.3f}).")
    return text


def _family_summary(rows: list[SamplerRow], *, max_evaluations: float = 50) -> list[str]:
    """Return a paragraph comparing the best deterministic and stochastic rows with <= ``max_evaluations``."""
    from lartpcbench.models.sgm.samplers import is_stochastic

    cheap = [row for row in rows if row.evaluations_per_image <= max_evaluations]
    best = {}
    for kind, stochastic in (("stochastic", True), ("deterministic", False)):
        family = [row for row in cheap if is_stochastic(row.sampler) == stochastic]
        if family:
            best[kind] = min(family, key=lambda row: row.frechet_distance)
    if len(best) < 2:
        return []
    parts = [f"the best {kind} one is {row.sampler} at {row.steps} steps (FD {row.frechet_distance:.3f}, lit pixels "
             f"{row.lit_ratio:.2f} times the real share)" for kind, row in best.items()]
    return ["", f"Among samplers with at most {max_evaluations:.0f} evaluations, {parts[0]}. For comparison, {parts[1]}."]


COLUMN_NOTES = [
    "- FD physics: Frechet distance between standardised physics features of the samples and of the reference "
    "images, extrapolated to infinitely many samples (FD_inf); lower is better. The interval is +-1 standard error "
    "of the extrapolation.",
    "- lit pixels / real: share of non-zero pixels in the post-processed samples divided by that share in the "
    "reference images; 1 is the real value. Residual noise that survives the <= 4 threshold raises it.",
    "- images/s: samples per second of one worker process; with several workers the machine's total is higher.",
]


def write_sampler_doc(rows: list[SamplerRow], path: str | Path, *, description: str) -> None:
    write_text_atomic(path, render_markdown(rows, description=description))


def parse_grid(entries: list[str]) -> dict[str, tuple[int, ...]]:
    """Parse ``NAME=STEPS[,STEPS...]`` entries into a grid. A ``ValueError`` names the invalid entry."""
    from lartpcbench.models.sgm.samplers import SAMPLERS

    grid: dict[str, tuple[int, ...]] = {}
    for entry in entries:
        name, _, steps = entry.partition("=")
        if name not in SAMPLERS:
            raise ValueError(f"--grid entry {entry!r} names an unknown sampler; known samplers: {sorted(SAMPLERS)}.")
        try:
            counts = tuple(int(value) for value in steps.split(","))
        except ValueError:
            raise ValueError(f"--grid entry {entry!r} needs comma-separated integer step counts, for example ddim=10,25,50.") from None
        if any(count < 0 for count in counts):
            raise ValueError(f"--grid entry {entry!r} has a negative step count; use 0 or more steps.")
        grid[name] = grid.get(name, ()) + counts
    return grid


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the sampler table's options to ``parser`` (``lartpc-bench samplers`` and ``python -m`` share them)."""
    parser.add_argument("checkpoint", type=Path, help="folder written by SGMGenerator.save or fit(checkpoint_dir=...)")
    parser.add_argument("--split-file", type=Path, required=True, help="HDF5 split file with the reference images")
    parser.add_argument("--split", default="test", help="split of the reference images (default: test)")
    parser.add_argument("--num-samples", type=int, default=250, help="images per sampler run (default: 250)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial noise and the metric (default: 0)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads per process; 0 keeps torch's default")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes that run samplers side by side (default: 1)")
    parser.add_argument("--grid", action="append", default=[], metavar="NAME=STEPS",
                        help="sampler and comma-separated step counts, repeatable, e.g. --grid ddim=10,25 (default: every sampler)")
    parser.add_argument("--samples-dir", type=Path, default=None, help="also save each run's raw samples here as NAME-STEPS.npy")
    parser.add_argument("--out", type=Path, default=Path("docs/samplers.md"), help="Markdown output path")


def run(args: argparse.Namespace) -> int:
    """Measure the samplers that ``args`` selects and write the Markdown table to ``args.out``."""
    from lartpcbench.datasets.splits import read_split

    grid = parse_grid(args.grid) if args.grid else None
    if args.threads:
        torch.set_num_threads(args.threads)
    reference = read_split(args.split_file, args.split).images
    generator = SGMGenerator.load(args.checkpoint)
    if args.jobs > 1:
        rows = sampler_table_parallel(args.checkpoint, reference, jobs=args.jobs, threads=args.threads or 1,
                                      num_samples=args.num_samples, seed=args.seed, grid=grid, samples_dir=args.samples_dir)
    else:
        rows = sampler_table(generator, reference, num_samples=args.num_samples, seed=args.seed, grid=grid,
                             samples_dir=args.samples_dir)
    network = generator.config.network
    description = (
        f"Measured {datetime.date.today().isoformat()} with `lartpc-bench samplers` in "
        f"{args.jobs} process(es) of {args.threads or torch.get_num_threads()} torch thread(s). Model: "
        f"{generator.num_parameters():,} parameters (base {network.base_channels} channels, multipliers "
        f"{list(network.channel_multipliers)}, patch size {network.patch_size}, {generator.config.parameterization} "
        f"parameterization, {generator.config.sde.kind} SDE), trained {generator.step} steps. FD physics is `fd_physics` of "
        f"{args.num_samples} post-processed samples against {len(reference)} images of split `{args.split}` of "
        f"`{args.split_file.name}`. Every run starts from the same per-image noise (seed {args.seed}), so differences "
        "between rows come from the samplers alone."
    )
    write_sampler_doc(rows, args.out, description=description)
    logger.info("wrote the sampler table to %s", args.out)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure every sgm sampler on one trained model and write docs/samplers.md.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        return run(args)
    except ValueError as error:
        parser.error(str(error))


if __name__ == "__main__":
    raise SystemExit(main())
