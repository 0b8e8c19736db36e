"""Liquid argon as a stopping medium: stopping powers, ranges, scattering and photon cross sections.

Units throughout: cm, MeV, g/cm^3, radians. Constants follow the PDG "Atomic and nuclear
properties of materials" entry for liquid argon (density 1.396 g/cm^3, I = 188.0 eV,
X0 = 14.0 cm, Moliere radius 9.04 cm, critical energy 32 MeV for electrons) and the PDG
review "Passage of particles through matter" for the formulas.
"""

from __future__ import annotations

import functools

import numpy as np

DENSITY_G_CM3 = 1.396
Z_OVER_A = 18.0 / 39.948
MEAN_EXCITATION_MEV = 188.0e-6
RADIATION_LENGTH_CM = 14.0
MOLIERE_RADIUS_CM = 9.04
CRITICAL_ENERGY_MEV = 32.0
NUCLEAR_INTERACTION_LENGTH_CM = 85.77
ELECTRON_MASS_MEV = 0.51099895
K_MEV_CM2_G = 0.307075  # 4 pi N_A r_e^2 m_e c^2

# Sternheimer density-effect parameters of liquid argon (PDG): -C, x0, x1, a, k, delta0.
STERNHEIMER_C = 5.2146
STERNHEIMER_X0 = 0.2000
STERNHEIMER_X1 = 3.0000
STERNHEIMER_A = 0.19559
STERNHEIMER_K = 3.0000

# Electron density of liquid argon, electrons per cm^3.
ELECTRON_DENSITY_CM3 = DENSITY_G_CM3 * 6.02214076e23 * Z_OVER_A
CLASSICAL_ELECTRON_RADIUS_CM = 2.8179403262e-13

PARTICLE_MASSES_MEV = {
    "muon": 105.6583755,
    "pion": 139.57039,
    "proton": 938.27208816,
    "electron": ELECTRON_MASS_MEV,
}


def beta_gamma(kinetic_mev: np.ndarray, mass_mev: float) -> tuple[np.ndarray, np.ndarray]:
    """Return (beta, gamma) of a particle with kinetic energy ``kinetic_mev``."""
    gamma = 1.0 + np.asarray(kinetic_mev, dtype=np.float64) / mass_mev
    beta = np.sqrt(np.maximum(1.0 - 1.0 / gamma**2, 1e-12))
    return beta, gamma


def momentum_mev(kinetic_mev: np.ndarray, mass_mev: float) -> np.ndarray:
    """Return the momentum p c in MeV."""
    kinetic = np.asarray(kinetic_mev, dtype=np.float64)
    return np.sqrt(kinetic * (kinetic + 2.0 * mass_mev))


def density_effect(beta_gamma_product: np.ndarray) -> np.ndarray:
    """Return the Sternheimer density-effect correction delta for liquid argon (delta0 = 0)."""
    x = np.log10(np.maximum(beta_gamma_product, 1e-12))
    log_term = 2.0 * np.log(10.0) * x - STERNHEIMER_C
    middle = log_term + STERNHEIMER_A * np.clip(STERNHEIMER_X1 - x, 0.0, None) ** STERNHEIMER_K
    return np.where(x >= STERNHEIMER_X1, log_term, np.where(x >= STERNHEIMER_X0, middle, 0.0))


def bethe_dedx(kinetic_mev: np.ndarray, mass_mev: float, *, cut_mev: float | None = None) -> np.ndarray:
    """Return the mean (or, with ``cut_mev``, restricted) energy loss -dE/dx in MeV/cm.

    Bethe equation with the maximum energy transfer W_max and the density effect. With a
    cut, energy transfers above ``cut_mev`` are excluded because they are made as delta rays.
    """
    beta, gamma = beta_gamma(kinetic_mev, mass_mev)
    bg2 = (beta * gamma) ** 2
    ratio = ELECTRON_MASS_MEV / mass_mev

    # W_max = 2 m_e c^2 b^2 g^2 / (1 + 2 g m_e/M + (m_e/M)^2)
    w_max = 2.0 * ELECTRON_MASS_MEV * bg2 / (1.0 + 2.0 * gamma * ratio + ratio**2)
    w_upper = w_max if cut_mev is None else np.minimum(w_max, cut_mev)
    delta = density_effect(beta * gamma)

    # -dE/dx = K z^2 Z/A rho / b^2 [1/2 ln(2 m_e b^2 g^2 W / I^2) - b^2/2 (1 + W/W_max) - delta/2]
    log_term = 0.5 * np.log(2.0 * ELECTRON_MASS_MEV * bg2 * w_upper / MEAN_EXCITATION_MEV**2)
    bracket = log_term - 0.5 * beta**2 * (1.0 + w_upper / w_max) - 0.5 * delta
    prefactor = K_MEV_CM2_G * Z_OVER_A * DENSITY_G_CM3 / beta**2
    # Below about 0.5 MeV/nucleon the Bethe bracket fails; a floor keeps the loss positive.
    return prefactor * np.maximum(bracket, 0.5)


def electron_collision_dedx(kinetic_mev: np.ndarray) -> np.ndarray:
    """Return the electron collision stopping power in MeV/cm (ICRU 37 formula, Moller term)."""
    tau = np.maximum(np.asarray(kinetic_mev, dtype=np.float64), 1e-4) / ELECTRON_MASS_MEV
    beta, gamma = beta_gamma(kinetic_mev, ELECTRON_MASS_MEV)

    # F-(tau) = 1 - b^2 + [tau^2/8 - (2 tau + 1) ln 2] / (tau + 1)^2
    moller = 1.0 - beta**2 + (tau**2 / 8.0 - (2.0 * tau + 1.0) * np.log(2.0)) / (tau + 1.0) ** 2
    log_term = np.log(tau**2 * (tau + 2.0) / (2.0 * (MEAN_EXCITATION_MEV / ELECTRON_MASS_MEV) ** 2))
    bracket = log_term + moller - density_effect(beta * gamma)
    prefactor = 0.5 * K_MEV_CM2_G * Z_OVER_A * DENSITY_G_CM3 / beta**2
    return prefactor * np.maximum(bracket, 1.0)


def highland_theta0(kinetic_mev: np.ndarray, mass_mev: float, step_cm: np.ndarray) -> np.ndarray:
    """Return the Highland RMS projected scattering angle (rad) for a unit-charge particle.

    theta0 = 13.6 MeV / (beta c p) sqrt(x/X0) [1 + 0.038 ln(x/X0)], with the logarithm taken
    over the whole step. Short steps make the bracket small, so callers that step finely use
    ``highland_theta0_per_step`` instead.
    """
    beta, _ = beta_gamma(kinetic_mev, mass_mev)
    p = momentum_mev(kinetic_mev, mass_mev)
    t = np.maximum(np.asarray(step_cm, dtype=np.float64), 1e-9) / RADIATION_LENGTH_CM
    return 13.6 / (beta * p) * np.sqrt(t) * (1.0 + 0.038 * np.log(t))


def highland_theta0_per_step(
    kinetic_mev: np.ndarray, mass_mev: float, step_cm: np.ndarray, *, reference_cm: float = 1.0
) -> np.ndarray:
    """Return per-step RMS angles that add up in quadrature to Highland over ``reference_cm``.

    The Highland logarithm does not add over steps. Fixing it at ``reference_cm`` makes a
    track of that length scatter by the Highland angle whatever the step size.
    """
    beta, _ = beta_gamma(kinetic_mev, mass_mev)
    p = momentum_mev(kinetic_mev, mass_mev)
    log_factor = 1.0 + 0.038 * np.log(reference_cm / RADIATION_LENGTH_CM)
    t = np.asarray(step_cm, dtype=np.float64) / RADIATION_LENGTH_CM
    return 13.6 / (beta * p) * np.sqrt(t) * log_factor


def box_model_recombination(dedx_mev_cm: np.ndarray, *, field_kv_cm: float, alpha: float, beta: float) -> np.ndarray:
    """Return the surviving charge fraction R of the modified box model (ArgoNeuT).

    R = ln(alpha + xi) / xi with xi = beta dE/dx / (rho E), beta in (kV/cm)(g/cm^2)/MeV.
    """
    xi = beta * np.maximum(dedx_mev_cm, 1e-6) / (DENSITY_G_CM3 * field_kv_cm)
    return np.log(alpha + xi) / xi


def klein_nishina_cross_section_cm2(energy_mev: np.ndarray) -> np.ndarray:
    """Return the Klein-Nishina Compton cross section per electron (cm^2)."""
    k = np.maximum(np.asarray(energy_mev, dtype=np.float64), 1e-3) / ELECTRON_MASS_MEV
    one_2k = 1.0 + 2.0 * k
    term1 = (1.0 + k) / k**2 * (2.0 * (1.0 + k) / one_2k - np.log(one_2k) / k)
    term2 = np.log(one_2k) / (2.0 * k) - (1.0 + 3.0 * k) / one_2k**2
    return 2.0 * np.pi * CLASSICAL_ELECTRON_RADIUS_CM**2 * (term1 + term2)


# Pair-production cross section relative to its high-energy limit 7/(9 X0), nuclear plus
# electron field. NOTE: these values approximate the shape of the NIST XCOM argon curve;
# they are estimates, not read from the table.
_PAIR_ENERGY_MEV = np.array([1.022, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 1.0e5])
_PAIR_FRACTION = np.array([0.0, 0.01, 0.04, 0.09, 0.18, 0.33, 0.49, 0.68, 0.78, 0.86, 0.92, 0.95, 1.0])

# Photoelectric attenuation of argon, anchored at 0.1 MeV and falling as E^-3 (approximate).
_PHOTOELECTRIC_AT_100_KEV_CM2_G = 0.030


def photon_attenuation_cm(energy_mev: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the (pair, Compton, photoelectric) attenuation coefficients in 1/cm."""
    energy = np.asarray(energy_mev, dtype=np.float64)
    pair = 7.0 / (9.0 * RADIATION_LENGTH_CM) * np.interp(energy, _PAIR_ENERGY_MEV, _PAIR_FRACTION)
    compton = ELECTRON_DENSITY_CM3 * klein_nishina_cross_section_cm2(energy)
    photo = _PHOTOELECTRIC_AT_100_KEV_CM2_G * DENSITY_G_CM3 * (np.maximum(energy, 1e-3) / 0.1) ** -3
    return pair, compton, photo


@functools.lru_cache(maxsize=None)
def range_table(particle: str, cut_mev: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return (kinetic energy grid in MeV, CSDA range in cm) for a particle in liquid argon.

    Heavy particles use the mean Bethe loss; electrons use the collision stopping power
    (radiative losses are simulated as discrete bremsstrahlung). The range integral
    R(T) = int_0^T dT / (dE/dx) uses the trapezoid rule on a fine logarithmic grid.
    """
    kinetic = np.geomspace(1e-3, 2.0e4, 4000)
    if particle == "electron":
        dedx = electron_collision_dedx(kinetic)
    else:
        dedx = bethe_dedx(kinetic, PARTICLE_MASSES_MEV[particle], cut_mev=None)
    inverse = 1.0 / dedx
    ranges = np.concatenate([[kinetic[0] * inverse[0]], np.cumsum(0.5 * (inverse[1:] + inverse[:-1]) * np.diff(kinetic))])
    ranges[1:] += ranges[0]
    return kinetic, ranges


def csda_range_cm(particle: str, kinetic_mev: np.ndarray) -> np.ndarray:
    """Return the CSDA range (cm) of ``particle`` with kinetic energy ``kinetic_mev``."""
    grid, ranges = range_table(particle)
    return np.interp(kinetic_mev, grid, ranges)


def kinetic_from_range(particle: str, residual_range_cm: np.ndarray) -> np.ndarray:
    """Return the kinetic energy (MeV) of ``particle`` with residual CSDA range ``residual_range_cm``."""
    grid, ranges = range_table(particle)
    return np.interp(np.maximum(residual_range_cm, 0.0), ranges, grid, left=0.0)
