"""The per-image truth table: one structured row per image with fixed-size per-particle fields.

Fields (``max_particles`` slots per row; unused slots have pdg 0 and zeros elsewhere):

- ``num_particles`` (int8): primaries in the event.
- ``pdg`` (int32, slots): signed PDG code of each primary (13 mu-, -13 mu+, 211, 2212, 11, 22).
- ``kinetic_mev`` (float32, slots): initial kinetic energy.
- ``direction`` (float32, slots x 3): initial unit direction (x, y, z); images show x along
  axis 1 and y along axis 0.
- ``length_cm`` (float32, slots): true path length of the primary itself projected onto
  the xy plane, over the whole simulated volume (0 for photons, which leave no track).
- ``length_in_crop_cm`` (float32, slots): the part of ``length_cm`` inside the crop window.
- ``vertex_px`` (float32, 2): vertex position (row, column) in crop pixel coordinates; it
  may lie outside the crop.
- ``origin_px`` (int32, 2): crop window origin (row, column) in the simulated world image.
- ``visible_mev`` (float32): visible energy inside the crop before the uint8 conversion.
- ``attempt`` (int16): the event attempt that gave an accepted crop (0 for the first).
"""

from __future__ import annotations

import numpy as np

from .config import SimConfig
from .particles import PDG_CODES, PHOTON, Deposits, ParticleBatch


def truth_dtype(max_particles: int) -> np.dtype:
    """Return the structured dtype of a truth row with ``max_particles`` particle slots."""
    slots = (max_particles,)
    return np.dtype(
        [
            ("num_particles", np.int8),
            ("pdg", np.int32, slots),
            ("kinetic_mev", np.float32, slots),
            ("direction", np.float32, (max_particles, 3)),
            ("length_cm", np.float32, slots),
            ("length_in_crop_cm", np.float32, slots),
            ("vertex_px", np.float32, (2,)),
            ("origin_px", np.int32, (2,)),
            ("visible_mev", np.float32),
            ("attempt", np.int16),
        ]
    )


def truth_row(
    primaries: ParticleBatch, deposits: Deposits, origin: tuple[int, int], visible_mev: float, attempt: int, config: SimConfig
) -> np.ndarray:
    """Return the truth row (a 0-d structured array) of one accepted crop."""
    row = np.zeros((), dtype=truth_dtype(config.max_particles))
    count = len(primaries)
    row["num_particles"] = count
    sign = np.where(primaries.charge > 0, -1, 1)
    codes = np.array([PDG_CODES[int(s)] for s in primaries.species])
    # PDG sign convention: negative leptons have positive codes, positive hadrons positive codes.
    is_lepton = np.isin(codes, (11, 13))
    row["pdg"][:count] = np.where(is_lepton, codes * sign, np.where(codes == 211, codes * primaries.charge, codes))
    row["kinetic_mev"][:count] = primaries.kinetic
    row["direction"][:count] = primaries.direction

    # Projected path lengths from the recorded steps of each primary.
    pixel_cm = config.pixel_mm / 10.0
    half_px = config.world_size_px / 2
    if deposits.path_start:
        start = np.concatenate(deposits.path_start)
        end = np.concatenate(deposits.path_end)
        owner = np.concatenate(deposits.path_primary).astype(np.int64)
        planar = np.hypot(end[:, 0] - start[:, 0], end[:, 1] - start[:, 1])
        middle = 0.5 * (start + end) / pixel_cm + half_px
        in_crop = (
            (middle[:, 1] >= origin[0]) & (middle[:, 1] < origin[0] + config.crop_size)
            & (middle[:, 0] >= origin[1]) & (middle[:, 0] < origin[1] + config.crop_size)
        )
        row["length_cm"][:count] = np.bincount(owner, weights=planar, minlength=count)[:count]
        row["length_in_crop_cm"][:count] = np.bincount(owner, weights=planar * in_crop, minlength=count)[:count]
    row["length_cm"][:count][primaries.species == PHOTON] = 0.0

    vertex = primaries.position[0] / pixel_cm + half_px if count else np.zeros(3)
    row["vertex_px"] = (vertex[1] - origin[0], vertex[0] - origin[1])
    row["origin_px"] = origin
    row["visible_mev"] = visible_mev
    row["attempt"] = attempt
    return row
