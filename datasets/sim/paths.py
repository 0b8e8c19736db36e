"""Stepping of charged particles: straight legs cut into sub-mm steps with multiple scattering.

A leg is a stretch of one particle's path without a discrete interaction. All legs of a batch
are stepped together as one ragged array (steps ordered leg by leg), so the work is numpy
vector operations rather than a Python loop per step.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import material

# Multiple scattering accumulates in the tangent plane of an anchor direction for this many
# steps (6.4 cm at 0.5 mm), then the anchor moves on. The exponential map is exact for one
# kick and damps the turning of later kicks by sin(a)/a at an accumulated angle a. Within one
# segment a is below 0.15 rad for muons and protons above 50 MeV.
SEGMENT_STEPS = 128

# Length at which the per-step Highland widths are normalised: a path of this length scatters
# by exactly the Highland angle, and paths from 2 to 14 cm stay within 5 % of Highland.
HIGHLAND_REFERENCE_CM = 5.0


@dataclasses.dataclass
class SteppedLegs:
    """The stepped legs of a batch: per-step arrays of length m and per-leg arrays of length n."""

    leg: np.ndarray  # (m,) leg index of each step
    midpoint: np.ndarray  # (m, 3) step midpoints, cm
    length: np.ndarray  # (m,) step lengths, cm
    kinetic: np.ndarray  # (m,) kinetic energy at the step start, MeV
    mean_loss: np.ndarray  # (m,) mean energy lost in the step, MeV
    end_position: np.ndarray  # (n, 3)
    end_direction: np.ndarray  # (n, 3)
    end_kinetic: np.ndarray  # (n,)
    step_end: np.ndarray  # (m, 3) positions at the step ends, cm


def segment_starts(counts: np.ndarray) -> np.ndarray:
    """Return the start offset of each group in a ragged array with group sizes ``counts``."""
    ends = np.cumsum(counts, dtype=np.int64)
    return ends - np.asarray(counts, dtype=np.int64)


def segmented_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Return the cumulative sum of ``values`` restarted at every group of the ragged layout."""
    total = np.cumsum(values, axis=0)
    starts = segment_starts(counts)
    before = np.zeros_like(total[:1].repeat(len(counts), axis=0))
    nonzero = starts > 0
    before[nonzero] = total[starts[nonzero] - 1]
    return total - np.repeat(before, counts, axis=0)


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the row-wise cross product of (n, 3) arrays (faster than np.cross for small n)."""
    return np.stack(
        [
            a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1],
            a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2],
            a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0],
        ],
        axis=1,
    )


def orthonormal_frame(direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return two unit vectors perpendicular to each row of ``direction`` and to each other."""
    helper = np.where(np.abs(direction[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    e1 = cross(direction, helper)
    e1 /= np.sqrt(np.einsum("ij,ij->i", e1, e1))[:, None]
    e2 = cross(direction, e1)
    return e1, e2


def rotate_directions(direction: np.ndarray, cos_theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Return ``direction`` turned by polar angle arccos(cos_theta) at azimuth ``phi``."""
    e1, e2 = orthonormal_frame(direction)
    sin_theta = np.sqrt(np.clip(1.0 - cos_theta**2, 0.0, 1.0))
    turned = (
        cos_theta[:, None] * direction
        + (sin_theta * np.cos(phi))[:, None] * e1
        + (sin_theta * np.sin(phi))[:, None] * e2
    )
    return turned / np.linalg.norm(turned, axis=1, keepdims=True)


def isotropic_directions(rng: np.random.Generator, count: int) -> np.ndarray:
    """Return ``count`` unit vectors drawn uniformly on the sphere."""
    cos_theta = rng.uniform(-1.0, 1.0, count)
    phi = rng.uniform(0.0, 2.0 * np.pi, count)
    sin_theta = np.sqrt(1.0 - cos_theta**2)
    return np.stack([sin_theta * np.cos(phi), sin_theta * np.sin(phi), cos_theta], axis=1)


def step_legs(
    rng: np.random.Generator,
    particle: str,
    start: np.ndarray,
    direction: np.ndarray,
    kinetic: np.ndarray,
    length: np.ndarray,
    *,
    step_cm: float,
) -> SteppedLegs:
    """Step legs of ``particle`` from ``start`` along ``direction`` for ``length`` cm each.

    The kinetic energy along a leg follows the CSDA range table, T(s) = T(R(T0) - s), so the
    mean loss per step is exact for the continuous-slowing-down model. Multiple scattering
    applies Gaussian kicks of the Highland width per step.
    """
    mass = material.PARTICLE_MASSES_MEV[particle]
    count = len(kinetic)
    steps_per_leg = np.maximum(np.ceil(length / step_cm - 1e-9).astype(np.int64), 1)
    leg = np.repeat(np.arange(count), steps_per_leg)
    index_in_leg = np.arange(len(leg)) - np.repeat(segment_starts(steps_per_leg), steps_per_leg)

    # Step lengths: step_cm, except the last step of each leg, which ends at the leg length.
    distance_before = index_in_leg * step_cm
    step_length = np.minimum(step_cm, length[leg] - distance_before)
    step_length = np.maximum(step_length, 0.0)

    # Kinetic energy along the leg from the residual CSDA range.
    range_start = material.csda_range_cm(particle, kinetic)
    step_kinetic = material.kinetic_from_range(particle, range_start[leg] - distance_before)
    kinetic_after = material.kinetic_from_range(particle, range_start[leg] - distance_before - step_length)
    mean_loss = step_kinetic - kinetic_after

    # Multiple scattering kicks (projected Gaussian angles of Highland width).
    theta0 = material.highland_theta0_per_step(
        np.maximum(step_kinetic, 1e-3), mass, step_length, reference_cm=HIGHLAND_REFERENCE_CM
    )
    kicks = rng.standard_normal((len(leg), 2)) * theta0[:, None]
    step_direction = _scatter_directions(direction, leg, index_in_leg, steps_per_leg, kicks)

    step_end = np.repeat(start, steps_per_leg, axis=0) + segmented_cumsum(step_direction * step_length[:, None], steps_per_leg)
    midpoint = step_end - 0.5 * step_direction * step_length[:, None]
    last = segment_starts(steps_per_leg) + steps_per_leg - 1
    return SteppedLegs(
        leg=leg,
        midpoint=midpoint,
        length=step_length,
        kinetic=step_kinetic,
        mean_loss=mean_loss,
        end_position=step_end[last],
        end_direction=step_direction[last],
        end_kinetic=kinetic_after[last],
        step_end=step_end,
    )


def _scatter_directions(
    direction: np.ndarray, leg: np.ndarray, index_in_leg: np.ndarray, steps_per_leg: np.ndarray, kicks: np.ndarray
) -> np.ndarray:
    """Return the direction of every step after the scattering kicks, segment by segment."""
    anchor = direction.copy()
    result = np.empty((len(leg), 3))
    segment = index_in_leg // SEGMENT_STEPS
    for round_index in range(int(segment.max()) + 1):
        selected = np.flatnonzero(segment == round_index)
        legs_here = leg[selected]
        counts = np.bincount(legs_here, minlength=len(direction))
        active = counts > 0
        counts = counts[active]

        # Exponential map: u = cos|v| u0 + sin|v| v/|v|, v the summed kicks in u0's tangent plane.
        e1, e2 = orthonormal_frame(anchor[active])
        summed = segmented_cumsum(kicks[selected], counts)
        u0 = np.repeat(anchor[active], counts, axis=0)
        tangent = summed[:, :1] * np.repeat(e1, counts, axis=0) + summed[:, 1:] * np.repeat(e2, counts, axis=0)
        angle = np.linalg.norm(summed, axis=1, keepdims=True)
        unit = np.divide(tangent, angle, out=np.zeros_like(tangent), where=angle > 0)
        turned = np.cos(angle) * u0 + np.sin(angle) * unit
        result[selected] = turned
        anchor[np.flatnonzero(active)] = turned[segment_starts(counts) + counts - 1]
    return result


def sample_ionisation(
    rng: np.random.Generator, mean_loss: np.ndarray, beta2: np.ndarray, step_length: np.ndarray, max_transfer: np.ndarray
) -> np.ndarray:
    """Return the energy deposited in each step: its mean loss with Landau-like fluctuations.

    Close collisions with energy transfers between 1 keV and ``max_transfer`` are drawn one
    by one from the Rutherford spectrum dN/dT = xi / T^2 (xi = K/2 Z/A rho x / beta^2), which
    gives the Landau tail; the remaining mean loss is deposited as it is. On average the
    deposit equals ``mean_loss``.
    """
    low = 0.001
    upper = np.maximum(max_transfer, low)
    xi = 0.5 * material.K_MEV_CM2_G * material.Z_OVER_A * material.DENSITY_G_CM3 * step_length / beta2

    # Number of close collisions per step: xi (1/T_low - 1/T_up), their mean energy xi ln(T_up/T_low).
    expected_count = xi * (1.0 / low - 1.0 / upper)
    explicit_mean = xi * np.log(upper / low)
    smooth = np.maximum(mean_loss - explicit_mean, 0.0)
    scale = np.where(explicit_mean > 0, np.minimum(mean_loss / np.maximum(explicit_mean, 1e-12), 1.0), 0.0)

    # Transfers T with density 1/T^2 on [T_low, T_up], by inverting the cumulative distribution.
    counts = rng.poisson(expected_count)
    owner = np.repeat(np.arange(len(mean_loss)), counts)
    u = rng.random(len(owner))
    transfers = 1.0 / (1.0 / low - u * (1.0 / low - 1.0 / upper[owner]))
    explicit = np.bincount(owner, weights=transfers, minlength=len(mean_loss))
    return smooth + scale * explicit


def distance_to_exit(position: np.ndarray, direction: np.ndarray, half_extent: np.ndarray) -> np.ndarray:
    """Return the straight-line distance (cm) from ``position`` along ``direction`` to the box edge.

    The world is the box |x_i| <= half_extent_i centred on the origin.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        to_plus = (half_extent - position) / direction
        to_minus = (-half_extent - position) / direction
    exit_each = np.where(direction > 0, to_plus, np.where(direction < 0, to_minus, np.inf))
    return np.maximum(exit_each.min(axis=1), 0.0)


def first_exit_step(stepped: SteppedLegs, half_extent: np.ndarray, leg_count: int) -> np.ndarray:
    """Return, per leg, the index (into the step arrays) of its first step ending outside the world.

    Legs that stay inside get the index one past their last step.
    """
    outside = np.any(np.abs(stepped.step_end) > half_extent, axis=1)
    counts = np.bincount(stepped.leg, minlength=leg_count)
    past_end = segment_starts(counts) + counts
    first = past_end.copy()
    hit = np.flatnonzero(outside)
    # Steps are ordered leg by leg, so the minimum index per leg is its first exit.
    np.minimum.at(first, stepped.leg[hit], hit)
    return first


def keep_inside(stepped: SteppedLegs, half_extent: np.ndarray, leg_count: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (mask of steps before each leg's exit, per-leg flag that the leg left the world)."""
    first = first_exit_step(stepped, half_extent, leg_count)
    counts = np.bincount(stepped.leg, minlength=leg_count)
    past_end = segment_starts(counts) + counts
    keep = np.arange(len(stepped.leg)) < first[stepped.leg]
    return keep, first < past_end
