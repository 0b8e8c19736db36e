"""Transport of electrons and photons, so that electromagnetic showers grow particle by particle.

Electrons lose energy by ionisation along sub-mm steps and radiate bremsstrahlung photons
above a cut as discrete secondaries. Photons convert to e+e- pairs, Compton-scatter or are
absorbed. Every generation is transported as one vectorised batch.
"""

from __future__ import annotations

import numpy as np

from . import material, paths
from .particles import ELECTRON, LOW_ENERGY, PHOTON, Deposits, ParticleBatch

M_E = material.ELECTRON_MASS_MEV


def bremsstrahlung_rate_cm(kinetic_mev: np.ndarray, cut_mev: float) -> np.ndarray:
    """Return the number of bremsstrahlung photons above ``cut_mev`` emitted per cm.

    Complete-screening spectrum dN/dk = (1/(X0 k)) (4/3 - 4/3 y + y^2), y = k/E, integrated
    from the cut to E, times T/(T + 15 MeV). That factor lowers the radiative loss below
    about 100 MeV, where complete screening overestimates it (an estimated correction).
    """
    energy = np.maximum(np.asarray(kinetic_mev, dtype=np.float64), cut_mev)
    y_cut = cut_mev / energy
    integral = 4.0 / 3.0 * np.log(1.0 / y_cut) - 4.0 / 3.0 * (1.0 - y_cut) + 0.5 * (1.0 - y_cut**2)
    return integral / material.RADIATION_LENGTH_CM * energy / (energy + 15.0)


def sample_bremsstrahlung_fraction(rng: np.random.Generator, y_cut: np.ndarray) -> np.ndarray:
    """Return photon energy fractions y in [y_cut, 1] with density (1/y)(4/3 - 4/3 y + y^2)."""
    result = np.empty(len(y_cut))
    pending = np.arange(len(y_cut))
    while len(pending):
        y = y_cut[pending] ** (1.0 - rng.random(len(pending)))
        accept = rng.random(len(pending)) * 4.0 / 3.0 <= 4.0 / 3.0 - 4.0 / 3.0 * y + y**2
        result[pending[accept]] = y[accept]
        pending = pending[~accept]
    return result


def transport_electrons(
    rng: np.random.Generator,
    batch: ParticleBatch,
    deposits: Deposits,
    *,
    step_cm: float,
    electron_cut_mev: float,
    brem_cut_mev: float,
    delta_threshold_mev: float,
    half_extent: np.ndarray,
) -> ParticleBatch:
    """Step every electron of ``batch`` to its next bremsstrahlung emission; return the secondaries.

    Returned particles are the emitted photon and the electron itself with its remaining
    energy. Electrons below ``electron_cut_mev`` deposit their energy where they are.
    """
    slow = batch.kinetic < electron_cut_mev
    cut_dedx = float(material.electron_collision_dedx(np.array([electron_cut_mev]))[0])
    deposits.add_local(batch.select(slow), batch.kinetic[slow], cut_dedx)
    group = batch.select(~slow)
    if len(group) == 0:
        return ParticleBatch.empty()

    # Leg length: range down to the cut, distance to the next photon emission or past the edge.
    residual = material.csda_range_cm("electron", group.kinetic) - material.csda_range_cm("electron", electron_cut_mev)
    emission = rng.exponential(1.0, len(group)) / np.maximum(bremsstrahlung_rate_cm(group.kinetic, brem_cut_mev), 1e-12)
    emission[group.kinetic <= brem_cut_mev] = np.inf
    exit_distance = paths.distance_to_exit(group.position, group.direction, half_extent) * 1.3 + 2.0
    length = np.maximum(np.minimum(np.minimum(residual, emission), exit_distance), 1e-4)
    stepped = paths.step_legs(rng, "electron", group.position, group.direction, group.kinetic, length, step_cm=step_cm)
    keep, exited = paths.keep_inside(stepped, half_extent, len(group))

    # Ionisation with Landau-like fluctuations (energy transfers up to T/2, the Moller limit).
    beta, _ = material.beta_gamma(np.maximum(stepped.kinetic, 1e-3), M_E)
    max_transfer = np.minimum(0.5 * stepped.kinetic, delta_threshold_mev)
    energy = paths.sample_ionisation(rng, stepped.mean_loss, beta**2, stepped.length, max_transfer)
    dedx = stepped.mean_loss / np.maximum(stepped.length, 1e-6)
    deposits.add(stepped.midpoint[keep], energy[keep], dedx[keep], group.semantic[stepped.leg][keep], group.primary[stepped.leg][keep])
    own = keep & group.is_primary[stepped.leg]
    deposits.add_path(2.0 * stepped.midpoint[own] - stepped.step_end[own], stepped.step_end[own], group.primary[stepped.leg][own])

    # End of the leg: range out (deposit the rest), leave the world, or radiate a photon.
    ranged_out = ~exited & (length >= residual - 1e-9)
    radiates = ~exited & ~ranged_out
    end = ParticleBatch(**{**group.__dict__, "position": stepped.end_position, "direction": stepped.end_direction,
                           "kinetic": stepped.end_kinetic})
    stopped = end.select(ranged_out)
    deposits.add_local(stopped, stopped.kinetic, cut_dedx)
    return ParticleBatch.concatenate(
        [_radiate(rng, end.select(radiates), brem_cut_mev), _annihilate(rng, stopped.select(stopped.charge > 0))]
    )


def _annihilate(rng: np.random.Generator, positrons: ParticleBatch) -> ParticleBatch:
    """Return two back-to-back 0.511 MeV photons for every positron that came to rest."""
    if len(positrons) == 0:
        return ParticleBatch.empty()
    direction = paths.isotropic_directions(rng, len(positrons))
    pairs = ParticleBatch.concatenate([positrons, positrons])
    return ParticleBatch.make(
        PHOTON, 0, pairs.position, np.concatenate([direction, -direction]), np.full(len(pairs), M_E),
        pairs.semantic, pairs.primary,
    )


def _radiate(rng: np.random.Generator, electrons: ParticleBatch, brem_cut_mev: float) -> ParticleBatch:
    """Return the photons radiated by ``electrons`` and the electrons with the energy left."""
    if len(electrons) == 0:
        return ParticleBatch.empty()
    energy = np.maximum(electrons.kinetic, brem_cut_mev * 1.0001)
    photon_energy = sample_bremsstrahlung_fraction(rng, brem_cut_mev / energy) * electrons.kinetic

    # Photons leave within an angle of order m_e / E of the electron direction.
    theta = M_E / (electrons.kinetic + M_E) * rng.exponential(1.0, len(electrons))
    photon_direction = paths.rotate_directions(electrons.direction, np.cos(theta), rng.uniform(0, 2 * np.pi, len(electrons)))
    photons = ParticleBatch(**{**electrons.__dict__, "species": np.full(len(electrons), PHOTON, np.int8),
                               "charge": np.zeros(len(electrons), np.int8), "direction": photon_direction,
                               "kinetic": photon_energy, "is_primary": np.zeros(len(electrons), bool)})
    electrons.kinetic = electrons.kinetic - photon_energy
    return ParticleBatch.concatenate([photons, electrons])


def transport_photons(
    rng: np.random.Generator,
    batch: ParticleBatch,
    deposits: Deposits,
    *,
    photon_cut_mev: float,
    low_energy_threshold_mev: float,
    half_extent: np.ndarray,
) -> ParticleBatch:
    """Move every photon of ``batch`` to its interaction point and return what comes out.

    Pair production gives an electron and a positron, both transported as electrons, and the
    positron annihilates into two photons when it stops. Compton scattering gives the
    scattered photon and an electron. Photoelectric absorption deposits the energy at the
    absorption point.
    """
    soft = batch.kinetic < photon_cut_mev
    deposits.add_local(batch.select(soft), batch.kinetic[soft], 10.0)
    group = batch.select(~soft)
    if len(group) == 0:
        return ParticleBatch.empty()

    # Interaction point from the total attenuation coefficient; photons that leave are lost.
    pair, compton, photo = material.photon_attenuation_cm(group.kinetic)
    total = pair + compton + photo
    group.position = group.position + group.direction * rng.exponential(1.0, len(group))[:, None] / total[:, None]
    inside = np.all(np.abs(group.position) <= half_extent, axis=1)
    choice = rng.random(len(group)) * total
    is_pair = inside & (choice < pair)
    is_compton = inside & ~is_pair & (choice < pair + compton)
    is_photo = inside & ~is_pair & ~is_compton

    absorbed = group.select(is_photo)
    deposits.add(absorbed.position, absorbed.kinetic, 10.0, LOW_ENERGY, absorbed.primary)
    return ParticleBatch.concatenate(
        [_pair_production(rng, group.select(is_pair)), _compton(rng, group.select(is_compton), low_energy_threshold_mev)]
    )


def _pair_production(rng: np.random.Generator, photons: ParticleBatch) -> ParticleBatch:
    """Return the e- and e+ of pair conversions; energy share eps with density 1 - 4/3 eps (1 - eps)."""
    count = len(photons)
    if count == 0:
        return ParticleBatch.empty()
    eps_min = M_E / photons.kinetic
    eps = np.empty(count)
    pending = np.arange(count)
    while len(pending):
        trial = eps_min[pending] + rng.random(len(pending)) * (1.0 - 2.0 * eps_min[pending])
        accept = rng.random(len(pending)) <= 1.0 - 4.0 / 3.0 * trial * (1.0 - trial)
        eps[pending[accept]] = trial[accept]
        pending = pending[~accept]
    shares = np.concatenate([eps, 1.0 - eps])
    kinetic = np.maximum(np.tile(photons.kinetic, 2) * shares - M_E, 0.0)
    theta = M_E / (kinetic + M_E) * rng.exponential(1.0, 2 * count)
    parents = ParticleBatch.concatenate([photons, photons])
    direction = paths.rotate_directions(parents.direction, np.cos(theta), rng.uniform(0, 2 * np.pi, 2 * count))
    charge = np.repeat([-1, 1], count)
    return ParticleBatch.make(ELECTRON, charge, parents.position, direction, kinetic, parents.semantic, parents.primary)


def _compton(rng: np.random.Generator, photons: ParticleBatch, low_energy_threshold_mev: float) -> ParticleBatch:
    """Return the scattered photons and Compton electrons (Klein-Nishina, sampled as in Geant4)."""
    count = len(photons)
    if count == 0:
        return ParticleBatch.empty()
    kappa = photons.kinetic / M_E
    eps0 = 1.0 / (1.0 + 2.0 * kappa)
    alpha1 = -np.log(eps0)
    alpha2 = alpha1 + 0.5 * (1.0 - eps0**2)
    eps = np.empty(count)
    one_minus_cos = np.empty(count)
    pending = np.arange(count)
    while len(pending):
        r1, r2, r3 = rng.random((3, len(pending)))
        a1, a2, e0 = alpha1[pending], alpha2[pending], eps0[pending]
        trial = np.where(a1 / a2 > r1, np.exp(-a1 * r2), np.sqrt(e0**2 + (1.0 - e0**2) * r2))
        omc = (1.0 - trial) / (trial * kappa[pending])
        sin2 = omc * (2.0 - omc)
        accept = 1.0 - trial * sin2 / (1.0 + trial**2) >= r3
        eps[pending[accept]] = trial[accept]
        one_minus_cos[pending[accept]] = omc[accept]
        pending = pending[~accept]

    # Scattered photon and recoil electron from momentum conservation, p_e = k u - k' u'.
    phi = rng.uniform(0, 2 * np.pi, count)
    scattered_direction = paths.rotate_directions(photons.direction, 1.0 - one_minus_cos, phi)
    scattered_energy = eps * photons.kinetic
    electron_momentum = photons.kinetic[:, None] * photons.direction - scattered_energy[:, None] * scattered_direction
    electron_direction = electron_momentum / np.maximum(np.linalg.norm(electron_momentum, axis=1, keepdims=True), 1e-12)
    electron_kinetic = photons.kinetic - scattered_energy
    semantic = np.where(electron_kinetic < low_energy_threshold_mev, LOW_ENERGY, photons.semantic)
    electrons = ParticleBatch.make(ELECTRON, -1, photons.position, electron_direction, electron_kinetic, semantic, photons.primary)
    scattered = ParticleBatch(**{**photons.__dict__, "direction": scattered_direction, "kinetic": scattered_energy})
    return ParticleBatch.concatenate([electrons, scattered])
