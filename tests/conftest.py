"""Shared fixtures: reference data paths and small synthetic image sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def shared_data_file(name: str) -> Path:
    """Return a reference data file, skipping the test when the folder is absent (users' machines)."""
    path = SHARED_DATA / name
    if not path.is_file():
        pytest.skip(f"reference data {name} not found beside the repository ({SHARED_DATA}); it exists only on CI machines")
    return path


def draw_line_images(count: int, *, seed: int) -> np.ndarray:
    """Return (count, 64, 64) uint8 images, each with one straight line of random brightness."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 64, 64), np.uint8)
    for image in images:
        start, angle = rng.uniform(8, 56, size=2), rng.uniform(0, np.pi)
        for step in range(40):
            row, column = (start + step * np.array([np.sin(angle), np.cos(angle)])).astype(int)
            if 0 <= row < 64 and 0 <= column < 64:
                image[row, column] = rng.integers(40, 256)
    return images


@pytest.fixture
def line_images() -> np.ndarray:
    return draw_line_images(48, seed=1)
