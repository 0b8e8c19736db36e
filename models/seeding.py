"""Per-image random streams and label checks shared by the model families.

Each image ``index`` of a sampling call with ``seed`` draws its noise from its own
``torch.Generator`` seeded by ``(seed, index)`` through NumPy's ``SeedSequence``, so an
image does not depend on the batch it was generated in.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import torch


def check_seed(seed: int) -> None:
    """Raise ``ValueError`` unless ``seed`` is a non-negative integer."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed is {seed!r}; expected a non-negative integer.")


def image_generators(seed: int, indices: Iterable[int]) -> list[torch.Generator]:
    """Return one CPU ``torch.Generator`` per image index, seeded by ``(seed, index)``."""
    generators = []
    for index in indices:
        state = np.random.SeedSequence([int(seed), int(index)]).generate_state(2, dtype=np.uint32)
        generators.append(torch.Generator(device="cpu").manual_seed(int(state[0]) << 32 | int(state[1])))
    return generators


def check_labels(labels: object, count: int, num_classes: int, *, name: str) -> np.ndarray:
    """Return ``labels`` as an (count,) int8 array of classes 0..num_classes-1, or raise ``ValueError``."""
    array = np.asarray(labels)
    if array.shape != (count,):
        raise ValueError(f"{name} has shape {array.shape}; expected ({count},), one label per image.")
    if array.dtype.kind not in "iu":
        raise ValueError(f"{name} has dtype {array.dtype}; expected integers 0 (track) or 1 (shower).")
    if count and (array.min() < 0 or array.max() >= num_classes):
        raise ValueError(
            f"{name} contain values from {array.min()} to {array.max()}; expected 0..{num_classes - 1}. "
            "Drop images with unknown labels (-1) before training a class-conditional model."
        )
    return array.astype(np.int8)
