"""From deposits to a 64x64 crop: recombination, projection on 3 mm pixels, the crop rule and labels."""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage

from . import material
from .config import SimConfig
from .particles import DELTA, MICHEL, SHOWER, TRACK, Deposits

NUM_CLASSES = 6
# Minimum-ionising stopping power of liquid argon (MeV/cm): the calibration point of the charge scale.
MIP_DEDX_MEV_CM = 2.105
EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


@dataclasses.dataclass
class Crop:
    """One accepted crop: the uint8 image, per-pixel classes, the window origin in world pixels,
    its track/shower label and the visible energy inside (MeV)."""

    image: np.ndarray
    semantic: np.ndarray
    origin: tuple[int, int]
    label: int
    visible_mev: float


def visible_energy(energy: np.ndarray, dedx: np.ndarray, config: SimConfig) -> np.ndarray:
    """Return the visible energy (MeV): deposits scaled by recombination relative to a MIP.

    Charge Q = E R(dE/dx) / W_ion with W_ion = 23.6 eV per electron-ion pair. The image shows
    Q W_ion / R_mip, so a minimum-ionising track reads its deposited energy and dense deposits
    (Bragg peaks) are quenched. R uses the mean stopping power of each step.
    """
    if not config.recombination:
        return energy
    kwargs = dict(field_kv_cm=config.field_v_cm / 1000.0, alpha=config.box_alpha, beta=config.box_beta)
    survival = material.box_model_recombination(dedx, **kwargs)
    mip_survival = material.box_model_recombination(np.array([MIP_DEDX_MEV_CM]), **kwargs)[0]
    return energy * survival / mip_survival


def project(deposits: Deposits, config: SimConfig) -> tuple[np.ndarray, np.ndarray]:
    """Return the world image of visible energy (G, G) in MeV and per-class energies (6, G, G).

    Axis 0 of the images is y and axis 1 is x; the z coordinate is summed over.
    """
    positions, energy, dedx, semantic, _ = deposits.arrays()
    size = config.world_size_px
    pixel_cm = config.pixel_mm / 10.0
    column = np.floor(positions[:, 0] / pixel_cm + size / 2).astype(np.int64)
    row = np.floor(positions[:, 1] / pixel_cm + size / 2).astype(np.int64)
    inside = (column >= 0) & (column < size) & (row >= 0) & (row < size)
    flat = row[inside] * size + column[inside]
    visible = visible_energy(energy[inside], dedx[inside], config)
    world = np.bincount(flat, weights=visible, minlength=size * size).reshape(size, size)
    by_class = np.bincount(
        semantic[inside].astype(np.int64) * size * size + flat, weights=energy[inside], minlength=NUM_CLASSES * size * size
    ).reshape(NUM_CLASSES, size, size)
    return world, by_class


def to_adc(visible_mev: np.ndarray, mev_per_adc: float) -> np.ndarray:
    """Return uint8 ADC values: visible energy / mev_per_adc, rounded and saturated at 255."""
    return np.clip(np.rint(visible_mev / mev_per_adc), 0, 255).astype(np.uint8)


def choose_crop(rng: np.random.Generator, world: np.ndarray, by_class: np.ndarray, config: SimConfig) -> Crop | None:
    """Apply the crop rule to a world image; return None when no cluster gives a valid crop.

    Clusters are 8-connected groups of lit pixels (ADC >= 1). They are tried in a random
    order drawn with probability proportional to their charge. The window of ``crop_size``
    pixels is centred on the cluster's charge centroid, moved inside the world if needed,
    and kept when at least ``min_lit_fraction`` of its pixels are lit.
    """
    adc = to_adc(world, config.mev_per_adc)
    labels, count = ndimage.label(adc > 0, structure=EIGHT_CONNECTED)
    if count == 0:
        return None
    # Charge and charge centroid of each cluster, from the lit pixels only.
    lit = np.flatnonzero(labels)
    owner = labels.ravel()[lit]
    weight = world.ravel()[lit]
    rows, columns = np.divmod(lit, world.shape[1])
    charge = np.bincount(owner, weights=weight, minlength=count + 1)[1:]
    centroids = np.stack(
        [
            np.bincount(owner, weights=weight * rows, minlength=count + 1)[1:] / charge,
            np.bincount(owner, weights=weight * columns, minlength=count + 1)[1:] / charge,
        ],
        axis=1,
    )
    order = rng.choice(count, size=count, replace=False, p=charge / charge.sum())
    size, crop = config.world_size_px, config.crop_size
    for cluster in order:
        row0 = int(np.clip(np.rint(centroids[cluster, 0] - crop / 2), 0, size - crop))
        col0 = int(np.clip(np.rint(centroids[cluster, 1] - crop / 2), 0, size - crop))
        image = adc[row0 : row0 + crop, col0 : col0 + crop]
        if np.count_nonzero(image) >= config.min_lit_fraction * crop * crop and np.any(image):
            window = by_class[:, row0 : row0 + crop, col0 : col0 + crop]
            semantic = pixel_classes(image, window)
            return Crop(
                image=image.copy(),
                semantic=semantic,
                origin=(row0, col0),
                label=image_label(semantic),
                visible_mev=float(world[row0 : row0 + crop, col0 : col0 + crop].sum()),
            )
    return None


def pixel_classes(image: np.ndarray, class_energy: np.ndarray) -> np.ndarray:
    """Return per-pixel classes: the class with the most deposited energy in each lit pixel, 0 elsewhere."""
    semantic = np.argmax(class_energy[1:], axis=0).astype(np.uint8) + 1
    semantic[image == 0] = 0
    return semantic


def image_label(semantic: np.ndarray) -> int:
    """Return 1 (shower) when shower pixels outnumber track-like (track, Michel, delta) pixels, else 0 (track)."""
    shower = np.count_nonzero(semantic == SHOWER)
    track_like = np.count_nonzero(np.isin(semantic, (TRACK, MICHEL, DELTA)))
    return int(shower > track_like)
