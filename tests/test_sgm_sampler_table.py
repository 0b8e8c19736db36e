"""The sampler table on a tiny model: one row per sampler and step count, rendered to Markdown."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from lartpcbench.bench.sampler_table import (
    SamplerRow, fast_sampler_check, parse_grid, render_markdown, sampler_table, sampler_table_parallel, verdict,
    write_sampler_doc,
)
from lartpcbench.datasets.images import postprocess
from lartpcbench.models.base import TrainConfig
from lartpcbench.models.sgm.config import sgm_config_from_dict
from lartpcbench.models.sgm.generator import SGMGenerator

from conftest import draw_line_images

TINY = {
    "network": {"base_channels": 8, "channel_multipliers": [1, 2], "num_res_blocks": 1, "attention_resolutions": [8],
                "dropout": 0.0, "patch_size": 4},
    "sampler": {"name": "ddim", "steps": 4},
    "parameterization": "edm",
}


def test_sampler_table_rows_and_doc(tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        generator = SGMGenerator(sgm_config_from_dict(TINY))
        generator.fit(draw_line_images(16, seed=0), TrainConfig(steps=2, batch_size=4), progress=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows = sampler_table(generator, draw_line_images(40, seed=1), num_samples=40, seed=0,
                                 grid={"ddim": (2, 3), "heun_edm": (2,)}, samples_dir=tmp_path / "samples")
    finally:
        torch.set_num_threads(threads)
    assert [(row.sampler, row.steps, row.evaluations_per_image) for row in rows] == [("ddim", 2, 2.0), ("ddim", 3, 3.0), ("heun_edm", 2, 3.0)]
    for row in rows:
        assert row.frechet_low <= row.frechet_distance <= row.frechet_high
        assert row.images_per_s > 0
        assert row.lit_ratio > 0
    saved = np.load(tmp_path / "samples" / "ddim-3.npy")
    assert saved.shape == (40, 64, 64)
    expected_ratio = np.count_nonzero(postprocess(saved)) / np.count_nonzero(draw_line_images(40, seed=1))
    assert rows[1].lit_ratio == pytest.approx(expected_ratio)
    assert generator.config.sampler.name == "ddim"
    write_sampler_doc(rows, tmp_path / "samplers.md", description="tiny test model")
    text = (tmp_path / "samplers.md").read_text()
    assert "heun_edm" in text
    assert "tiny test model" in text

    # Two worker processes give the same Frechet distances
    generator.save(tmp_path / "model")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parallel = sampler_table_parallel(tmp_path / "model", draw_line_images(40, seed=1), jobs=2, num_samples=40, seed=0,
                                          grid={"ddim": (2, 3)})
    assert [row.steps for row in parallel] == [2, 3]
    for row, expected in zip(parallel, rows[:2]):
        assert abs(row.frechet_distance - expected.frechet_distance) < 1e-6 * max(1.0, abs(expected.frechet_distance))


def test_fast_sampler_check_tolerance():
    def row(name, steps, evaluations, value):
        return SamplerRow(name, steps, evaluations, value, value - 1, value + 1, 1.0)

    reference = row("euler_maruyama", 1000, 1000, 10.0)
    assert fast_sampler_check([reference, row("ddim", 50, 50, 10.9)]).sampler == "ddim"
    assert fast_sampler_check([reference, row("ddim", 50, 50, 11.1)]) is None
    assert fast_sampler_check([reference, row("heun_edm", 50, 99, 9.0)]) is None
    assert "No sampler" in render_markdown([reference], description="")
    text = verdict([reference, row("ddim", 50, 50, 10.5), row("ddim", 25, 25, 10.8), row("ddim", 10, 10, 12.0)])
    assert "ddim at 50 steps" in text
    assert "1.05 times" in text
    assert "cheapest within 10% is ddim at 25 steps" in text
    assert "no 1,000-step" in verdict([row("ddim", 50, 50, 10.5)])


def test_parse_grid():
    assert parse_grid(["ddim=10,25", "heun_edm=5", "ddim=50"]) == {"ddim": (10, 25, 50), "heun_edm": (5,)}
    with pytest.raises(ValueError, match="unknown sampler"):
        parse_grid(["dim=10"])
    with pytest.raises(ValueError, match="integer step counts"):
        parse_grid(["ddim=ten"])
    with pytest.raises(ValueError, match="negative"):
        parse_grid(["ddim=-1"])
