"""Cut 64x64 crops from full-size detector planes with the reference set's rule.

The rule of the 64x64 LArTPC benchmark set: centre a window on the charge centroid of a
connected cluster and keep it when at least 1 % of its pixels are lit. Here clusters are
8-connected groups of lit pixels, taken largest first; a cluster smaller than
``min_cluster_pixels`` seeds no crop, and one whose centroid falls inside an already kept
window is skipped, so one structure does not yield many near-identical crops.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage
from tqdm.auto import tqdm

from .images import IMAGE_SIZE
from .splits import LABEL_UNKNOWN, SplitData
from lartpcbench.models.config import require


@dataclasses.dataclass(frozen=True)
class CropConfig:
    """Parameters of the crop rule; thresholds are on the input's own pixel scale."""

    crop_size: int = IMAGE_SIZE
    lit_threshold: float = 0.0
    min_lit_fraction: float = 0.01
    min_cluster_pixels: int = 30

    def __post_init__(self) -> None:
        require(self.crop_size == IMAGE_SIZE, f"crop_size is {self.crop_size}; the image contract fixes it at {IMAGE_SIZE}.")
        require(self.lit_threshold >= 0, f"lit_threshold is {self.lit_threshold}; expected >= 0.")
        require(0 < self.min_lit_fraction <= 1, f"min_lit_fraction is {self.min_lit_fraction}; expected a fraction in (0, 1].")
        require(self.min_cluster_pixels >= 1, f"min_cluster_pixels is {self.min_cluster_pixels}; expected >= 1.")


@dataclasses.dataclass
class PlaneCrops:
    """Crops of one plane: images (K, 64, 64) float32 on the input scale and window corners (K, 2)."""

    images: np.ndarray
    corners: np.ndarray


def crop_plane(plane: np.ndarray, config: CropConfig) -> PlaneCrops:
    """Apply the crop rule to one 2D plane (rows, columns) and return its crops in cluster-size order."""
    size = config.crop_size
    if plane.ndim != 2 or plane.shape[0] < size or plane.shape[1] < size:
        raise ValueError(f"plane has shape {plane.shape}; expected a 2D array of at least {size}x{size} pixels.")
    lit = plane > config.lit_threshold

    # Label 8-connected clusters and take the charge centroid of each, largest cluster first.
    labels, count = ndimage.label(lit, structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return PlaneCrops(np.zeros((0, size, size), np.float32), np.zeros((0, 2), np.int64))
    index = np.arange(1, count + 1)
    sizes = ndimage.sum_labels(lit, labels, index)
    centroids = np.asarray(ndimage.center_of_mass(np.where(lit, plane, 0), labels, index))
    order = np.argsort(-sizes, kind="stable")

    # Centre a window on each centroid, shifted inside the plane; keep it when enough pixels are lit.
    covered = np.zeros(plane.shape, dtype=bool)
    min_lit = config.min_lit_fraction * size * size
    crops, corners = [], []
    for cluster in order:
        if sizes[cluster] < config.min_cluster_pixels:
            break
        row, column = np.rint(centroids[cluster]).astype(int)
        if covered[row, column]:
            continue
        top = min(max(row - size // 2, 0), plane.shape[0] - size)
        left = min(max(column - size // 2, 0), plane.shape[1] - size)
        window = plane[top : top + size, left : left + size]
        if np.count_nonzero(window > config.lit_threshold) >= min_lit:
            crops.append(np.where(window > config.lit_threshold, window, 0).astype(np.float32))
            corners.append((top, left))
            covered[top : top + size, left : left + size] = True
    if not crops:
        return PlaneCrops(np.zeros((0, size, size), np.float32), np.zeros((0, 2), np.int64))
    return PlaneCrops(np.stack(crops), np.asarray(corners, dtype=np.int64))


def crop_planes(
    planes: np.ndarray,
    config: CropConfig,
    *,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    progress: bool = True,
) -> dict[str, SplitData]:
    """Crop every plane of a (P, rows, columns) array and divide the crops into train/val/test.

    Planes, not crops, are assigned to splits (shuffled by ``seed`` in the given fractions), so
    no detector region appears in two splits. Values are rounded and clipped to uint8 0-255;
    labels are unknown (-1) because real data carries no truth.
    """
    planes = np.asarray(planes)
    if planes.ndim == 2:
        planes = planes[None]
    if planes.ndim != 3:
        raise ValueError(f"planes have shape {planes.shape}; expected (planes, rows, columns) or (rows, columns).")
    if not np.all(np.isfinite(planes)):
        raise ValueError("planes contain NaN or infinite values; replace them with 0 before cropping.")
    if planes.min() < 0 or planes.max() > 255:
        raise ValueError(
            f"planes have values from {planes.min()} to {planes.max()}; expected the 8-bit 0-255 scale. "
            "Rescale the planes to 0-255 first."
        )
    plane_split = _assign_planes(len(planes), fractions, seed)

    per_split: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for index in tqdm(range(len(planes)), desc="cropping planes", unit="plane", disable=not progress):
        crops = crop_plane(planes[index].astype(np.float32), config).images
        if len(crops):
            per_split[plane_split[index]].append(np.clip(np.rint(crops), 0, 255).astype(np.uint8))

    splits = {}
    for name, parts in per_split.items():
        if not parts:
            raise ValueError(
                f"no crops landed in the {name!r} split; supply more planes or change the split fractions {fractions}."
            )
        images = np.concatenate(parts)
        splits[name] = SplitData(images=images, labels=np.full(len(images), LABEL_UNKNOWN, np.int8))
    return splits


def _assign_planes(count: int, fractions: tuple[float, float, float], seed: int) -> list[str]:
    if len(fractions) != 3 or min(fractions) <= 0 or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f"split fractions are {fractions}; expected three positive numbers that sum to 1.")
    if count < 3:
        raise ValueError(f"{count} plane(s) given; at least 3 are needed to fill train, val and test.")
    order = np.random.default_rng(seed).permutation(count)
    num_val = max(1, int(round(fractions[1] * count)))
    num_test = max(1, int(round(fractions[2] * count)))
    assignment = ["train"] * count
    for position, plane in enumerate(order):
        if position < num_val:
            assignment[plane] = "val"
        elif position < num_val + num_test:
            assignment[plane] = "test"
    return assignment
