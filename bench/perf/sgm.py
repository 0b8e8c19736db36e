"""Performance of the score-based diffusion baseline: training and sampling throughput.

Training rows give images/s and achieved GFLOP/s of one optimizer step (forward and backward
of the denoising loss, FLOPs counted with ``torch.utils.flop_counter.FlopCounterMode``) for
the quick network under several thread counts, memory formats and ``torch.compile``. A plain
3x3 convolution (64 to 64 channels at 32x32, forward and backward) measured the same way is
the machine's reference. Sampling rows give images/s for every sampler at 20 steps.
"smoke" uses the smoke network and a few repetitions; "full" uses the quick network.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from typing import Any, Callable

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from lartpcbench.models.sgm.config import load_config_file
from lartpcbench.models.sgm.generator import SGMGenerator, build_sde, noise_model_for
from lartpcbench.models.sgm.losses import denoising_score_matching_loss
from lartpcbench.models.sgm.network import ScoreUNet
from lartpcbench.models.sgm.samplers import SAMPLERS

from . import PerfSection

logger = logging.getLogger(__name__)

SCALES = {"smoke": {"config": "smoke", "batch": 4, "repeats": 1, "sample_images": 2, "sample_steps": 2},
          "full": {"config": "quick", "batch": 32, "repeats": 3, "sample_images": 64, "sample_steps": 20}}


def _count_flops(function: Callable[[], Any]) -> int:
    with FlopCounterMode(display=False) as counter:
        function()
    return counter.get_total_flops()


def _time(function: Callable[[], Any], repeats: int) -> float:
    """Return the median wall time in seconds of ``repeats`` calls after one warm-up call."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def convolution_reference(*, batch: int, repeats: int, channels_last: bool) -> dict[str, Any]:
    """Measure a 64-to-64 channel 3x3 convolution at 32x32, forward and backward."""
    generator = torch.Generator().manual_seed(0)
    layer = torch.nn.Conv2d(64, 64, 3, padding=1)
    x = torch.randn((batch, 64, 32, 32), generator=generator, requires_grad=True)
    if channels_last:
        layer = layer.to(memory_format=torch.channels_last)
        x = x.detach().contiguous(memory_format=torch.channels_last).requires_grad_(True)
    step = lambda: layer(x).sum().backward()  # noqa: E731
    flops = _count_flops(step)
    seconds = _time(step, repeats)
    return {"item": "conv 3x3 64->64 @32x32 fwd+bwd", "threads": torch.get_num_threads(),
            "channels_last": channels_last, "compiled": False, "images_per_s": batch / seconds,
            "gflop_per_s": flops / seconds / 1e9}


def training_throughput(config_name: str, *, batch: int, repeats: int, channels_last: bool, compiled: bool) -> dict[str, Any]:
    """Measure one optimizer step of the ``config_name`` network on random data."""
    model_config, _ = load_config_file(config_name)
    model_config = dataclasses.replace(model_config, channels_last=channels_last)
    sde = build_sde(model_config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        network = ScoreUNet(model_config.network)
    if channels_last:
        network = network.to(memory_format=torch.channels_last)
    module = torch.compile(network) if compiled else network
    optimizer = torch.optim.Adam(network.parameters(), lr=1e-4)
    generator = torch.Generator().manual_seed(1)
    x0 = torch.rand((batch, 1, 64, 64), generator=generator) * 2 - 1
    t = torch.rand(batch, generator=generator) * 0.99 + 0.01
    z = torch.randn(x0.shape, generator=generator)
    noise_model = noise_model_for(module, sde, None, channels_last)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        denoising_score_matching_loss(noise_model, sde, x0, t, z).backward()
        optimizer.step()

    flops = _count_flops(lambda: denoising_score_matching_loss(noise_model_for(network, sde, None, channels_last), sde, x0, t, z).backward())
    seconds = _time(step, repeats)
    return {"item": f"{config_name} network train step, batch {batch}", "threads": torch.get_num_threads(),
            "channels_last": channels_last, "compiled": compiled, "images_per_s": batch / seconds,
            "gflop_per_s": flops / seconds / 1e9}


def sampling_throughput(config_name: str, *, num_images: int, steps: int) -> list[dict[str, Any]]:
    """Measure ``sample`` for every sampler with ``steps`` steps on freshly initialised weights.

    NOTE: ``ode_rk45`` chooses its own step count, which depends on the weights, so its row
    for untrained weights does not predict the cost for a trained model.
    """
    model_config, train_config = load_config_file(config_name)
    rows = []
    for name in SAMPLERS:
        config = dataclasses.replace(model_config, sampler=dataclasses.replace(model_config.sampler, name=name, steps=steps, rtol=1e-3, atol=1e-3))
        generator = SGMGenerator(config)
        generator._build(train_config.seed)
        start = time.perf_counter()
        generator.sample(num_images, seed=0, batch_size=num_images)
        seconds = time.perf_counter() - start
        rows.append({"item": f"sample {name}, {steps} steps", "threads": torch.get_num_threads(), "channels_last": config.channels_last,
                     "compiled": False, "images_per_s": num_images / seconds,
                     "evaluations_per_image": generator.function_evaluations_per_image()})
    return rows


def measure(*, scale: str) -> PerfSection:
    """Measure the sgm section at ``scale`` ("smoke" or "full")."""
    if scale not in SCALES:
        raise ValueError(f"scale is {scale!r}; expected one of {sorted(SCALES)}.")
    settings = SCALES[scale]

    rows: list[dict[str, Any]] = []
    notes = []
    original_threads = torch.get_num_threads()
    # Smoke runs one thread only: two threads on a shared 2-core machine take minutes
    thread_counts = [1] if scale == "smoke" else sorted({1, original_threads})
    try:
        for threads in thread_counts:
            torch.set_num_threads(threads)
            for channels_last in (False, True):
                rows.append(convolution_reference(batch=settings["batch"], repeats=settings["repeats"], channels_last=channels_last))
                rows.append(training_throughput(settings["config"], batch=settings["batch"], repeats=settings["repeats"],
                                                channels_last=channels_last, compiled=False))
        torch.set_num_threads(1)
        if scale == "full":
            try:
                rows.append(training_throughput(settings["config"], batch=settings["batch"], repeats=settings["repeats"],
                                                channels_last=True, compiled=True))
            except Exception as error:  # torch.compile needs a working C++ toolchain; its failure is recorded, not hidden
                logger.warning("torch.compile of the sgm network failed: %s", error)
                notes.append(f"torch.compile failed on this machine: {type(error).__name__}: {error}")
        rows.extend(sampling_throughput(settings["config"], num_images=settings["sample_images"], steps=settings["sample_steps"]))
    finally:
        torch.set_num_threads(original_threads)
    notes.append(f"Load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; other processes shared the cores.")
    notes.append("GFLOP/s counts forward and backward FLOPs from FlopCounterMode divided by the median wall time of a step.")
    notes.append("Sampling rows use one thread and freshly initialised weights; image/s includes per-image noise generation.")
    return PerfSection(title="Score-based diffusion (sgm)", rows=rows, notes=notes)
