"""The metric-suite performance section at smoke scale."""

from __future__ import annotations

import numpy as np
import pytest

from lartpcbench.bench.metrics import FAST_METRICS
from lartpcbench.bench.perf.metrics import drawn_images, measure


def test_smoke_measure_rows():
    section = measure(scale="smoke")
    metrics = [row["metric"] for row in section.rows]
    assert metrics == list(FAST_METRICS) + ["total"]
    total = section.rows[-1]["wall_s"]
    assert total > 0
    assert sum(row["wall_s"] for row in section.rows[:-1]) <= total + 0.5
    assert all(row["n_generated"] == 300 for row in section.rows)
    assert any("threads" in note for note in section.notes)


def test_measure_rejects_unknown_scale():
    with pytest.raises(ValueError, match="smoke"):
        measure(scale="huge")


def test_drawn_images_contract():
    images = drawn_images(10, seed=0)
    assert images.shape == (10, 64, 64)
    assert images.dtype == np.uint8
    assert (images > 0).any(axis=(1, 2)).all()
    np.testing.assert_array_equal(images, drawn_images(10, seed=0))
