"""Particle-bomb events: primaries from a common vertex, transported until every particle is done."""

from __future__ import annotations

import logging

import numpy as np

from . import electromagnetic, hadrons, paths
from .config import SimConfig
from .particles import ELECTRON, MUON, PHOTON, PION, PROTON, SHOWER, SPECIES_BY_NAME, TRACK, Deposits, ParticleBatch

logger = logging.getLogger(__name__)

# A safety bound on transport generations; a 1 GeV shower needs about a hundred.
MAX_GENERATIONS = 2000


def world_half_extent_cm(config: SimConfig) -> np.ndarray:
    """Return the half sizes (cm) of the simulated box: the projected grid in x and y, the same depth in z."""
    half = 0.5 * config.world_size_px * config.pixel_mm / 10.0
    return np.array([half, half, half])


def sample_primaries(rng: np.random.Generator, config: SimConfig) -> ParticleBatch:
    """Draw the primaries of one event: count, species, isotropic directions and kinetic energies.

    The vertex lies within one pixel of the world centre so that the pixel phase varies.
    """
    low, high = config.particle_count_range
    count = int(rng.integers(low, high + 1))
    weights = np.asarray(config.particle_weights, dtype=np.float64)
    names = [config.particles[i] for i in rng.choice(len(config.particles), size=count, p=weights / weights.sum())]
    species = np.array([SPECIES_BY_NAME[name] for name in names], np.int8)
    kinetic = np.array([rng.uniform(*config.energy_range(name)) for name in names])

    # Charge signs: mu and pi of either sign, e- for electrons, p+ for protons.
    charge = np.where(np.isin(species, (MUON, PION)), rng.choice([-1, 1], size=count), 0)
    charge = np.where(species == PROTON, 1, np.where(species == ELECTRON, -1, charge))
    semantic = np.where(np.isin(species, (ELECTRON, PHOTON)), SHOWER, TRACK)
    vertex = rng.uniform(-0.5, 0.5, 3) * config.pixel_mm / 10.0
    return ParticleBatch.make(
        species, charge, vertex, paths.isotropic_directions(rng, count), kinetic, semantic,
        np.arange(count), is_primary=True,
    )


def transport_event(rng: np.random.Generator, primaries: ParticleBatch, config: SimConfig) -> Deposits:
    """Transport ``primaries`` and all their descendants; return the energy deposits."""
    deposits = Deposits()
    half_extent = world_half_extent_cm(config)
    step_cm = config.step_mm / 10.0
    pending = primaries
    for _ in range(MAX_GENERATIONS):
        if len(pending) == 0:
            return deposits
        heavy = pending.select(np.isin(pending.species, (MUON, PION, PROTON)))
        electrons = pending.select(pending.species == ELECTRON)
        photons = pending.select(pending.species == PHOTON)
        pending = ParticleBatch.concatenate(
            [
                hadrons.transport_heavy(
                    rng, heavy, deposits, step_cm=step_cm, delta_threshold_mev=config.delta_ray_threshold_mev,
                    hadronic=config.hadronic_interactions, half_extent=half_extent,
                ),
                electromagnetic.transport_electrons(
                    rng, electrons, deposits, step_cm=step_cm, electron_cut_mev=config.electron_cut_mev,
                    brem_cut_mev=config.bremsstrahlung_cut_mev, delta_threshold_mev=config.delta_ray_threshold_mev,
                    half_extent=half_extent,
                ),
                electromagnetic.transport_photons(
                    rng, photons, deposits, photon_cut_mev=config.photon_cut_mev,
                    low_energy_threshold_mev=config.low_energy_threshold_mev, half_extent=half_extent,
                ),
            ]
        )
    logger.warning("event transport stopped after %d generations with %d particles left", MAX_GENERATIONS, len(pending))
    return deposits


def single_particle(
    name: str,
    kinetic_mev: float,
    *,
    direction: tuple[float, float, float] = (1.0, 0.0, 0.0),
    position: tuple[float, float, float] = (0.0, 0.0, 0.0),
    charge: int = 1,
) -> ParticleBatch:
    """Return a one-particle primary batch (for validation studies and single-particle images)."""
    species = SPECIES_BY_NAME[name]
    unit = np.asarray(direction, dtype=np.float64)
    unit = unit / np.linalg.norm(unit)
    signed = charge
    if species == PHOTON:
        signed = 0
    elif species == ELECTRON:
        signed = -1
    elif species == PROTON:
        signed = 1
    semantic = SHOWER if species in (ELECTRON, PHOTON) else TRACK
    return ParticleBatch.make(species, signed, position, unit, kinetic_mev, semantic, 0, is_primary=True)
