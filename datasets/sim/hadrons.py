"""Transport of muons, charged pions and protons: ionisation, delta rays, decays and hadronic interactions."""

from __future__ import annotations

import numpy as np

from . import material, paths
from .particles import DELTA, ELECTRON, MICHEL, MUON, PION, PROTON, TRACK, Deposits, ParticleBatch

HEAVY_NAMES = {MUON: "muon", PION: "pion", PROTON: "proton"}

# Mean free paths for hadronic interactions in liquid argon. Protons use the PDG nuclear
# interaction length. NOTE: the pion value is an estimate (pion-argon cross sections are
# about three quarters of the proton ones), and both ignore the energy dependence.
INTERACTION_LENGTH_CM = {PION: 113.0, PROTON: material.NUCLEAR_INTERACTION_LENGTH_CM}
# Below this kinetic energy a hadron is left to range out without interacting.
MIN_INTERACTION_KINETIC_MEV = 20.0
# Fraction of hadronic interactions that are (quasi-)elastic scatters rather than inelastic.
ELASTIC_FRACTION = 0.4
# A stopped mu- is captured by an argon nucleus in about 75 % of cases, because its lifetime
# in argon is 0.54 us against 2.2 us for free decay. Only the rest decays to a Michel electron.
MU_MINUS_DECAY_FRACTION = 0.25
MUON_MASS_MEV = material.PARTICLE_MASSES_MEV["muon"]
# Kinetic energy of the muon from pi+ -> mu+ nu at rest.
PION_DECAY_MUON_KINETIC_MEV = 4.12


def transport_heavy(
    rng: np.random.Generator,
    batch: ParticleBatch,
    deposits: Deposits,
    *,
    step_cm: float,
    delta_threshold_mev: float,
    hadronic: bool,
    half_extent: np.ndarray,
) -> ParticleBatch:
    """Step every heavy charged particle of ``batch`` along one leg; return the secondaries.

    A leg ends where the particle stops, leaves the world or has a hadronic interaction.
    Secondaries are delta rays, Michel electrons, decay muons and interaction products; a
    hadron that scatters elastically comes back as a secondary of itself.
    """
    secondaries = []
    for species, name in HEAVY_NAMES.items():
        group = batch.select(batch.species == species)
        if len(group):
            secondaries.append(
                _transport_species(
                    rng, group, name, deposits,
                    step_cm=step_cm, delta_threshold_mev=delta_threshold_mev,
                    hadronic=hadronic, half_extent=half_extent,
                )
            )
    return ParticleBatch.concatenate(secondaries)


def _transport_species(rng, group, name, deposits, *, step_cm, delta_threshold_mev, hadronic, half_extent):
    species = int(group.species[0])
    mass = material.PARTICLE_MASSES_MEV[name]
    count = len(group)

    # Leg length: the CSDA range, the distance to a hadronic interaction or past the world edge.
    csda = material.csda_range_cm(name, group.kinetic)
    interaction = np.full(count, np.inf)
    if hadronic and species in INTERACTION_LENGTH_CM:
        interaction = rng.exponential(INTERACTION_LENGTH_CM[species], count)
        interaction[group.kinetic < MIN_INTERACTION_KINETIC_MEV] = np.inf
    exit_distance = paths.distance_to_exit(group.position, group.direction, half_extent) * 1.3 + 2.0
    length = np.minimum(np.minimum(csda, interaction), exit_distance)
    stepped = paths.step_legs(rng, name, group.position, group.direction, group.kinetic, length, step_cm=step_cm)
    keep, exited = paths.keep_inside(stepped, half_extent, count)

    # Ionisation along the steps, with delta rays above the threshold made explicitly.
    beta, gamma = material.beta_gamma(np.maximum(stepped.kinetic, 1e-3), mass)
    w_max = _max_transfer(beta, gamma, mass)
    xi_per_cm = 0.5 * material.K_MEV_CM2_G * material.Z_OVER_A * material.DENSITY_G_CM3 / beta**2
    delta_mean = np.where(w_max > delta_threshold_mev, xi_per_cm * stepped.length * np.log(np.maximum(w_max, delta_threshold_mev) / delta_threshold_mev), 0.0)
    local_mean = np.maximum(stepped.mean_loss - delta_mean, 0.0)
    energy = paths.sample_ionisation(rng, local_mean, beta**2, stepped.length, np.minimum(w_max, delta_threshold_mev))
    dedx = stepped.mean_loss / np.maximum(stepped.length, 1e-6)
    leg_semantic = group.semantic[stepped.leg]
    deposits.add(stepped.midpoint[keep], energy[keep], dedx[keep], leg_semantic[keep], group.primary[stepped.leg][keep])
    _record_primary_path(deposits, stepped, keep, group)

    deltas = _delta_rays(rng, stepped, keep, group, xi_per_cm, w_max, beta, gamma, mass, delta_threshold_mev)

    # What ends each leg: stopping, a hadronic interaction or leaving the world.
    stopped = ~exited & (length >= csda - 1e-9)
    interacted = ~exited & ~stopped & (length >= interaction - 1e-9)
    end = ParticleBatch(**{**group.__dict__, "position": stepped.end_position, "direction": stepped.end_direction,
                           "kinetic": stepped.end_kinetic})
    products = [deltas, _decay_at_rest(rng, end.select(stopped), species)]
    if hadronic and np.any(interacted):
        products.append(_hadronic_interaction(rng, end.select(interacted)))
    return ParticleBatch.concatenate(products)


def _max_transfer(beta: np.ndarray, gamma: np.ndarray, mass: float) -> np.ndarray:
    ratio = material.ELECTRON_MASS_MEV / mass
    return 2.0 * material.ELECTRON_MASS_MEV * (beta * gamma) ** 2 / (1.0 + 2.0 * gamma * ratio + ratio**2)


def _record_primary_path(deposits: Deposits, stepped: paths.SteppedLegs, keep: np.ndarray, group: ParticleBatch) -> None:
    own = keep & group.is_primary[stepped.leg]
    start = stepped.step_end[own] - 2.0 * (stepped.step_end[own] - stepped.midpoint[own])
    deposits.add_path(start, stepped.step_end[own], group.primary[stepped.leg][own])


def _delta_rays(rng, stepped, keep, group, xi_per_cm, w_max, beta, gamma, mass, threshold) -> ParticleBatch:
    """Return delta-ray electrons: Rutherford spectrum 1/T^2 between the threshold and W_max."""
    upper = np.maximum(w_max, threshold)
    expected = np.where(keep, xi_per_cm * stepped.length * (1.0 / threshold - 1.0 / upper), 0.0)
    counts = rng.poisson(expected)
    owner = np.repeat(np.arange(len(counts)), counts)
    if len(owner) == 0:
        return ParticleBatch.empty()
    u = rng.random(len(owner))
    kinetic = 1.0 / (1.0 / threshold - u * (1.0 / threshold - 1.0 / upper[owner]))

    # Emission angle from two-body kinematics: cos theta = (T/p_e) (E + m_e) / p.
    momentum = beta[owner] * gamma[owner] * mass
    total = gamma[owner] * mass
    p_delta = np.sqrt(kinetic * (kinetic + 2.0 * material.ELECTRON_MASS_MEV))
    cos_theta = np.clip(kinetic / p_delta * (total + material.ELECTRON_MASS_MEV) / momentum, -1.0, 1.0)
    step_direction = (stepped.step_end[owner] - stepped.midpoint[owner]) / np.maximum(0.5 * stepped.length[owner], 1e-9)[:, None]
    direction = paths.rotate_directions(step_direction, cos_theta, rng.uniform(0, 2 * np.pi, len(owner)))
    leg = stepped.leg[owner]
    return ParticleBatch.make(ELECTRON, -1, stepped.midpoint[owner], direction, kinetic, DELTA, group.primary[leg])


def michel_energies(rng: np.random.Generator, count: int) -> np.ndarray:
    """Return Michel electron kinetic energies (MeV): x = E/E_max with density x^2 (3 - 2x), E_max 52.83 MeV."""
    grid = np.linspace(0.0, 1.0, 513)
    cdf = 2.0 * grid**3 - grid**4
    total = np.interp(rng.random(count), cdf, grid) * 52.83
    return np.maximum(total - material.ELECTRON_MASS_MEV, 0.05)


def _decay_at_rest(rng: np.random.Generator, stopped: ParticleBatch, species: int) -> ParticleBatch:
    """Return the products of stopped muons (Michel electrons) and pions (decay muon or capture protons)."""
    count = len(stopped)
    if count == 0 or species == PROTON:
        return ParticleBatch.empty()
    if species == MUON:
        decays = (stopped.charge > 0) | (rng.random(count) < MU_MINUS_DECAY_FRACTION)
        chosen = stopped.select(decays)
        return ParticleBatch.make(
            ELECTRON, -1, chosen.position, paths.isotropic_directions(rng, len(chosen)),
            michel_energies(rng, len(chosen)), MICHEL, chosen.primary,
        )

    # pi+ -> mu+ nu at rest; pi- is absorbed by a nucleus and ejects one or two protons.
    positive = stopped.select(stopped.charge > 0)
    muons = ParticleBatch.make(
        MUON, 1, positive.position, paths.isotropic_directions(rng, len(positive)),
        np.full(len(positive), PION_DECAY_MUON_KINETIC_MEV), TRACK, positive.primary,
    )
    negative = stopped.select(stopped.charge < 0)
    multiplicity = rng.integers(1, 3, len(negative))
    owner = np.repeat(np.arange(len(negative)), multiplicity)
    protons = ParticleBatch.make(
        PROTON, 1, negative.position[owner], paths.isotropic_directions(rng, len(owner)),
        rng.exponential(15.0, len(owner)) + 3.0, TRACK, negative.primary[owner],
    )
    return ParticleBatch.concatenate([muons, protons])


def _hadronic_interaction(rng: np.random.Generator, hadrons: ParticleBatch) -> ParticleBatch:
    """Return the outgoing particles of hadronic interactions (a simple phenomenological model).

    Elastic-like scatters turn the hadron by a Gaussian angle of 0.5 rad width and keep
    85-100 % of its energy. Inelastic interactions spend 30-90 % of the energy on one to
    three protons (the rest goes to neutrons and binding energy, which leave no charge),
    and a pion keeps its identity with probability 1/2, taking a share of that energy.
    """
    count = len(hadrons)
    elastic = rng.random(count) < ELASTIC_FRACTION
    scattered = hadrons.select(elastic)
    theta = np.abs(rng.normal(0.0, 0.5, len(scattered)))
    scattered.direction = paths.rotate_directions(scattered.direction, np.cos(theta), rng.uniform(0, 2 * np.pi, len(scattered)))
    scattered.kinetic = scattered.kinetic * rng.uniform(0.85, 1.0, len(scattered))

    # Inelastic: share the visible energy among the outgoing protons and, for pions, a pion.
    broken = hadrons.select(~elastic)
    visible = broken.kinetic * rng.uniform(0.3, 0.9, len(broken))
    proton_count = rng.integers(1, 4, len(broken))
    keeps_pion = (broken.species == PION) & (rng.random(len(broken)) < 0.5)
    outgoing = proton_count + keeps_pion
    owner = np.repeat(np.arange(len(broken)), outgoing)
    shares = rng.gamma(1.0, 1.0, len(owner))
    shares /= np.bincount(owner, weights=shares, minlength=len(broken))[owner]
    rank = np.arange(len(owner)) - np.repeat(paths.segment_starts(outgoing), outgoing)
    is_pion = keeps_pion[owner] & (rank == 0)
    species = np.where(is_pion, PION, PROTON)
    charge = np.where(is_pion, broken.charge[owner], 1)
    products = ParticleBatch.make(
        species, charge, broken.position[owner], paths.isotropic_directions(rng, len(owner)),
        visible[owner] * shares, TRACK, broken.primary[owner],
    )
    products.is_primary = is_pion
    return ParticleBatch.concatenate([scattered, products])
