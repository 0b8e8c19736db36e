"""The sgm performance section at smoke scale: every row measured, every sampler present."""

from __future__ import annotations

import pytest

from lartpcbench.bench.perf.sgm import measure
from lartpcbench.models.sgm.samplers import SAMPLERS


def test_perf_section_smoke():
    section = measure(scale="smoke")
    items = [row["item"] for row in section.rows]
    assert any(item.startswith("conv 3x3") for item in items)
    assert any("train step" in item for item in items)
    for name in SAMPLERS:
        assert any(item.startswith(f"sample {name},") for item in items), name
    for row in section.rows:
        assert row["images_per_s"] > 0
    for row in section.rows:
        if "gflop_per_s" in row:
            assert row["gflop_per_s"] > 0


def test_perf_rejects_unknown_scale():
    with pytest.raises(ValueError, match="smoke"):
        measure(scale="huge")
